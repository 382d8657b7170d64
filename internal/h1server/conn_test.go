package h1server

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestABodyOutlivingAPanickedHandlerIsClosed: a handler that panics (as
// httputil.ReverseProxy does with http.ErrAbortHandler) while another
// goroutine still reads its request body (as a Transport sending it
// upstream does) must leave that goroutine a closed body, not the
// connection's read buffer, which goes back to the pool for another
// connection (net/http closes the body before it recycles the reader).
func TestABodyOutlivingAPanickedHandlerIsClosed(t *testing.T) {
	proceed := make(chan struct{})
	result := make(chan string, 1)
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/abort" {
			io.Copy(io.Discard, r.Body)
			io.WriteString(w, "other")
			return
		}
		go func() {
			defer func() {
				if v := recover(); v != nil {
					result <- fmt.Sprint("panic: ", v)
				}
			}()
			<-proceed
			b := make([]byte, 64)
			n, err := r.Body.Read(b)
			result <- fmt.Sprintf("%q %v", b[:n], err)
		}()
		panic(http.ErrAbortHandler)
	}))
	// The body is chunked: its reader holds the connection's buffer.
	if out := raw(t, base, "POST /abort HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"); out != "" {
		t.Fatalf("answer after a panic: %q", out)
	}
	// Another connection takes the pooled reader and has bytes in it.
	raw(t, base, "POST /other HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecret")
	close(proceed)
	if got := <-result; !strings.Contains(got, http.ErrBodyReadAfterClose.Error()) {
		t.Fatalf("read after the handler panicked: %s; want %v", got, http.ErrBodyReadAfterClose)
	}
}

// TestAnAnswerToAnUnreadBodyReachesTheClient: a handler that refuses a
// large body without reading it (413) closes the connection with the
// client's bytes unread; a plain close then resets the connection and the
// client sees "connection reset" instead of the answer.
func TestAnAnswerToAnUnreadBodyReachesTheClient(t *testing.T) {
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "too large", http.StatusRequestEntityTooLarge)
	}))
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	for i := range 10 {
		resp, err := (&http.Client{Transport: tr}).Post(base+"/", "application/json", io.LimitReader(zeros{}, 8<<20))
		if err != nil {
			t.Fatalf("request %d: %v, want the 413", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestASilentNewConnectionTimesOutAsAHead: a new connection that sends
// nothing is cut after ReadHeaderTimeout, as with net/http (whose header
// timeout runs from the accept for the first request), not kept for the
// much longer IdleTimeout meant for keep-alive connections.
func TestASilentNewConnectionTimesOutAsAHead(t *testing.T) {
	base, _ := start(t, http.NotFoundHandler(), func(s *Server) {
		s.ReadHeaderTimeout = 200 * time.Millisecond
		s.IdleTimeout = time.Minute
	})
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("Read = %d, %v; want EOF after the header timeout", n, err)
	}
}
