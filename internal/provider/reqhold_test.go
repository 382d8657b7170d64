package provider

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"
	"unsafe"
)

// A stream waiting for its next event holds nothing of its request: not
// the pooled body (which its pool would otherwise never get to drop), not
// the bytes of a plain one.
func TestAStreamHoldsNoRequestBody(t *testing.T) {
	hold := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: 1\n\n")
		w.(http.Flusher).Flush()
		<-hold
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(hold) })
	u, err := ParseURL(srv.URL + "/v1/chat/completions")
	if err != nil {
		t.Fatal(err)
	}
	c := NewHTTPClient(HTTPOptions{}, false)
	posts := map[string]func(gone chan struct{}) (*http.Response, error){
		"pooled": func(gone chan struct{}) (*http.Response, error) {
			// Too large for the pool, so that only the request can keep it.
			rb := &RequestBody{B: make([]byte, 0, maxPooledRequest+1), refs: 1, poster: true}
			rb.B = append(rb.B, `{"stream":true}`...)
			runtime.AddCleanup(rb, func(ch chan struct{}) { close(ch) }, gone)
			return PostRequestBody(context.Background(), c, "p", u, nil, rb, nil)
		},
		"bytes": func(gone chan struct{}) (*http.Response, error) {
			b := []byte(`{"stream":true}`)
			runtime.AddCleanup(&b[0], func(ch chan struct{}) { close(ch) }, gone)
			return PostBytesURL(context.Background(), c, "p", u, nil, b, nil)
		},
	}
	for name, post := range posts {
		t.Run(name, func(t *testing.T) {
			gone := make(chan struct{})
			body := func() io.ReadCloser {
				resp, err := post(gone)
				if err != nil {
					t.Fatal(err)
				}
				return resp.Body
			}()
			defer body.Close()
			for done := false; !done; {
				runtime.GC()
				select {
				case <-gone:
					done = true
				case <-time.After(5 * time.Second):
					t.Fatal("the request's body is still alive while its response's is")
				}
			}
			p := make([]byte, 64)
			if n, err := io.ReadAtLeast(body, p, len("data: 1\n\n")); err != nil || string(p[:n]) != "data: 1\n\n" {
				t.Fatalf("first event: %q, %v", p[:n], err)
			}
		})
	}
}

// A request body's reader may be closed while a transport's other
// goroutine reads it: the read gets the bytes or an error, never the bytes
// of the buffer's next use, and nothing after the close (run with -race).
func TestARequestBodyClosedDuringARead(t *testing.T) {
	u, _ := ParseURL("http://h/x")
	for range 100 {
		rb := GetRequestBody()
		rb.B = append(rb.B, "request"...)
		pooled := newOutRequest(context.Background(), u, rb.B, rb, http.Header{})
		rb.Release()
		plain := newOutRequest(context.Background(), u, []byte("request"), nil, http.Header{})
		for _, req := range []*http.Request{pooled, plain} {
			done := make(chan string)
			go func() {
				b, _ := io.ReadAll(req.Body)
				done <- string(b)
			}()
			req.Body.Close()
			if got := <-done; got != "" && got != "request" {
				t.Fatalf("read %q", got)
			}
			if n, err := req.Body.Read(make([]byte, 8)); n != 0 || err == nil {
				t.Fatalf("a closed body read %d bytes, %v", n, err)
			}
		}
	}
}

// An outRequest, which a stream's response body keeps alive (it lives in
// its room), stays in the 352-byte size class.
func TestOutRequestSize(t *testing.T) {
	if n := unsafe.Sizeof(outRequest{}); n > 352 {
		t.Errorf("an outRequest is %d bytes, past the 352-byte class", n)
	}
}

// sendingTransport reads and sends a request's body as h1 does (Sent, then
// Close), and notes whether the pooled body was released then, before the
// response came.
type sendingTransport struct {
	rb       *RequestBody
	released bool
}

func (s *sendingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	io.ReadAll(req.Body)
	req.Body.(interface{ Sent() }).Sent()
	req.Body.Close()
	s.rb.mu.Lock()
	s.released = s.rb.refs == 0
	s.rb.mu.Unlock()
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: http.NoBody}, nil
}

// A request whose body was sent does not hold the pooled buffer while it
// waits for its response, and the post's end does not drop a hold twice.
func TestASentRequestHoldsNoBody(t *testing.T) {
	u, _ := ParseURL("http://h/x")
	rb := GetRequestBody()
	rb.B = append(rb.B, "{}"...)
	tr := &sendingTransport{rb: rb}
	if _, err := PostRequestBody(context.Background(), &http.Client{Transport: tr}, "p", u, nil, rb, nil); err != nil {
		t.Fatal(err)
	}
	rb.mu.Lock()
	refs := rb.refs
	rb.mu.Unlock()
	if !tr.released || refs != 0 {
		t.Errorf("released while waiting %v, holds after the post %d; want true, 0", tr.released, refs)
	}
}

// resendingTransport does what h1 does when a reused connection was dead
// before a byte left: it closes the first reader unsent, resends with a
// reader from GetBody, which it reads whole, tells Sent and closes; then
// it notes what GetBody gives once the body was sent.
type resendingTransport struct {
	rb           *RequestBody
	got          string
	getAfterSent error
}

func (s *resendingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req.Body.Close() // nothing written
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	b, _ := io.ReadAll(body)
	s.got = string(b)
	body.(interface{ Sent() }).Sent()
	body.Close()
	if r, err := req.GetBody(); err == nil {
		r.Close()
		s.getAfterSent = errors.New("GetBody gave a reader after the body was sent")
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: http.NoBody}, nil
}

// A resend of a request that never left reads the whole body, although
// the first reader was closed (the poster's hold keeps the buffer until
// the body is sent); once sent, the buffer is released exactly once, and
// no reader of it can be had any more.
func TestAResendBeforeTheBodyWasSent(t *testing.T) {
	u, _ := ParseURL("http://h/x")
	rb := GetRequestBody()
	rb.B = append(rb.B, `{"resent":true}`...)
	tr := &resendingTransport{rb: rb}
	if _, err := PostRequestBody(context.Background(), &http.Client{Transport: tr}, "p", u, nil, rb, nil); err != nil {
		t.Fatal(err)
	}
	if tr.got != `{"resent":true}` {
		t.Errorf("resent body %q", tr.got)
	}
	if tr.getAfterSent != nil {
		t.Error(tr.getAfterSent)
	}
	rb.mu.Lock()
	refs := rb.refs
	rb.mu.Unlock()
	if refs != 0 {
		t.Errorf("%d holds left after the post, want 0", refs)
	}
}
