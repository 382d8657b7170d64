package h1server

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestReadTimeoutEndsASlowBody: ReadTimeout bounds the body as well as the
// head: a handler reading a body that stops coming gets a timeout, and its
// answer still reaches the client before the connection closes.
func TestReadTimeoutEndsASlowBody(t *testing.T) {
	got := make(chan error, 1)
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		got <- err
		http.Error(w, "slow body", http.StatusRequestTimeout)
	}), func(s *Server) { s.ReadTimeout = 300 * time.Millisecond })
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
	select {
	case err := <-got:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("body read: %v, want a timeout", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the body read did not time out")
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	b, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(b), "HTTP/1.1 408 ") || !strings.Contains(string(b), "Connection: close\r\n") {
		t.Fatalf("answer: %q", b)
	}
}

// TestWriteTimeoutEndsAStalledAnswer: a client that stops reading makes
// the handler's writes fail within WriteTimeout.
func TestWriteTimeoutEndsAStalledAnswer(t *testing.T) {
	got := make(chan error, 1)
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 64<<10)
		for {
			if _, err := w.Write(buf); err != nil {
				got <- err
				return
			}
		}
	}), func(s *Server) { s.WriteTimeout = 300 * time.Millisecond })
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n") // and never read
	select {
	case err := <-got:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("write: %v, want a timeout", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the writes did not time out")
	}
}
