package h1

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
)

// A body that turned out malformed stays failed: the bytes still buffered
// after the bad chunk must not read as more body and a clean end.
func TestABodyErrorSticks(t *testing.T) {
	u := chunkServer(t, func(c net.Conn) {
		io.WriteString(c, "5\r\nhello\r\nzz\r\n0\r\n\r\n")
	})
	resp, err := post(t, &Transport{}, context.Background(), u, "{}")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64)
	var first error
	for i := 0; i < 5 && first == nil; i++ {
		_, first = resp.Body.Read(buf)
	}
	if first == nil || first == io.EOF {
		t.Fatalf("reading a malformed chunk size: %v, want an error", first)
	}
	for i := range 3 {
		if _, err := resp.Body.Read(buf); !errors.Is(err, first) && err.Error() != first.Error() {
			t.Fatalf("Read %d after the error: %v, want %v again", i, err, first)
		}
	}
}
