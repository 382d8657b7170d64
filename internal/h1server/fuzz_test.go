package h1server

import (
	"bufio"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseHead: every head this server accepts, net/http accepts too, and
// both read the same method, target, version, headers, host and
// keep-alive decision from it. (This server refuses more: obsolete line
// folding, control characters in values, duplicate Host headers.)
func FuzzParseHead(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAuthorization: Bearer x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n",
		"GET /a%20b?x=1&y=%2F HTTP/1.0\r\nx-lower: v\r\nConnection: keep-alive\r\n\r\n",
		"GET http://example.com/p HTTP/1.1\r\nHost: other\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\nConnection: close, foo\r\n\r\n",
		"GET / HTTP/1.1\nHost: a\n\n",
		"GET /\x00 HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, head string) {
		if !strings.HasSuffix(head, "\n\n") && !strings.HasSuffix(head, "\r\n\r\n") {
			// parseHead gets whole heads only. Completing the input rather
			// than skipping it matters: skipped, nearly every mutation was
			// wasted and the fuzzer found no new coverage at all.
			head += "\r\n\r\n"
		}
		c := &conn{br: bufio.NewReader(strings.NewReader(""))}
		w := &response{c: c, declared: -1}
		if err := w.parseHead(head); err != nil {
			return
		}
		if err := c.prepareBody(w); err != nil {
			return
		}
		ours := w.tmpl
		theirs, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head)))
		if err != nil {
			t.Fatalf("accepted what net/http refuses (%v): %q", err, head)
		}
		if ours.Method != theirs.Method || ours.RequestURI != theirs.RequestURI || ours.Proto != theirs.Proto ||
			ours.Host != theirs.Host || ours.Close != theirs.Close || ours.URL.String() != theirs.URL.String() ||
			ours.URL.Path != theirs.URL.Path || ours.URL.RawQuery != theirs.URL.RawQuery ||
			ours.ContentLength != theirs.ContentLength {
			t.Fatalf("head %q:\nours   %s %s %s host=%q close=%v url=%q\ntheirs %s %s %s host=%q close=%v url=%q", head,
				ours.Method, ours.RequestURI, ours.Proto, ours.Host, ours.Close, ours.URL,
				theirs.Method, theirs.RequestURI, theirs.Proto, theirs.Host, theirs.Close, theirs.URL)
		}
		// net/http strips these while reading the body's framing; this
		// server does so in prepareBody.
		for _, k := range []string{"Transfer-Encoding"} {
			delete(theirs.Header, k)
			delete(ours.Header, k)
		}
		if len(ours.Header) != len(theirs.Header) || len(ours.Header) > 0 && !reflect.DeepEqual(ours.Header, theirs.Header) {
			t.Fatalf("head %q:\nours   %q\ntheirs %q", head, ours.Header, theirs.Header)
		}
	})
}
