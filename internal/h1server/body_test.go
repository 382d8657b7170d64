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

// TestNoContinueAfterTheAnswerStarted: a handler that sends its answer's
// head before it reads a body the client offered with Expect:
// 100-continue must not then write "100 Continue" into the middle of its
// answer.
func TestNoContinueAfterTheAnswerStarted(t *testing.T) {
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	}))
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	io.WriteString(c, "hello") // the client sends the body anyway, as RFC 9110 §10.1.1 lets it
	b, err := io.ReadAll(resp.Body)
	if string(b) != "hello" || err != nil {
		t.Fatalf("body %q, %v; want hello", b, err)
	}
}

// TestFullDuplexEcho: a handler may answer while it still reads a chunked
// body (net/http's HTTP/1 server needs EnableFullDuplex for this; here it
// is how bodies work).
func TestFullDuplexEcho(t *testing.T) {
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		buf := make([]byte, 16)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				w.Write(buf[:n])
				w.(http.Flusher).Flush()
			}
			if err != nil {
				return
			}
		}
	}))
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{"one", "two", "six"} {
		io.WriteString(c, "3\r\n"+msg+"\r\n")
		b := make([]byte, 3)
		if _, err := io.ReadFull(resp.Body, b); err != nil || string(b) != msg {
			t.Fatalf("echo of %q: %q, %v", msg, b, err)
		}
	}
	io.WriteString(c, "0\r\n\r\n")
	if rest, err := io.ReadAll(resp.Body); len(rest) != 0 || err != nil {
		t.Fatalf("after the body's end: %q, %v", rest, err)
	}
}
