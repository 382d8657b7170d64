package h1server

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestHTTP10KeepAliveAndCloseCloses: an HTTP/1.0 request that lists both
// keep-alive and close closes (net/http and RFC 9112 §9.3: close wins).
func TestHTTP10KeepAliveAndCloseCloses(t *testing.T) {
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !r.Close {
			t.Error("r.Close = false")
		}
		io.WriteString(w, "ok")
	}))
	out := raw(t, base, "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n")
	if !strings.Contains(out, "Connection: close\r\n") {
		t.Fatalf("answer: %q", out)
	}
}
