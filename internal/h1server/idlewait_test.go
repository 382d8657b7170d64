//go:build unix

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

// A connection waiting for a request, its first or the next, holds no
// buffer: 2,000 clients connecting at once, or streams between requests,
// each held a 4 KiB read buffer while they waited.
func TestAWaitingConnectionHoldsNoBuffer(t *testing.T) {
	waits := make(chan [2]bool, 16)
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, r.URL.Path+":"+string(b))
	}), func(s *Server) {
		s.onWait = func(c *conn) {
			select {
			case waits <- [2]bool{c.br != nil, c.stash != nil}:
			default:
			}
		}
	})
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	wait := func(when string) {
		t.Helper()
		select {
		case w := <-waits:
			if w[0] || w[1] {
				t.Errorf("%s: the connection waits holding a read buffer %v, a stash %v", when, w[0], w[1])
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the connection never waited without a buffer", when)
		}
	}
	wait("before the first request")
	br := bufio.NewReader(c)
	// The second request comes in two parts: the stash holds the first,
	// the read buffer reads the rest from the connection.
	for i, parts := range [][]string{
		{"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"},
		{"POST /b HTTP/1.1\r\nHost: a\r\nContent-Le", "ngth: 3\r\n\r\nabc"},
	} {
		for j, p := range parts {
			if j > 0 {
				time.Sleep(20 * time.Millisecond) // let the first part be read alone
			}
			if _, err := io.WriteString(c, p); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := []string{"/a:hello", "/b:abc"}[i]; string(b) != want {
			t.Fatalf("answer %q, want %q", b, want)
		}
		wait("after a request")
	}
}

// Requests pipelined past what one read takes (the stash's 4 KiB) are all
// served, in order.
func TestPipelinedRequestsPastTheStash(t *testing.T) {
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, r.URL.Path+":"+string(rune('0'+len(b)/1000)))
	}))
	body := strings.Repeat("x", 3000)
	var reqs strings.Builder
	for _, p := range []string{"/1", "/2", "/3"} {
		reqs.WriteString("POST " + p + " HTTP/1.1\r\nHost: a\r\nContent-Length: 3000\r\n\r\n" + body)
	}
	reqs.WriteString("GET /end HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	out := raw(t, base, reqs.String())
	last := 0
	for _, want := range []string{"/1:3", "/2:3", "/3:3", "/end:0"} {
		i := strings.Index(out[last:], want)
		if i < 0 {
			t.Fatalf("answer %q missing or out of order in %q", want, out)
		}
		last += i + len(want)
	}
}
