package h1server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// These tests cover the ways a request can arrive after a connection
// waited for it without a buffer (awaitBytes): the first read lands in a
// stash the read buffer takes, and the rest of the request comes from the
// connection.

// dialKept opens a connection and serves one plain request on it, so that
// what the test sends next comes after an idle wait.
func dialKept(t *testing.T, base string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	io.WriteString(c, "GET /warm HTTP/1.1\r\nHost: a\r\n\r\n")
	readAnswer(t, br)
	return c, br
}

func readAnswer(t *testing.T, br *bufio.Reader) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// echo answers the path, a header's length and the body's length.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	fmt.Fprintf(w, "%s:%d:%d", r.URL.Path, len(r.Header.Get("X-Big")), len(b))
})

// A head longer than the stash, its first part read by the wait and the
// rest from the connection, arrives whole; one past the limit is refused.
func TestAHeadAcrossTheStashAndTheConnection(t *testing.T) {
	base, _ := start(t, echo, func(s *Server) { s.MaxHeaderBytes = 16 << 10 })
	c, br := dialKept(t, base)
	big := strings.Repeat("v", 10000)
	head := "POST /big HTTP/1.1\r\nHost: a\r\nX-Big: " + big + "\r\nContent-Length: 3\r\n\r\nabc"
	io.WriteString(c, head[:5000]) // more than the stash takes in one read
	time.Sleep(20 * time.Millisecond)
	io.WriteString(c, head[5000:])
	if _, got := readAnswer(t, br); got != "/big:10000:3" {
		t.Fatalf("answer %q, want /big:10000:3", got)
	}
	// Past the limit: refused, even when it came in one piece.
	over := "GET /over HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("v", 17<<10) + "\r\n\r\n"
	io.WriteString(c, over)
	if resp, _ := readAnswer(t, br); resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d, want 431", resp.StatusCode)
	}
}

// A request sent a byte at a time after the wait is read whole.
func TestARequestByteByByte(t *testing.T) {
	base, _ := start(t, echo)
	c, br := dialKept(t, base)
	req := "POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabcd"
	for i := range len(req) {
		io.WriteString(c, req[i:i+1])
		if i < 3 {
			time.Sleep(5 * time.Millisecond) // the wait reads one byte alone
		}
	}
	if _, got := readAnswer(t, br); got != "/slow:0:4" {
		t.Fatalf("answer %q", got)
	}
}

// Expect: 100-continue on a request that came after a wait: the 100 is
// sent when the handler reads, and the body then follows.
func TestContinueAfterAWait(t *testing.T) {
	base, _ := start(t, echo)
	c, br := dialKept(t, base)
	io.WriteString(c, "POST /cont HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("read %q, %v; want a 100 Continue", line, err)
	}
	if l, _ := br.ReadString('\n'); l != "\r\n" {
		t.Fatalf("after the 100: %q", l)
	}
	io.WriteString(c, "hello")
	if _, got := readAnswer(t, br); got != "/cont:0:5" {
		t.Fatalf("answer %q", got)
	}
}

// A chunked body split across reads, with the next request right behind
// it in the same write, both served in order.
func TestAChunkedBodyThenAPipelinedRequestAfterAWait(t *testing.T) {
	base, _ := start(t, echo)
	c, br := dialKept(t, base)
	chunk := strings.Repeat("z", 3000)
	first := fmt.Sprintf("POST /ch HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n", len(chunk), chunk)
	rest := fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(chunk), chunk) + "POST /next HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"
	io.WriteString(c, first)
	time.Sleep(20 * time.Millisecond)
	io.WriteString(c, rest)
	if _, got := readAnswer(t, br); got != "/ch:0:6000" {
		t.Fatalf("first answer %q", got)
	}
	if _, got := readAnswer(t, br); got != "/next:0:2" {
		t.Fatalf("second answer %q", got)
	}
}

// A client that half-closes after its request gets the answer, then the
// end of the connection (end of file between requests).
func TestHalfCloseAfterARequest(t *testing.T) {
	base, _ := start(t, echo)
	c, br := dialKept(t, base)
	io.WriteString(c, "POST /last HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx")
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, got := readAnswer(t, br); got != "/last:0:1" {
		t.Fatalf("answer %q", got)
	}
	if n, err := br.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("after the answer: %d, %v; want end of file", n, err)
	}
}

// A body read by a goroutine the handler started (as a Transport sending
// it upstream does) takes the stash and the read buffer from that
// goroutine: under -race, that must be ordered with the connection's own
// use of them, here for several requests on one connection.
func TestABodyReadFromAnotherGoroutineAfterAWait(t *testing.T) {
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		done := make(chan int)
		go func() {
			b, _ := io.ReadAll(r.Body)
			done <- len(b)
		}()
		fmt.Fprintf(w, "%d", <-done)
	}))
	c, br := dialKept(t, base)
	body := strings.Repeat("b", 9000)
	for i := range 5 {
		req := fmt.Sprintf("POST /%d HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s", i, len(body), body)
		io.WriteString(c, req[:100])
		time.Sleep(5 * time.Millisecond)
		io.WriteString(c, req[100:])
		if _, got := readAnswer(t, br); got != "9000" {
			t.Fatalf("request %d: answer %q", i, got)
		}
	}
}

// The idle timeout ends a wait between requests, and the read header
// timeout a head that stopped after the wait read its start.
func TestTimeoutsAroundTheWait(t *testing.T) {
	base, _ := start(t, echo, func(s *Server) {
		s.IdleTimeout = 300 * time.Millisecond
		s.ReadHeaderTimeout = 300 * time.Millisecond
	})
	for _, tc := range []struct{ name, send string }{
		{"idle", ""},
		{"a head that stops", "GET / HTTP/1.1\r\nHo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, br := dialKept(t, base)
			io.WriteString(c, tc.send)
			t0 := time.Now()
			if n, err := br.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Fatalf("Read = %d, %v; want the server to close the connection", n, err)
			}
			if d := time.Since(t0); d > 5*time.Second {
				t.Fatalf("closed after %v", d)
			}
		})
	}
}

// A connection that is not TCP (here a Unix socket) waits in its read
// buffer instead: pipelined and kept-alive requests are served on it too.
func TestANonTCPConnectionWaitsInItsReader(t *testing.T) {
	ln, err := net.Listen("unix", t.TempDir()+"/s")
	if err != nil {
		t.Skip("no unix sockets:", err)
	}
	s := &Server{Handler: echo, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-errc; err != ErrServerClosed {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	})
	c, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	io.WriteString(c, "POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"+"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
	for _, want := range []string{"/1:0:2", "/2:0:0"} {
		if _, got := readAnswer(t, br); got != want {
			t.Fatalf("answer %q, want %q", got, want)
		}
	}
	time.Sleep(20 * time.Millisecond) // the next request comes after a wait
	io.WriteString(c, "GET /3 HTTP/1.1\r\nHost: a\r\n\r\n")
	if _, got := readAnswer(t, br); got != "/3:0:0" {
		t.Fatalf("answer %q", got)
	}
}
