package h1server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The request's URL, body and header values, and the values set with
// SetHeaderValue, live in the response. A handler may keep the request,
// its header map or its response header map past its return: the next
// request on the connection must not change what it kept.
func TestKeptRequestsAndHeadersSurviveTheNextRequest(t *testing.T) {
	type kept struct {
		r    *http.Request
		resp http.Header
	}
	var (
		mu  sync.Mutex
		got []kept
	)
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := r.Header.Get("X-N")
		w.(interface{ SetHeaderValue(k, v string) }).SetHeaderValue("X-Echo", n)
		w.(interface{ SetHeaderValue(k, v string) }).SetHeaderValue("X-Other", "o"+n)
		w.Header().Add("X-Echo", "added") // must not overwrite X-Other's value
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, kept{r, w.Header()})
		mu.Unlock()
		fmt.Fprintf(w, "%s %s", n, b)
	}))
	var req strings.Builder
	for i := range 3 {
		body := "body" + strconv.Itoa(i)
		fmt.Fprintf(&req, "POST /p%d HTTP/1.1\r\nHost: x\r\nX-N: %d\r\nContent-Length: %d\r\n\r\n%s", i, i, len(body), body)
	}
	req.WriteString("GET /last HTTP/1.1\r\nHost: x\r\nX-N: 3\r\nConnection: close\r\n\r\n")
	out := raw(t, base, req.String())
	if n := strings.Count(out, "HTTP/1.1 200 OK"); n != 4 {
		t.Fatalf("%d answers, want 4:\n%s", n, out)
	}
	for _, want := range []string{"X-Echo: 1\r\nX-Echo: added\r\n", "X-Other: o1\r\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("answers lack %q:\n%s", want, out)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 4 {
		t.Fatalf("%d requests seen", len(got))
	}
	for i, k := range got {
		n := strconv.Itoa(i)
		if k.r.URL.Path != "/p"+n && i < 3 || k.r.Header.Get("X-N") != n || k.r.Context() == nil {
			t.Errorf("request %d kept as %s %v", i, k.r.URL.Path, k.r.Header)
		}
		if v := k.resp["X-Echo"]; fmt.Sprint(v) != "["+n+" added]" || k.resp.Get("X-Other") != "o"+n {
			t.Errorf("request %d: response headers kept as %v", i, k.resp)
		}
		if i < 3 {
			if _, err := k.r.Body.Read(make([]byte, 1)); err == nil {
				t.Errorf("request %d: a kept body still reads", i)
			}
		}
	}
}

// More values than the response's array holds still come out as set.
func TestManySetHeaderValues(t *testing.T) {
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := w.(interface{ SetHeaderValue(k, v string) })
		for i := range 40 {
			s.SetHeaderValue("X-H"+strconv.Itoa(i), strconv.Itoa(i))
		}
		s.SetHeaderValue("X-H0", "again") // a Set replaces
	}))
	out := raw(t, base, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	for i := 1; i < 40; i++ {
		if want := fmt.Sprintf("X-H%d: %d\r\n", i, i); !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if !strings.Contains(out, "X-H0: again\r\n") || strings.Contains(out, "X-H0: 0\r\n") {
		t.Errorf("X-H0 not replaced:\n%s", out)
	}
}

// SetTrailerValue sends what Header().Set would have, whatever the order
// of the two, and a trailer set before WriteHeader is a header, as with Set.
func TestSetTrailerValueIsHeaderSet(t *testing.T) {
	type setter = interface{ SetTrailerValue(k, v string) }
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts := w.(setter)
		h := w.Header()
		h.Set("Trailer", "X-A, X-B,X-C")
		h.Add("Trailer", "X-D")
		ts.SetTrailerValue("X-Early", "header") // before WriteHeader: a header
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("body"))
		ts.SetTrailerValue("X-A", "a1")
		ts.SetTrailerValue("X-A", "a2") // the last wins
		h.Set("X-B", "map")
		ts.SetTrailerValue("X-B", "b") // the map has it: set there
		ts.SetTrailerValue("X-C", "c1")
		h.Set("X-C", "c2") // a later Set wins
		ts.SetTrailerValue("X-D", "d")
		ts.SetTrailerValue("X-Undeclared", "u")
	}))
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	want := map[string]string{"X-A": "a2", "X-B": "b", "X-C": "c2", "X-D": "d", "X-Undeclared": ""}
	for k, v := range want {
		if got := resp.Trailer.Get(k); got != v {
			t.Errorf("trailer %s = %q, want %q (%v)", k, got, v, resp.Trailer)
		}
	}
	if resp.Header.Get("X-Early") != "header" {
		t.Errorf("X-Early = %q, want a header", resp.Header.Get("X-Early"))
	}
}

type ctxKey struct{}

// RequestWithContext gives the server's request a context in place; any
// other request gets WithContext's copy.
func TestRequestWithContext(t *testing.T) {
	type setter = interface {
		RequestWithContext(*http.Request, context.Context) *http.Request
	}
	errc := make(chan string, 1)
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs := w.(setter)
		ctx := context.WithValue(r.Context(), ctxKey{}, "v")
		other := r.WithContext(r.Context())
		switch {
		case cs.RequestWithContext(r, ctx) != r || r.Context().Value(ctxKey{}) != "v":
			errc <- "the server's request did not take the context in place"
		case cs.RequestWithContext(other, ctx) == other || other.Context().Value(ctxKey{}) != nil:
			errc <- "another request was changed"
		case r.Header.Get("X-A") != "a" || r.URL.Path != "/p":
			errc <- "the request lost its fields"
		default:
			errc <- ""
		}
	}))
	raw(t, base, "GET /p HTTP/1.1\r\nHost: x\r\nX-A: a\r\nConnection: close\r\n\r\n")
	if msg := <-errc; msg != "" {
		t.Error(msg)
	}
}

// Keys are canonicalised, as by Header().Set.
func TestSetValueKeysAreCanonical(t *testing.T) {
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.(interface{ SetHeaderValue(k, v string) }).SetHeaderValue("x-lower-case", "h")
		w.Header().Set("Trailer", "X-Cost")
		w.WriteHeader(http.StatusOK)
		w.(interface{ SetTrailerValue(k, v string) }).SetTrailerValue("x-cost", "t")
		if got := w.Header()["X-Lower-Case"]; len(got) != 1 || got[0] != "h" {
			t.Errorf("header map %v", w.Header())
		}
	}))
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("X-Lower-Case") != "h" || resp.Trailer.Get("X-Cost") != "t" {
		t.Errorf("header %v, trailer %v", resp.Header, resp.Trailer)
	}
}
