package provider

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A pooled body reaches the upstream whole, and goes back to the pool once
// the post is done.
func TestPostRequestBody(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r.Header.Get("Content-Type") + " " + string(b)
		io.WriteString(w, "{}")
	}))
	defer srv.Close()
	u, err := ParseURL(srv.URL + "/v1/chat/completions")
	if err != nil {
		t.Fatal(err)
	}
	c := NewHTTPClient(HTTPOptions{}, false)
	for i := range 3 {
		rb := GetRequestBody()
		rb.B = append(rb.B, `{"n":`...)
		rb.B = append(rb.B, byte('0'+i))
		rb.B = append(rb.B, '}')
		resp, err := PostRequestBody(context.Background(), c, "p", u, nil, rb, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if g, want := <-got, "application/json {\"n\":"+string(rune('0'+i))+"}"; g != want {
			t.Fatalf("upstream got %q, want %q", g, want)
		}
		rb.mu.Lock()
		refs := rb.refs
		rb.mu.Unlock()
		if refs != 0 {
			t.Fatalf("%d holds left on the body after the post", refs)
		}
	}
}

// A pooled body is not reused while a transport's reader is open, and a
// reader (or a resend's GetBody) of an earlier use cannot read the bytes
// of the body's next use.
func TestRequestBodyIsNotReadAfterItsRelease(t *testing.T) {
	u, _ := ParseURL("http://h/x")
	rb := GetRequestBody()
	rb.B = append(rb.B, "first request"...)
	req := newOutRequest(context.Background(), u, rb.B, rb, http.Header{})
	resend, err := req.GetBody()
	if err != nil {
		t.Fatal(err)
	}
	rb.unref() // the poster is done; the transport still reads
	if b, err := io.ReadAll(req.Body); string(b) != "first request" || err != nil {
		t.Fatalf("read %q, %v", b, err)
	}
	req.Body.Close()
	req.Body.Close() // a second close gives up nothing more
	if rb.refs != 1 {
		t.Fatalf("refs %d with the resend's reader open, want 1", rb.refs)
	}
	resend.Close()
	if rb.refs != 0 {
		t.Fatalf("refs %d after every reader closed, want 0", rb.refs)
	}

	// The buffer's next use (as GetRequestBody would hand it out again).
	rb.mu.Lock()
	rb.refs = 1
	rb.B = append(rb.B[:0], "SECOND secret"...)
	rb.mu.Unlock()
	if n, err := req.Body.Read(make([]byte, 64)); n != 0 || err == nil {
		t.Fatalf("a closed reader read %d bytes, %v", n, err)
	}
	if n, err := resend.Read(make([]byte, 64)); n != 0 || err == nil {
		t.Fatalf("a closed resend reader read %d bytes, %v", n, err)
	}
	if r, err := req.GetBody(); err == nil {
		b, _ := io.ReadAll(r)
		t.Fatalf("GetBody of the earlier use succeeded, reading %q", b)
	}
	if rb.refs != 1 {
		t.Fatalf("the earlier use changed the next one's holds: %d", rb.refs)
	}
}
