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

// onWait, when set (by tests), runs each time a wait is about to block.
var onWait func(*persistConn)

// waitData blocks until the connection holds bytes to read, or a read
// fails; the failure is returned and also kept for the next read. On a
// plain TCP connection it waits holding no buffer: it parks the read
// buffer and reads, once the socket is readable, into a stash lent then.
// The first attempt reads at once, as net's Read does, so bytes that
// arrived before the wait are not missed.
func (pc *persistConn) waitData() error {
	if pc.buffered() > 0 || pc.stashErr != nil {
		return nil
	}
	if pc.raw == nil {
		_, err := pc.reader().Peek(1)
		return err
	}
	pc.parkReader()
	var rerr error
	err := pc.raw.Read(func(fd uintptr) bool {
		p := stashes.Get().(*[]byte)
		for {
			n, err := syscall.Read(int(fd), *p)
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
				stashes.Put(p)
				if onWait != nil {
					onWait(pc)
				}
				return false // not readable yet: wait, holding nothing
			case err != nil:
				stashes.Put(p)
				rerr = os.NewSyscallError("read", err)
			case n == 0:
				stashes.Put(p)
				rerr = io.EOF
			default:
				pc.stash, pc.stashed = p, (*p)[:n]
			}
			return true
		}
	})
	// Errors read as net's Read reports them ("read tcp a->b: ..."), with
	// os.ErrDeadlineExceeded or net.ErrClosed still inside for errors.Is.
	var oe *net.OpError
	switch {
	case err != nil && errors.As(err, &oe):
		oe.Op = "read" // RawConn says "raw-read"
	case err == nil && rerr != nil && rerr != io.EOF:
		err = &net.OpError{Op: "read", Net: "tcp", Source: pc.conn.LocalAddr(), Addr: pc.conn.RemoteAddr(), Err: rerr}
	case err == nil:
		err = rerr
	}
	if err != nil {
		pc.stashErr = err
	}
	return err
}
