//go:build !unix

package h1

import (
	"net"
	"syscall"
)

// rawConnOf: only unix waits without a buffer.
func rawConnOf(net.Conn) syscall.RawConn { return nil }

// waitHead: readResponse waits in the read buffer.
func (pc *persistConn) waitHead() {}

// waitData blocks in the read buffer until the connection holds bytes.
func (pc *persistConn) waitData() error {
	if pc.buffered() > 0 || pc.stashErr != nil {
		return nil
	}
	_, err := pc.reader().Peek(1)
	return err
}
