package h1server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// start serves h on a loopback port and returns its base URL and server.
func start(t *testing.T, h http.Handler, tweak ...func(*Server)) (string, *Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 30 * time.Second,
		ErrorLog: log.New(io.Discard, "", 0)}
	for _, f := range tweak {
		f(s)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-errc; err != ErrServerClosed {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	})
	return "http://" + ln.Addr().String(), s
}

// raw sends bytes on a new connection and returns everything the server
// sends back until it closes the connection or 2 s pass.
func raw(t *testing.T, base, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, req)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	b, _ := io.ReadAll(c)
	return string(b)
}

func TestSmallAnswerHasALengthAndOneWrite(t *testing.T) {
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		fmt.Fprintf(w, `{"path":%q,"host":%q,"query":%q}`, r.URL.Path, r.Host, r.URL.RawQuery)
	}))
	resp, err := http.Get(base + "/v1/models?x=1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `{"path":"/v1/models","host":"` + strings.TrimPrefix(base, "http://") + `","query":"x=1"}`
	if string(b) != want || resp.ContentLength != int64(len(want)) || resp.TransferEncoding != nil {
		t.Fatalf("got %q (length %d, %v), want %q with a Content-Length", b, resp.ContentLength, resp.TransferEncoding, want)
	}
	if got := resp.Header.Values("X-Multi"); fmt.Sprint(got) != "[a b]" {
		t.Errorf("X-Multi = %v", got)
	}
	if resp.Header.Get("Date") == "" || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("headers = %v", resp.Header)
	}
}

func TestKeepAliveReusesTheConnection(t *testing.T) {
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte("ok"))
	}))
	var dials atomic.Int64
	tr := &http.Transport{DialContext: func(ctx context.Context, n, a string) (net.Conn, error) {
		dials.Add(1)
		return (&net.Dialer{}).DialContext(ctx, n, a)
	}}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr}
	for i := range 50 {
		resp, err := cl.Post(base+"/x", "text/plain", strings.NewReader(strings.Repeat("b", i*100)))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if n := dials.Load(); n != 1 {
		t.Fatalf("50 sequential requests dialed %d times, want 1", n)
	}
}

func TestStreamingIsChunkedWithTrailers(t *testing.T) {
	next := make(chan struct{})
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Cost")
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			fmt.Fprintf(w, "data: %d\n\n", i)
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Error(err)
			}
			<-next
		}
		w.Header().Set("X-Cost", "0.25")
	}))
	resp, err := http.Post(base+"/s", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.TransferEncoding == nil || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("TransferEncoding = %v, want chunked", resp.TransferEncoding)
	}
	br := bufio.NewReader(resp.Body)
	for i := range 3 {
		line, err := br.ReadString('\n')
		if err != nil || line != fmt.Sprintf("data: %d\n", i) {
			t.Fatalf("event %d: %q, %v (each must arrive before the handler goes on)", i, line, err)
		}
		br.ReadString('\n')
		next <- struct{}{}
	}
	io.Copy(io.Discard, br)
	if got := resp.Trailer.Get("X-Cost"); got != "0.25" {
		t.Fatalf("trailer X-Cost = %q, want 0.25", got)
	}
}

func TestLargeAnswerIsChunked(t *testing.T) {
	big := strings.Repeat("0123456789", 3000)
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < len(big); i += 1000 {
			io.WriteString(w, big[i:i+1000])
		}
	}))
	resp, err := http.Get(base + "/big")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != big {
		t.Fatalf("got %d bytes, want %d", len(b), len(big))
	}
	if resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("sniffed Content-Type = %q", resp.Header.Get("Content-Type"))
	}
}

func TestHeadersAreFixedAtWriteHeader(t *testing.T) {
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Before", "1")
		w.WriteHeader(http.StatusCreated)
		w.Header().Set("X-After", "1")
		w.Write([]byte("made"))
	}))
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 || resp.Header.Get("X-Before") != "1" || resp.Header.Get("X-After") != "" {
		t.Fatalf("status %d headers %v", resp.StatusCode, resp.Header)
	}
}

func TestHeadAndNoContent(t *testing.T) {
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/204" {
			w.WriteHeader(http.StatusNoContent)
			if _, err := w.Write([]byte("x")); err != http.ErrBodyNotAllowed {
				t.Errorf("Write after 204 = %v", err)
			}
			return
		}
		io.WriteString(w, "hello")
	}))
	out := raw(t, base, "HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET /204 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	head, rest, _ := strings.Cut(out, "\r\n\r\n")
	if !strings.HasPrefix(head, "HTTP/1.1 200 OK") || !strings.Contains(head, "Content-Length: 5") {
		t.Fatalf("HEAD answer: %q", head)
	}
	if !strings.HasPrefix(rest, "HTTP/1.1 204 No Content") || strings.Contains(rest, "Content-Length") || strings.Contains(rest, "hello") {
		t.Fatalf("after HEAD (no body may follow it): %q", rest)
	}
}

func TestChunkedAndContinueRequestBodies(t *testing.T) {
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		fmt.Fprintf(w, "%d:%d:%s", len(b), r.ContentLength, r.TransferEncoding)
	}))
	// Chunked with a trailer, then a pipelined request on the same connection.
	out := raw(t, base, "POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"+
		"POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
	if !strings.Contains(out, "\r\n\r\n8:-1:[chunked]") || !strings.Contains(out, "\r\n\r\n2:2:[]") {
		t.Fatalf("answers: %q", out)
	}
	// Expect: 100-continue: the server asks for the body when the handler reads it.
	tr := &http.Transport{ExpectContinueTimeout: 5 * time.Second}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest("POST", base+"/c", strings.NewReader("payload"))
	req.Header.Set("Expect", "100-continue")
	var got100 atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{Got100Continue: func() { got100.Store(true) }}))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "7:7:[]" || !got100.Load() {
		t.Fatalf("answer %q, 100 Continue seen: %v", b, got100.Load())
	}
}

func TestUnreadBodies(t *testing.T) {
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "early")
	}))
	// A small unread body is read past: the connection serves the next request.
	small := "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789"
	out := raw(t, base, small+"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if strings.Count(out, "HTTP/1.1 200 OK") != 2 {
		t.Fatalf("want two answers: %q", out)
	}
	// A large one is not: the connection closes after the answer.
	big := fmt.Sprintf("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n", 10<<20)
	out = raw(t, base, big+"partial")
	if !strings.Contains(out, "early") || !strings.Contains(out, "Connection: close") {
		t.Fatalf("answer: %q", out)
	}
}

func TestMalformedRequests(t *testing.T) {
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("handler ran for %s %s", r.Method, r.URL)
	}), func(s *Server) { s.MaxHeaderBytes = 4096 })
	for _, c := range []struct{ name, req, status, code string }{
		{"no Host", "GET / HTTP/1.1\r\n\r\n", "400", "malformed_request"},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400", "malformed_request"},
		{"bad request line", "GET /\r\nHost: a\r\n\r\n", "400", "malformed_request"},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "505", "http_version_not_supported"},
		{"gzip coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", "501", "unsupported_transfer_encoding"},
		{"length and chunked", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "400", "malformed_request"},
		{"two lengths", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", "400", "malformed_request"},
		{"negative length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", "400", "malformed_request"},
		{"folded header", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  2\r\n\r\n", "400", "malformed_request"},
		{"space before colon", "GET / HTTP/1.1\r\nHost: a\r\nX-A : 1\r\n\r\n", "400", "malformed_request"},
		{"CR in a value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r2\r\n\r\n", "400", "malformed_request"},
		{"bad Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "400", "malformed_request"},
		{"CONNECT", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", "405", "method_not_allowed"},
		{"unknown Expect", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nExpect: magic\r\n\r\nx", "417", "expectation_failed"},
		{"huge head", "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("b", 5000) + "\r\n\r\n", "431", "request_header_too_large"},
	} {
		out := raw(t, base, c.req)
		if !strings.HasPrefix(out, "HTTP/1.1 "+c.status+" ") || !strings.Contains(out, "Connection: close") ||
			!strings.Contains(out, `"code":"`+c.code+`"`) || !strings.Contains(out, `"type":"invalid_request_error"`) {
			t.Errorf("%s: %q", c.name, out)
		}
	}
}

func TestLenientButSafeInput(t *testing.T) {
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The key is canonical in the map itself, as net/http's: callers
		// may index it directly (httpapi's route headers do).
		fmt.Fprintf(w, "%s|%s|%s|%v|%d", r.Method, r.URL.Path, r.Header.Get("X-Lower"), r.Close, len(r.Header["X-Lower"]))
	}))
	// Bare LF line endings, a leading empty line, a lower-case header, HTTP/1.0.
	out := raw(t, base, "\r\nGET /p HTTP/1.0\nx-lower: v\n\n")
	if !strings.HasSuffix(out, "GET|/p|v|true|1") {
		t.Fatalf("answer: %q", out)
	}
	// An escaped path and a query go through url.ParseRequestURI.
	out = raw(t, base, "GET /a%20b?q=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if !strings.HasSuffix(out, "GET|/a b||true|0") {
		t.Fatalf("answer: %q", out)
	}
}

func TestSlowHeadersTimeOut(t *testing.T) {
	base, _ := start(t, http.NotFoundHandler(), func(s *Server) { s.ReadHeaderTimeout = 200 * time.Millisecond })
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n") // and never the blank line
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	t0 := time.Now()
	n, err := c.Read(make([]byte, 10))
	if n != 0 || err != io.EOF {
		t.Fatalf("Read = %d, %v; want the server to close the connection", n, err)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Fatalf("closed after %v", d)
	}
}

func TestIdleConnectionsClose(t *testing.T) {
	base, _ := start(t, http.NotFoundHandler(), func(s *Server) { s.IdleTimeout = 200 * time.Millisecond })
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("Read = %d, %v; want EOF after the idle timeout", n, err)
	}
}

func TestAClientThatLeavesCancelsItsRequest(t *testing.T) {
	canceled := make(chan time.Duration, 1)
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		select {
		case <-r.Context().Done():
			canceled <- time.Since(t0)
		case <-time.After(10 * time.Second):
			canceled <- -1
		}
	}))
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}")
	time.Sleep(100 * time.Millisecond)
	c.Close()
	d := <-canceled
	if d < 0 || d > watchAfter+watchEvery+time.Second {
		t.Fatalf("the request's context ended after %v, want within about %v", d, watchAfter+watchEvery)
	}
}

func TestAPipelinedRequestIsNotAGoneClient(t *testing.T) {
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-r.Context().Done():
				t.Error("the slow request was canceled while its client waited")
			case <-time.After(2 * watchAfter):
			}
		}
		io.WriteString(w, r.URL.Path)
	}))
	out := raw(t, base, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if !strings.Contains(out, "/slow") || !strings.HasSuffix(out, "/next") {
		t.Fatalf("answers: %q", out)
	}
}

func TestPanicsCloseTheConnectionAndAreLogged(t *testing.T) {
	var logged bytes.Buffer
	var mu sync.Mutex
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/abort" {
			panic(http.ErrAbortHandler)
		}
		panic("boom")
	}), func(s *Server) { s.ErrorLog = log.New(lockedWriter{&mu, &logged}, "", 0) })
	if out := raw(t, base, "GET /boom HTTP/1.1\r\nHost: a\r\n\r\n"); out != "" {
		t.Fatalf("answer after a panic: %q", out)
	}
	raw(t, base, "GET /abort HTTP/1.1\r\nHost: a\r\n\r\n")
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logged.String(), "panic serving") || !strings.Contains(logged.String(), "boom") ||
		strings.Count(logged.String(), "panic serving") != 1 {
		t.Fatalf("log: %q", logged.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestShutdownFinishesRequestsInFlight(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	base, s := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-release
		}
		io.WriteString(w, "done")
	}))
	// An idle keep-alive connection, and a request in flight.
	idle, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	io.WriteString(idle, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	br := bufio.NewReader(idle)
	if resp, err := http.ReadResponse(br, nil); err != nil {
		t.Fatal(err)
	} else {
		io.Copy(io.Discard, resp.Body)
	}
	answer := make(chan string, 1)
	go func() { answer <- raw(t, base, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n") }()
	<-entered
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: %v, want it closed by Shutdown", err)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	if out := <-answer; !strings.HasSuffix(out, "done") || !strings.Contains(out, "Connection: close") {
		t.Fatalf("in-flight answer: %q", out)
	}
	if _, err := net.Dial("tcp", strings.TrimPrefix(base, "http://")); err == nil {
		t.Fatal("the listener still accepts after Shutdown")
	}
}

func TestEarlyHintsAndContentLengthChecks(t *testing.T) {
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Content-Length", "3")
		w.WriteHeader(200)
		if _, err := io.WriteString(w, "toolong"); err != http.ErrContentLength {
			t.Errorf("writing past Content-Length: %v", err)
		}
		io.WriteString(w, "abc")
	}))
	out := raw(t, base, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(out, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\n") ||
		!strings.Contains(out, "Content-Length: 3\r\n") || !strings.HasSuffix(out, "\r\n\r\nabc") {
		t.Fatalf("answer: %q", out)
	}
}
