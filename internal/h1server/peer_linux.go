package h1server

import (
	"net"
	"syscall"
)

// peerOpen reports whether the client may still read the answer: a peek
// that would block (or finds bytes, such as a pipelined request) means
// open; end of file or an error means the client closed or reset the
// connection. It never blocks, and it uses Control rather than Read so as
// not to wait for the read lock a handler reading its body holds.
func peerOpen(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	open := true
	var b [1]byte
	rc.Control(func(fd uintptr) {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EAGAIN || err == syscall.EINTR:
		case err != nil || n == 0:
			open = false
		}
	})
	return open
}
