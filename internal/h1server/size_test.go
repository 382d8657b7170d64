package h1server

import (
	"testing"
	"unsafe"
)

// TestAResponseStaysSmall: a response (with the request and its storage)
// lives as long as its answer, a stream's for seconds or minutes: it must
// fit the allocator's 1,280-byte class, and a connection its 208-byte one.
// An object over 512 bytes that holds pointers carries an 8-byte header
// in its size class, so the response may be 1,272 bytes at most.
func TestAResponseStaysSmall(t *testing.T) {
	if n := unsafe.Sizeof(response{}); n+8 > 1280 {
		t.Errorf("response is %d bytes, with its 8-byte header more than the 1,280-byte size class", n)
	}
	if n := unsafe.Sizeof(conn{}); n > 208 {
		t.Errorf("conn is %d bytes, more than the 208-byte size class", n)
	}
}
