package h1

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// chunkedPair starts a response of chunked events on a pipe and returns
// its body; send writes raw bytes to the client.
func chunkedPair(t *testing.T) (b *body, send func(string), conn *lateConn) {
	t.Helper()
	client, server := net.Pipe()
	t.Cleanup(func() { server.Close() })
	lc := &lateConn{Conn: client}
	pc := &persistConn{pool: newHostPool(&Transport{}, poolKey{host: "x"}, mustURL(t, "http://x/")), conn: lc, br: bufio.NewReader(lc)}
	out := make(chan string)
	go func() {
		br := bufio.NewReader(server)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		io.WriteString(server, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
		for s := range out {
			if _, err := io.WriteString(server, s); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { close(out) })
	req, _ := http.NewRequest(http.MethodPost, "http://x/", strings.NewReader("{}"))
	resp, err := pc.roundTrip(req, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Body.(*body), func(s string) { out <- s }, lc
}

// WaitData returns once the body's next bytes are on the connection, and
// the Read after it returns them.
func TestWaitDataReturnsWhenBytesArrive(t *testing.T) {
	b, send, _ := chunkedPair(t)
	done := make(chan struct{})
	go func() { b.WaitData(); close(done) }()
	select {
	case <-done:
		t.Fatal("WaitData returned before any byte arrived")
	case <-time.After(50 * time.Millisecond):
	}
	send("5\r\nhello\r\n")
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("WaitData still waiting after the bytes arrived")
	}
	p := make([]byte, 16)
	n, err := b.Read(p)
	if err != nil || string(p[:n]) != "hello" {
		t.Fatalf("Read after WaitData = %q, %v", p[:n], err)
	}
}

// Close during WaitData (a timer giving up on a stream) interrupts the
// wait and closes the connection, as it does a Read.
func TestCloseDuringWaitData(t *testing.T) {
	b, _, lc := chunkedPair(t)
	done := make(chan struct{})
	go func() { b.WaitData(); close(done) }()
	waitUntilReading(b)
	b.Close()
	// lateConn ignores deadlines: closing it is what ends the pipe read.
	deadline := time.After(5 * time.Second)
	for !lc.isClosed() {
		select {
		case <-deadline:
			t.Fatal("the connection stays open after Close during WaitData")
		case <-time.After(time.Millisecond):
		}
		lc.Conn.Close() // stands in for the deadline lateConn ignores
	}
	<-done
	b.mu.Lock()
	finished := b.finished
	b.mu.Unlock()
	if !finished {
		t.Error("the body did not give its connection up")
	}
}
