package h1server

import (
	"testing"
	"unsafe"
)

// TestAResponseStaysSmall: a response (with the request and its storage)
// lives as long as its answer, a stream's for seconds or minutes: it must
// fit the allocator's 1,280-byte class, and a connection its 208-byte one.
func TestAResponseStaysSmall(t *testing.T) {
	if n := unsafe.Sizeof(response{}); n > 1280 {
		t.Errorf("response is %d bytes, more than the 1,280-byte size class", n)
	}
	if n := unsafe.Sizeof(conn{}); n > 208 {
		t.Errorf("conn is %d bytes, more than the 208-byte size class", n)
	}
}
