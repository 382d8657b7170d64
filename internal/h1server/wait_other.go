//go:build !unix

package h1server

import (
	"net"
	"syscall"
)

// rawConnOf returns nil: the connection waits for a request in its reader.
func rawConnOf(net.Conn) syscall.RawConn { return nil }

// awaitBytes blocks until the connection has bytes for the next request,
// in its read buffer, and reports false when it ended or failed first.
func (c *conn) awaitBytes() bool {
	_, err := c.reader().Peek(1)
	return err == nil
}
