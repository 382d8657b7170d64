package h1server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A handler that answers without reading the body (a refused key, say)
// gets its answer to a client whose body has stopped arriving promptly,
// with the connection closing after it, not after the read timeout: the
// server waits only briefly for the rest of the body it would read past.
func TestAnAnswerDoesNotWaitForABodyThatStopped(t *testing.T) {
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no key", http.StatusUnauthorized)
	}), func(s *Server) { s.ReadTimeout = 5 * time.Second })
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n{\"model\":")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := time.Since(start); d > time.Second || resp.StatusCode != http.StatusUnauthorized || !resp.Close {
		t.Fatalf("answer %d (close %v) after %v; want 401 with Connection: close well within the 5 s read timeout", resp.StatusCode, resp.Close, d)
	}
}
