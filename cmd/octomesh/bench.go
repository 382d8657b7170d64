package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/octomesh/octomesh/bench/harness"
	"github.com/octomesh/octomesh/bench/mockupstream"
)

const benchUsage = `usage: octomesh bench [flags]                 run the benchmark harness
       octomesh bench --readme README.md --from bench/results/latest.json
                                             regenerate the README's performance section
       octomesh bench mock [flags]            (helper) serve the mock upstream
       octomesh bench goproxy [flags]         (helper) serve the minimal Go reverse proxy
       octomesh bench router [flags]          (helper) measure the routing decision alone, in process; print JSON

The harness measures the mock upstream directly, nginx, a minimal Go proxy and
"octomesh serve" side by side, and writes report.md and report.json into
<out>/<timestamp>/ plus <out>/latest.md and <out>/latest.json. Run it from the
repository root: it builds ./cmd/octomesh to measure the current source.
`

// bench is the `octomesh bench` command.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "mock":
			return benchMock(ctx, args[1:], stdout, stderr)
		case "goproxy":
			return benchGoProxy(ctx, args[1:], stdout, stderr)
		case "router":
			return benchRouter(ctx, args[1:], stdout, stderr)
		}
	}
	fs := newFlagSet("bench", stderr)
	fs.Usage = func() { fmt.Fprint(stderr, benchUsage, "\nflags:\n"); fs.PrintDefaults() }
	quick := fs.Bool("quick", false, "smoke run: 2s per target and scenario (per round in the scenarios measured in rounds)")
	duration := fs.Duration("duration", 0, "measurement window per target and scenario, per round in the scenarios measured in rounds: nonstream, upstream50ms, stream and ttfb (default 10s, 2s with --quick; the pair and router scenarios get half)")
	warmup := fs.Duration("warmup", 0, "warm-up before each window (default duration/5, at most 2s; 500ms with --quick)")
	targets := fs.String("targets", "", "comma-separated targets (default direct,nginx,goproxy,octomesh)")
	scenarios := fs.String("scenarios", "", "comma-separated scenarios or groups (main, pairs); default main and pairs: the 10-minute soak runs only when named")
	out := fs.String("out", filepath.Join("bench", "results"), "results directory (quick, custom-duration, profiled and partial runs default to bench/results/tmp, which git ignores)")
	bin := fs.String("bin", "", "octomesh binary to measure (default: go build ./cmd/octomesh from the repository)")
	noInstall := fs.Bool("no-install", false, "do not install nginx when it is missing")
	keep := fs.Bool("keep", false, "keep the work directory (configs, logs) and print its path")
	profile := fs.String("profile", "", "write OctoMesh's CPU, allocation and heap profiles of each scenario into this directory (figures then include the profiler's cost)")
	readme := fs.String("readme", "", "README to update between "+harness.ReadmeStart+" and "+harness.ReadmeEnd)
	from := fs.String("from", "", "with --readme: regenerate from this results JSON instead of running")
	if help, err := parseBenchFlags(fs, args); help || err != nil {
		return err
	}
	command := strings.TrimSpace("octomesh bench " + strings.Join(args, " "))

	if *from != "" {
		if *readme == "" {
			return usageError{"--from needs --readme"}
		}
		rep, err := harness.ReadReport(*from)
		if err != nil {
			return err
		}
		if err := harness.UpdateReadme(*readme, rep.ReadmeSection()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Updated %s from %s (a %s run made by `%s`).\n", *readme, *from, rep.Mode, rep.Command)
		return nil
	}

	mode := "full"
	if *quick {
		mode = "quick"
		if *duration == 0 {
			*duration = 2 * time.Second
		}
		if *warmup == 0 {
			*warmup = 500 * time.Millisecond
		}
	}
	if *duration != 0 && !*quick && *duration != 10*time.Second {
		mode = "custom"
	}
	// A profiled run's figures include the profiler's cost, and a run of
	// some targets or scenarios is not the README's report: neither may
	// replace the committed results.
	partial := *profile != "" || *targets != "" || *scenarios != "" && !hasGroup(*scenarios, "main")
	outSet := false
	fs.Visit(func(f *flag.Flag) { outSet = outSet || f.Name == "out" })
	base := *out
	*out = resultsDir(base, outSet, mode, partial)
	binary := *bin
	if binary == "" {
		tmp, err := os.MkdirTemp("", "octomesh-bench-bin-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		if binary, err = buildBinary(ctx, tmp, stdout); err != nil {
			return err
		}
	}
	opts := harness.Options{
		Binary: binary, Duration: *duration, Warmup: *warmup,
		Targets: splitList(*targets), Scenarios: splitList(*scenarios),
		InstallNginx: !*noInstall, KeepWorkDir: *keep, Mode: mode, Command: command, Log: stdout,
		ProfileDir: *profile,
	}
	if *keep {
		dir, err := os.MkdirTemp("", "octomesh-bench-")
		if err != nil {
			return err
		}
		opts.WorkDir = dir
		fmt.Fprintf(stdout, "work directory: %s\n", dir)
	}
	rep, runErr := harness.Run(ctx, opts)
	if rep == nil {
		return runErr
	}
	if ctx.Err() != nil {
		// Interrupted (Ctrl-C, SIGTERM): the report is written for a
		// look, but as a partial run's, never over the committed results.
		*out = resultsDir(base, outSet, mode, true)
		fmt.Fprintf(stdout, "\nInterrupted: the partial report goes to %s.\n", *out)
	}
	dir := filepath.Join(*out, rep.Started.Format("20060102-150405"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	md := rep.Markdown()
	for _, f := range []struct {
		path string
		json bool
	}{{filepath.Join(dir, "report.md"), false}, {filepath.Join(dir, "report.json"), true},
		{filepath.Join(*out, "latest.md"), false}, {filepath.Join(*out, "latest.json"), true}} {
		var err error
		if f.json {
			err = rep.WriteJSON(f.path)
		} else {
			err = os.WriteFile(f.path, []byte(md), 0o644)
		}
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "\nWrote %s and %s (and latest.md, latest.json in %s).\n",
		filepath.Join(dir, "report.md"), filepath.Join(dir, "report.json"), *out)
	if *readme != "" && runErr == nil {
		if err := harness.UpdateReadme(*readme, rep.ReadmeSection()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Updated %s.\n", *readme)
	}
	return runErr
}

// buildBinary builds ./cmd/octomesh of the enclosing repository into dir.
// Outside the repository (or without a Go toolchain) it falls back to this
// executable, which is an octomesh binary too.
func buildBinary(ctx context.Context, dir string, log io.Writer) (string, error) {
	root, err := moduleRoot()
	_, goErr := exec.LookPath("go")
	if err != nil || goErr != nil {
		self, serr := os.Executable()
		if serr != nil {
			return "", fmt.Errorf("no repository to build and no executable path: %w", serr)
		}
		fmt.Fprintf(log, "measuring this executable (%s): not in the OctoMesh repository or no go toolchain\n", self)
		return self, nil
	}
	out := filepath.Join(dir, "octomesh")
	fmt.Fprintf(log, "building %s/cmd/octomesh …\n", root)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/octomesh")
	cmd.Dir = root
	var msg bytes.Buffer
	cmd.Stdout, cmd.Stderr = &msg, &msg
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/octomesh: %v\n%s", err, msg.String())
	}
	return out, nil
}

// moduleRoot finds the OctoMesh module's root above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/octomesh/octomesh\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the OctoMesh repository")
		}
		dir = parent
	}
}

// parseBenchFlags is parseFlags, except that it reports -h: the bench
// commands must not start a run (or a server) when asked only for help.
func parseBenchFlags(fs *flag.FlagSet, args []string) (help bool, err error) {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "-help" || a == "--help" || a == "--h" {
			fs.Usage()
			return true, nil
		}
	}
	return false, parseFlags(fs, args)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// benchMock serves the mock upstream until ctx is done.
func benchMock(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench mock", stderr)
	listen := fs.String("listen", "127.0.0.1:0", "listen address (loopback)")
	var cfg mockupstream.Config
	fs.DurationVar(&cfg.Delay, "delay", 0, "non-streaming: delay before the answer")
	fs.DurationVar(&cfg.TTFT, "ttft", 0, "streaming: delay before the first token")
	fs.Float64Var(&cfg.TokensPerSec, "tps", 0, "streaming: tokens per second after the first (0: all at once)")
	fs.IntVar(&cfg.Tokens, "tokens", mockupstream.DefaultTokens, "completion tokens per answer")
	fs.IntVar(&cfg.TokenBytes, "token-bytes", mockupstream.DefaultTokenBytes, "bytes of text per token")
	if help, err := parseBenchFlags(fs, args); help || err != nil {
		return err
	}
	return serveUntilDone(ctx, "mock upstream", *listen, mockupstream.New(cfg), stdout)
}

// benchGoProxy serves the minimal Go reverse proxy until ctx is done.
func benchGoProxy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench goproxy", stderr)
	listen := fs.String("listen", "127.0.0.1:0", "listen address (loopback)")
	upstream := fs.String("upstream", "", "upstream URL, e.g. http://127.0.0.1:9000")
	if help, err := parseBenchFlags(fs, args); help || err != nil {
		return err
	}
	u, err := url.Parse(*upstream)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return usageError{"--upstream must be an http(s) URL"}
	}
	return serveUntilDone(ctx, "go proxy", *listen, harness.NewGoProxy(u), stdout)
}

// serveUntilDone serves h on listen, printing "<name> listening on
// http://ADDR" once it accepts connections, until ctx is done.
func serveUntilDone(ctx context.Context, name, listen string, h http.Handler, stdout io.Writer) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, MaxHeaderBytes: 64 << 10, ErrorLog: nil}
	fmt.Fprintf(stdout, "%s listening on http://%s\n", name, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		srv.Close()
		<-errc
		return nil
	}
}

// resultsDir is where a run writes its results: the --out given, else
// bench/results for a whole full run and bench/results/tmp (ignored by
// git) for a quick, custom, profiled or partial one, so that only a run
// like the README's replaces the committed latest.md and latest.json.
func resultsDir(out string, outSet bool, mode string, partial bool) string {
	if outSet || mode == "full" && !partial {
		return out
	}
	return filepath.Join(out, "tmp")
}

// hasGroup reports whether the comma-separated list names group.
func hasGroup(list, group string) bool {
	for _, s := range strings.Split(list, ",") {
		if strings.TrimSpace(s) == group {
			return true
		}
	}
	return false
}
