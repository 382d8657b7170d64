//go:build !linux

package h1

// alive cannot peek without blocking on this platform; the idle timeout
// and the retry of a request that never left cover a closed connection.
func (pc *persistConn) alive() bool { return pc.buffered() == 0 }
