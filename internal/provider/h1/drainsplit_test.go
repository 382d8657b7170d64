package h1

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestDrainAcrossASplitChunkLine: a stream closed early is drained in two
// steps, first from what is buffered, then from the network. When the
// first step stops inside a chunk-size line ("1" of "10"), the second must
// not parse the rest of it ("0") as the last chunk, end the body early and
// pool the connection with the real end still to come (the next request
// would read it as its response).
func TestDrainAcrossASplitChunkLine(t *testing.T) {
	u := serveRequests(t, func(c net.Conn, req *http.Request) {
		if req.URL.Path != "/stream" {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh")
			return
		}
		// A 16-byte event ("10" in hex) whose size line is split after
		// its "1", and whose data holds an empty line.
		io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1")
		time.Sleep(20 * time.Millisecond)
		io.WriteString(c, "0\r\ndata: 01234567\n\n")
		time.Sleep(60 * time.Millisecond)
		io.WriteString(c, "\r\n0\r\n\r\n")
	})
	tr := &Transport{}
	resp, err := post(t, tr, context.Background(), u+"/stream", "{}")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // the "1" is in the buffer
	resp.Body.Close()
	time.Sleep(40 * time.Millisecond) // the drain has read "0\r\n" and the event
	resp, err = post(t, tr, context.Background(), u+"/plain", "{}")
	if err != nil {
		t.Fatalf("the request after the drained stream: %v", err)
	}
	if got := readAll(t, resp); got != "fresh" {
		t.Errorf("body %q, want fresh", got)
	}
}
