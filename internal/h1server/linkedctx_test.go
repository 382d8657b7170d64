package h1server

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh/internal/cancelctx"
)

type scopeKey struct{}

// The contexts a handler derives from its request's context, as the
// gateway does (a cancelctx.Ctx linked through a value-only scope, and a
// standard one beside it), end when the client leaves.
func TestAClientThatLeavesEndsDerivedContexts(t *testing.T) {
	type ends struct{ linked, std context.Context }
	got := make(chan ends, 1)
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scope := context.WithValue(r.Context(), scopeKey{}, 1)
		linked := cancelctx.New(scope)
		std, cancel := context.WithCancel(scope)
		defer cancel()
		select {
		case <-linked.Done():
		case <-time.After(10 * time.Second):
		}
		select {
		case <-std.Done():
		case <-time.After(time.Second):
		}
		got <- ends{linked, std}
	}))
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}")
	time.Sleep(100 * time.Millisecond)
	c.Close()
	e := <-got
	if e.linked.Err() != context.Canceled || e.std.Err() != context.Canceled {
		t.Fatalf("after the client left: linked Err %v, standard Err %v; want context.Canceled", e.linked.Err(), e.std.Err())
	}
}

// A derived context still held when the handler returns ends then.
func TestTheHandlersReturnEndsDerivedContexts(t *testing.T) {
	kept := make(chan context.Context, 1)
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kept <- cancelctx.New(context.WithValue(r.Context(), scopeKey{}, 1))
		io.WriteString(w, "ok")
	}))
	if out := raw(t, base, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"); !strings.HasSuffix(out, "ok") {
		t.Fatalf("answer: %q", out)
	}
	if ctx := <-kept; ctx.Err() != context.Canceled {
		t.Errorf("Err after the handler returned = %v, want context.Canceled", ctx.Err())
	}
}
