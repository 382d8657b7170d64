package h1server

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestShutdownServesANewConnectionsFirstRequest: a connection accepted
// before Shutdown whose first request has not arrived yet is given the
// chance to send it, as net/http gives new connections (5 s): closing it
// loses a request the client already sent on its way.
func TestShutdownServesANewConnectionsFirstRequest(t *testing.T) {
	base, s := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "served")
	}))
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(50 * time.Millisecond) // accepted, waiting for its request
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(c)
	if !strings.HasSuffix(string(b), "served") || !strings.Contains(string(b), "Connection: close") {
		t.Fatalf("answer: %q", b)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
}

// TestCloseCancelsRequestsInFlight: Close ends the connections, and with
// them the contexts of the requests still running on them, as net/http
// does: a handler waiting on an upstream stops instead of running on
// after the server is gone.
func TestCloseCancelsRequestsInFlight(t *testing.T) {
	entered := make(chan struct{})
	canceled := make(chan bool, 1)
	base, s := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		select {
		case <-r.Context().Done():
			canceled <- true
		case <-time.After(5 * time.Second):
			canceled <- false
		}
	}))
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	<-entered
	s.Close()
	if !<-canceled {
		t.Fatal("the request's context outlived Close")
	}
}
