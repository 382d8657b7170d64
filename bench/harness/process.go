package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// proc is a child process the harness started: a target or the mock
// upstream. Its output goes to a log file in the run's work directory.
type proc struct {
	name string
	cmd  *exec.Cmd
	addr string // host:port it listens on
	// pprofAddr is OctoMesh's profile listener when profiling, else "".
	pprofAddr string
	log       *os.File
	done      chan struct{} // closed when the process has exited
	err       error         // its exit status, once done is closed
}

// listeningRE finds the address in a child's "listening on http://ADDR" line
// (printed by `octomesh serve` and by the bench helper roles).
var listeningRE = regexp.MustCompile(`listening on http://(\S+)`)

// startProc starts argv and, unless addr is given, waits for it to print
// "listening on http://ADDR" on stdout. With addr set (nginx), it waits
// until addr accepts connections. Either wait is bounded by timeout.
func startProc(ctx context.Context, name, logPath string, argv, env []string, addr string, timeout time.Duration) (*proc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stderr = logf
	// The child dies with the harness, whatever way the harness ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stdout io.ReadCloser
	if addr == "" {
		if stdout, err = cmd.StdoutPipe(); err != nil {
			logf.Close()
			return nil, err
		}
	} else {
		cmd.Stdout = logf
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logf, done: make(chan struct{}), addr: addr}
	found := make(chan string, 1)
	if stdout != nil {
		go func() {
			// Copy stdout to the log, reporting the first address seen.
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				line := sc.Text()
				fmt.Fprintln(logf, line)
				if m := listeningRE.FindStringSubmatch(line); m != nil {
					select {
					case found <- m[1]:
					default:
					}
				}
			}
			io.Copy(logf, stdout)
		}()
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()

	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	if stdout != nil {
		select {
		case p.addr = <-found:
			return p, nil
		case <-p.done:
			return nil, fmt.Errorf("%s exited before listening (%v); see %s", name, p.err, logPath)
		case <-deadline.C:
		case <-ctx.Done():
		}
		p.stop()
		return nil, fmt.Errorf("%s did not start listening within %v; see %s", name, timeout, logPath)
	}
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return p, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited before listening (%v); see %s", name, p.err, logPath)
		case <-deadline.C:
			p.stop()
			return nil, fmt.Errorf("%s did not accept connections on %s within %v; see %s", name, addr, timeout, logPath)
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// pid returns the process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop asks the process to exit (SIGTERM), kills it after 5s, and waits.
func (p *proc) stop() {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
	}
	p.log.Close()
}

// freeAddr returns a loopback address with a port that was free a moment
// ago, for a child (nginx) that cannot report the port it bound.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// childEnv is the harness's environment without proxy settings (every
// connection is on loopback) plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToLower(k) {
		case "http_proxy", "https_proxy", "all_proxy", "no_proxy", "octomesh_admin_key":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// errSkipped marks a target that cannot run on this machine.
var errSkipped = errors.New("skipped")
