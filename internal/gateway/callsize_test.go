package gateway

import (
	"testing"
	"unsafe"
)

// TestAStreamsStateStaysSmall: a streaming request's gateway state lives
// as long as the stream, and 2,000 waiting streams hold 2,000 of them.
// Room added to it for a saved allocation is paid for the stream's whole
// life: it must fit the allocator's 2,304-byte class (the 3,456-byte
// class, with the upstream request's room in it, held 1.5 MB more at
// 2,000 streams; the 2,688-byte one, with a ledger entry's room, 0.8 MB).
//
// An object of more than 512 bytes with pointers carries the allocator's
// 8-byte header in its slot: 2,296 bytes fit the class, 2,304 do not.
func TestAStreamsStateStaysSmall(t *testing.T) {
	if n := unsafe.Sizeof(streamCall{}); n > 2304-8 {
		t.Errorf("streamCall is %d bytes, more than fit the 2,304-byte size class with its 8-byte header", n)
	}
}
