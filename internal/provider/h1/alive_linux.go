package h1

import (
	"net"
	"syscall"
)

// alive reports whether an idle connection can carry a request: nothing may
// be readable on it (neither stray bytes nor the server's FIN). It peeks
// without blocking; a connection that cannot be checked counts as alive.
func (pc *persistConn) alive() bool {
	if pc.buffered() > 0 {
		return false
	}
	raw := pc.conn
	if tc, ok := raw.(interface{ NetConn() net.Conn }); ok {
		raw = tc.NetConn() // a TLS close_notify shows up as readable bytes
	}
	sc, ok := raw.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := false
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		_, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// Only "would block" means open and quiet; EOF, an error or stray
		// bytes all mean the connection cannot carry another request.
		alive = rerr == syscall.EAGAIN
		return true // never wait
	})
	return alive && err == nil
}
