package h1

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestNoResendAfterCancel: a request whose context ends while it is being
// written is not sent again on the next idle connection (nor on every idle
// connection in turn, closing each).
func TestNoResendAfterCancel(t *testing.T) {
	var seen atomic.Int64
	u, _ := rawServer(t, func(ci, ri int) (string, bool) {
		seen.Add(1)
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false
	})
	tr := &Transport{}
	primeIdle(t, tr, u, 3)
	seen.Store(0)

	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, &cancellingReader{cancel: cancel, data: "{}"})
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = 2
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("{}")), nil }
	if resp, err := tr.RoundTrip(req); err == nil {
		resp.Body.Close()
		t.Fatal("a cancelled request succeeded")
	}
	time.Sleep(50 * time.Millisecond) // let a resent request reach the server
	if n := seen.Load(); n != 0 {
		t.Errorf("the server got %d requests after their context was cancelled, want 0", n)
	}
	if n := idleCount(tr, u); n != 2 {
		t.Errorf("%d idle connections left, want 2 (only the one written to is lost)", n)
	}
}

// TestNoResendOfABadBody: a body shorter than its ContentLength is the
// caller's error, not a connection failure; it must not be retried on
// every idle connection in turn.
func TestNoResendOfABadBody(t *testing.T) {
	u, _ := rawServer(t, func(ci, ri int) (string, bool) {
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false
	})
	tr := &Transport{}
	primeIdle(t, tr, u, 3)
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = 10
	if resp, err := tr.RoundTrip(req); err == nil {
		resp.Body.Close()
		t.Fatal("a short body was sent")
	}
	if n := idleCount(tr, u); n != 2 {
		t.Errorf("%d idle connections left, want 2", n)
	}
}

type cancellingReader struct {
	cancel context.CancelFunc
	data   string
	done   bool
}

func (r *cancellingReader) Read(p []byte) (int, error) {
	if r.done {
		return 0, io.EOF
	}
	r.done = true
	r.cancel()
	time.Sleep(20 * time.Millisecond) // the watch moves the deadline meanwhile
	return copy(p, r.data), io.EOF
}

// primeIdle leaves n idle connections to u in tr's pool.
func primeIdle(t *testing.T, tr *Transport, u string, n int) {
	t.Helper()
	var resps []*http.Response
	for range n {
		resp, err := post(t, tr, context.Background(), u, "{}")
		if err != nil {
			t.Fatal(err)
		}
		// Hold the body's headers: the connection stays busy, so the next
		// request dials; read the bodies afterwards.
		resps = append(resps, resp)
		if _, err := resp.Body.Read(make([]byte, 1)); err != nil && err != io.EOF {
			t.Fatal(err)
		}
	}
	for _, r := range resps {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	if got := idleCount(tr, u); got != n {
		t.Fatalf("primed %d idle connections, want %d", got, n)
	}
}

func idleCount(tr *Transport, u string) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for k, p := range tr.pools {
		if "http://"+k.host == u {
			p.mu.Lock()
			defer p.mu.Unlock()
			return len(p.idle)
		}
	}
	return 0
}
