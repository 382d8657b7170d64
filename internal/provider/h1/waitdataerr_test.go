package h1

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
)

// A connection reset that WaitData runs into is the body's error: the next
// Read reports it. bufio.Reader hands a read error out once, and a socket
// reports a reset once too (its next read is a clean EOF), so a body
// delimited by the connection's close would otherwise read on to io.EOF: a
// stream cut mid-way would look complete.
func TestWaitDataKeepsTheResetForTheNextRead(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	reset := make(chan struct{})
	served := make(chan struct{})
	go func() {
		defer close(served)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			c.Close()
			return
		}
		io.Copy(io.Discard, req.Body)
		// No length, not chunked: the body ends when the connection does.
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: 1\n\n")
		<-reset
		c.(*net.TCPConn).SetLinger(0) // Close sends a reset
		c.Close()
	}()
	resp, err := post(t, &Transport{}, context.Background(), "http://"+ln.Addr().String(), "{}")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := resp.Body.(*body)
	if b.framing != frameClose {
		t.Fatalf("framing %v, want frameClose", b.framing)
	}
	p := make([]byte, 64)
	n, err := io.ReadAtLeast(b, p, len("data: 1\n\n"))
	if err != nil || string(p[:n]) != "data: 1\n\n" {
		t.Fatalf("first event: %q, %v", p[:n], err)
	}
	close(reset)
	<-served
	b.WaitData() // runs into the reset
	n, err = b.Read(p)
	if err == nil || err == io.EOF {
		t.Fatalf("Read after WaitData met a reset = %q, %v; want the reset", p[:n], err)
	}
	if _, again := b.Read(p); again == nil || again.Error() != err.Error() {
		t.Errorf("second Read = %v, want %v again", again, err)
	}
}
