package h1server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// contFunc is a Continuation made of a function.
type contFunc func()

func (f contFunc) Continue() { f() }

// TestAContinuationRunsAfterTheHandler: what a handler leaves to Continue
// runs once the handler's frames are gone, with the answer still open and
// the request's context alive; the answer then ends as a handler's would,
// trailers included, and the connection carries the next request.
func TestAContinuationRunsAfterTheHandler(t *testing.T) {
	type seen struct {
		handlerDone bool
		ctxErr      error
		inHandler   bool // ServeHTTP's frame was on the stack
		again       bool // a second Continue was accepted
	}
	var mu sync.Mutex
	var got []seen
	var ctxs []context.Context
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Cost")
		io.WriteString(w, "a")
		handlerDone := false
		k := contFunc(func() {
			var s seen
			s.handlerDone, s.ctxErr = handlerDone, r.Context().Err()
			buf := make([]byte, 16<<10)
			s.inHandler = strings.Contains(string(buf[:runtime.Stack(buf, false)]), "TestAContinuationRunsAfterTheHandler.func1(")
			s.again = w.(*response).Continue(contFunc(func() {}))
			io.WriteString(w, "b")
			http.NewResponseController(w).Flush()
			io.WriteString(w, "c")
			w.Header().Set("X-Cost", "0.5")
			mu.Lock()
			got, ctxs = append(got, s), append(ctxs, r.Context())
			mu.Unlock()
		})
		if !w.(*response).Continue(k) {
			t.Error("Continue refused in the handler")
		}
		handlerDone = true
	}))
	cl := &http.Client{Transport: &http.Transport{}}
	defer cl.CloseIdleConnections()
	for i := range 2 {
		resp, err := cl.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "abc" || resp.Trailer.Get("X-Cost") != "0.5" {
			t.Errorf("request %d: body %q, trailer X-Cost %q; want abc and 0.5", i, b, resp.Trailer.Get("X-Cost"))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("%d continuations ran, want 2", len(got))
	}
	for i, s := range got {
		if !s.handlerDone || s.ctxErr != nil || s.inHandler || s.again {
			t.Errorf("continuation %d: handler returned %v, context error %v, handler on the stack %v, second Continue accepted %v; want true, nil, false, false",
				i, s.handlerDone, s.ctxErr, s.inHandler, s.again)
		}
		if ctxs[i].Err() == nil {
			t.Errorf("request %d: its context is still live after the answer", i)
		}
	}
}

// TestContinueAfterReturnIsRefused: a handler's goroutine cannot leave a
// continuation once the handler returned; the server is past it.
func TestContinueAfterReturnIsRefused(t *testing.T) {
	ok := make(chan bool, 1)
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		go func() {
			for !w.(*response).returned.Load() {
				time.Sleep(time.Millisecond)
			}
			ok <- w.(*response).Continue(contFunc(func() { panic("ran") }))
		}()
		io.WriteString(w, "x")
	}))
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	if <-ok {
		t.Error("Continue after the handler returned was accepted")
	}
}

// TestAPanickingContinuationClosesTheConnection: a continuation's panic is
// the handler's: logged, the connection closed, the server serving on.
func TestAPanickingContinuationClosesTheConnection(t *testing.T) {
	var logged bytes.Buffer
	var mu sync.Mutex
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ok" {
			io.WriteString(w, "ok")
			return
		}
		w.(*response).Continue(contFunc(func() { panic("relay boom") }))
	}), func(s *Server) { s.ErrorLog = log.New(lockedWriter{&mu, &logged}, "", 0) })
	if out := raw(t, base, "GET /boom HTTP/1.1\r\nHost: a\r\n\r\n"); out != "" {
		t.Fatalf("answer after a panic: %q", out)
	}
	if out := raw(t, base, "GET /ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"); !strings.HasSuffix(out, "ok") {
		t.Fatalf("the next connection got %q", out)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(logged.String(), "panic serving"); n != 1 || !strings.Contains(logged.String(), "relay boom") {
		t.Fatalf("log: %q", logged.String())
	}
}

// abandonable is a Continuation that records whether it ran or was
// abandoned.
type abandonable struct{ ran, abandoned atomic.Bool }

func (a *abandonable) Continue() { a.ran.Store(true) }
func (a *abandonable) Abandon()  { a.abandoned.Store(true) }

// TestAContinuationIsAbandonedWhenItsHandlerPanics: a handler that panics
// after Continue closes the connection as any panic does; its
// continuation does not run, and is told so (a relay then closes its
// upstream stream, which settles the request).
func TestAContinuationIsAbandonedWhenItsHandlerPanics(t *testing.T) {
	for _, v := range []any{http.ErrAbortHandler, "boom"} {
		k := new(abandonable)
		base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.(*response).Continue(k)
			panic(v)
		}))
		if out := raw(t, base, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"); out != "" {
			t.Fatalf("panic %v: answer %q", v, out)
		}
		if k.ran.Load() || !k.abandoned.Load() {
			t.Errorf("panic %v: continuation ran %v, abandoned %v; want false, true", v, k.ran.Load(), k.abandoned.Load())
		}
	}
}

// TestAContinuationRunsOnAGoroutineOfItsOwn: the connection is handed over
// to a new goroutine for the continuation and the requests after it, and
// the handler's goroutine ends, so that its stack, which the handler's
// frames grew, is not the one a long continuation waits on. The handler's
// goroutine is gone before the continuation ends, and the requests after
// it are served (and handed over again). Here every continuation is
// handed over (inlineContinuations -1), as when many are in flight.
func TestAContinuationRunsOnAGoroutineOfItsOwn(t *testing.T) {
	goid := func() string {
		buf := make([]byte, 64)
		f := strings.Fields(string(buf[:runtime.Stack(buf, false)]))
		return f[1] // "goroutine N [running]:"
	}
	alive := func(id string) bool {
		buf := make([]byte, 1<<20)
		return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "goroutine "+id+" [")
	}
	type ids struct{ handler, cont string }
	var mu sync.Mutex
	var got []ids
	var handlerGone []bool
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := goid()
		w.(*response).Continue(contFunc(func() {
			c := goid()
			gone := false
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				if !alive(h) {
					gone = true
					break
				}
			}
			io.WriteString(w, "ok")
			mu.Lock()
			got, handlerGone = append(got, ids{h, c}), append(handlerGone, gone)
			mu.Unlock()
		}))
	}), func(s *Server) { s.inlineContinuations = -1 })
	cl := &http.Client{Transport: &http.Transport{}}
	defer cl.CloseIdleConnections()
	for i := range 3 {
		resp, err := cl.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "ok" {
			t.Fatalf("request %d: body %q, want ok", i, b)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for i, g := range got {
		if g.handler == g.cont {
			t.Errorf("request %d: the continuation ran on its handler's goroutine %s", i, g.handler)
		}
		if !handlerGone[i] {
			t.Errorf("request %d: the handler's goroutine %s lived on beside its continuation", i, g.handler)
		}
		if i > 0 && g.handler != got[i-1].cont {
			t.Errorf("request %d: handled on goroutine %s, want the connection's, %s", i, g.handler, got[i-1].cont)
		}
	}
}

// TestFewContinuationsRunOnTheirHandlersGoroutine: up to
// inlineContinuations continuations in flight run on their handler's
// goroutine (no goroutine to start, no stack to copy); beyond that they
// are handed over. The count comes back to zero when continuations end,
// panicking ones included, and is not taken by a continuation abandoned
// because its handler panicked.
func TestFewContinuationsRunOnTheirHandlersGoroutine(t *testing.T) {
	goid := func() string {
		buf := make([]byte, 64)
		return strings.Fields(string(buf[:runtime.Stack(buf, false)]))[1]
	}
	release := make(chan struct{})
	held := make(chan struct{})
	var mu sync.Mutex
	same := map[string]bool{} // path: the continuation ran on its handler's goroutine
	base, srv := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := goid()
		defer func() {
			if r.URL.Path == "/abandon" {
				panic("after Continue")
			}
		}()
		w.(*response).Continue(contFunc(func() {
			mu.Lock()
			same[r.URL.Path] = goid() == h
			mu.Unlock()
			switch r.URL.Path {
			case "/hold":
				close(held)
				<-release
			case "/panic":
				panic("boom")
			}
			io.WriteString(w, "ok")
		}))
	}), func(s *Server) { s.inlineContinuations = 1 })
	get := func(path string) error {
		cl := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := cl.Get(base + path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if b, _ := io.ReadAll(resp.Body); string(b) != "ok" {
			return fmt.Errorf("%s: body %q", path, b)
		}
		return nil
	}
	errc := make(chan error, 1)
	go func() { errc <- get("/hold") }()
	<-held
	err := get("/beside") // a second continuation while /hold's runs
	close(release)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if err := get("/after"); err != nil {
		t.Fatal(err)
	}
	get("/panic")   // the connection is cut
	get("/abandon") // likewise; the continuation never runs
	if err := get("/last"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if _, ran := same["/abandon"]; ran {
		t.Error("/abandon: the continuation of a panicking handler ran")
	}
	want := map[string]bool{"/hold": true, "/beside": false, "/after": true, "/panic": true, "/last": true}
	for path, w := range want {
		if got, ok := same[path]; !ok || got != w {
			t.Errorf("%s: ran on its handler's goroutine %v (seen %v), want %v", path, got, ok, w)
		}
	}
	if n := srv.continuing.Load(); n != 0 {
		t.Errorf("continuations in flight after all ended: %d", n)
	}
}
