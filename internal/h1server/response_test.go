package h1server

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestTrailersSurviveAnUnflushedAnswer: a handler that declares a trailer
// and never flushes (the gateway's stream when every chunk arrived at
// once) must still deliver the trailer: the answer goes chunked, as with
// net/http, not with a Content-Length that has no room for trailers.
func TestTrailersSurviveAnUnflushedAnswer(t *testing.T) {
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Cost")
		io.WriteString(w, "data: [DONE]\n\n")
		w.Header().Set("X-Cost", "0.25")
		w.Header().Set(http.TrailerPrefix+"X-Late", "yes")
	}))
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "data: [DONE]\n\n" {
		t.Fatalf("body %q", b)
	}
	if got, got2 := resp.Trailer.Get("X-Cost"), resp.Trailer.Get("X-Late"); got != "0.25" || got2 != "yes" {
		t.Fatalf("trailers X-Cost=%q X-Late=%q (length %d, %v), want 0.25 and yes", got, got2, resp.ContentLength, resp.TransferEncoding)
	}
}

// TestNoSniffingOfEncodedBodies: with a Content-Encoding, the bytes are
// not what a Content-Type describes: net/http does not sniff them.
func TestNoSniffingOfEncodedBodies(t *testing.T) {
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write([]byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"))
	}))
	out := raw(t, base, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if strings.Contains(out, "Content-Type") {
		t.Fatalf("answer: %q", out)
	}
}

// TestHeadAnswersAreSniffedAsGetAnswers: HEAD gets the Content-Type a
// GET would (RFC 9110 §9.3.2; net/http sniffs what a HEAD handler writes).
func TestHeadAnswersAreSniffedAsGetAnswers(t *testing.T) {
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<html><body>hi</body></html>")
	}))
	out := raw(t, base, "HEAD / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if !strings.Contains(out, "Content-Type: text/html; charset=utf-8\r\n") {
		t.Fatalf("answer: %q", out)
	}
}
