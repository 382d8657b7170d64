//go:build unix

package h1server

import (
	"net"
	"syscall"
)

// rawConnOf returns c's RawConn when c is a plain TCP connection, whose
// readiness can be awaited without a buffer; nil otherwise.
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

// awaitBytes blocks until the connection has bytes for the next request,
// holding no buffer: once the socket is readable, one read takes what has
// arrived into a stash lent then (the read a buffered reader's Peek would
// have made). It reports false when the connection ended, failed or timed
// out first. The first attempt reads at once, so bytes already there cost
// no wait.
func (c *conn) awaitBytes() bool {
	if c.raw == nil {
		_, err := c.reader().Peek(1)
		return err == nil
	}
	if c.waitRead == nil {
		c.waitRead = c.readStash // one closure per connection, not per wait
	}
	c.waitFailed = false
	err := c.raw.Read(c.waitRead)
	return err == nil && !c.waitFailed
}

// readStash is awaitBytes' callback for RawConn.Read: it reads what the
// socket holds into a lent stash, or reports (false) that nothing is there
// yet. End of file or an error sets waitFailed.
func (c *conn) readStash(fd uintptr) bool {
	p := stashPool.Get().(*[]byte)
	for {
		n, err := syscall.Read(int(fd), (*p)[:cap(*p)])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			stashPool.Put(p)
			if h := c.srv.onWait; h != nil {
				h(c)
			}
			return false // not readable yet: wait, holding nothing
		case err != nil || n <= 0:
			stashPool.Put(p)
			c.waitFailed = true
		default:
			c.stash, c.stashed = p, (*p)[:n]
		}
		return true
	}
}
