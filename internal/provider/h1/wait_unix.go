//go:build unix

package h1

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// rawConnOf returns c's RawConn when c is a plain TCP connection, whose
// readiness can be awaited without a buffer; nil otherwise (TLS).
func rawConnOf(c net.Conn) syscall.RawConn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// onWait, when set (by tests), runs each time a wait is about to block;
// head tells a wait for the response from one for more of its body.
var onWait func(pc *persistConn, head bool)

// waitHead waits for the response to a request just written, holding no
// buffer, and takes what has arrived with one read into a stash, so that
// a fast upstream's whole short answer comes in one read. A failure is
// kept for readResponse to meet, and reported as a read there would
// report it.
func (pc *persistConn) waitHead() {
	if pc.raw != nil {
		pc.wait(true)
	}
}

// waitData blocks until the connection holds bytes to read, or a read
// fails; the failure is returned and also kept for the next read. On a
// plain TCP connection it waits holding no buffer: it parks the read
// buffer and reads, once the socket is readable, into a stash lent then.
// The first attempt reads at once, as net's Read does, so bytes that
// arrived before the wait are not missed.
func (pc *persistConn) waitData() error { return pc.wait(false) }

func (pc *persistConn) wait(head bool) error {
	if pc.buffered() > 0 || pc.stashErr != nil {
		return nil
	}
	if pc.raw == nil {
		_, err := pc.reader().Peek(1)
		return err
	}
	pc.parkReader()
	if pc.waitRead == nil {
		pc.waitRead = pc.readStash
	}
	pc.waitHeadNext, pc.waitErr = head, nil
	err := pc.raw.Read(pc.waitRead)
	rerr := pc.waitErr
	pc.waitErr = nil
	// Errors read as net's Read reports them ("read tcp a->b: ..."), with
	// os.ErrDeadlineExceeded or net.ErrClosed still inside for errors.Is.
	switch {
	case err != nil:
		renameRawRead(err)
	case rerr != nil && rerr != io.EOF:
		err = &net.OpError{Op: "read", Net: "tcp", Source: pc.conn.LocalAddr(), Addr: pc.conn.RemoteAddr(), Err: rerr}
	default:
		err = rerr
	}
	if err != nil {
		pc.stashErr = err
	}
	return err
}

// readStash is wait's callback for RawConn.Read: it reads what the socket
// holds into a stash lent for the read, or reports (false) that nothing
// is there yet. It leaves a failure in pc.waitErr.
func (pc *persistConn) readStash(fd uintptr) bool {
	head := pc.waitHeadNext
	p := getStash(head)
	for {
		n, err := rawRead(fd, *p)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			putStash(p)
			if onWait != nil {
				onWait(pc, head)
			}
			return false // not readable yet: wait, holding nothing
		case err != nil:
			putStash(p)
			pc.waitErr = os.NewSyscallError("read", err)
		case n == 0:
			putStash(p)
			pc.waitErr = io.EOF
		default:
			pc.stash, pc.stashed = p, (*p)[:n]
		}
		return true
	}
}

// renameRawRead makes a RawConn.Read error say "read", as RawConn says
// "raw-read". Apart from wait so that its errors.As target is allocated
// only on failure.
func renameRawRead(err error) {
	var oe *net.OpError
	if errors.As(err, &oe) {
		oe.Op = "read"
	}
}
