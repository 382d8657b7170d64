package h1

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"
)

// A connection's watch is reused from one request to the next. Neither the
// earlier request's context nor its finished body may reach the request
// the connection carries next: cancelling the first context must not
// abort the second request, a late Close of the first body must not
// unregister the second's watch, and cancelling the second context must
// still abort it promptly.
func TestAReusedWatchBelongsToTheNextRequest(t *testing.T) {
	for _, k := range cancelKinds {
		t.Run(k.name, func(t *testing.T) { testAReusedWatchBelongsToTheNextRequest(t, k.new) })
	}
}

func testAReusedWatchBelongsToTheNextRequest(t *testing.T, newCtx func() (context.Context, context.CancelFunc)) {
	release := make(chan struct{})
	srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/first" {
			io.WriteString(w, "first")
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: 1\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
			io.WriteString(w, "data: 2\n\n")
			w.(http.Flusher).Flush()
		case <-r.Context().Done():
		}
		<-r.Context().Done()
	})
	tr := &Transport{}

	ctx1, cancel1 := newCtx()
	defer cancel1()
	resp1, err := post(t, tr, ctx1, srv.URL+"/first", "{}")
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, resp1); got != "first" {
		t.Fatalf("first body %q", got)
	}

	// The second request, on the same connection, reads its first event.
	ctx2, cancel2 := newCtx()
	defer cancel2()
	resp2, err := post(t, tr, ctx2, srv.URL+"/second", "{}")
	if err != nil {
		t.Fatal(err)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections, want the first one reused", n)
	}
	buf := make([]byte, 64)
	if n, err := resp2.Body.Read(buf); err != nil || string(buf[:n]) != "data: 1\n\n" {
		t.Fatalf("first event %q, %v", buf[:n], err)
	}

	// The first request's leftovers reach nothing of the second.
	cancel1()
	resp1.Body.Close()
	close(release)
	if n, err := io.ReadFull(resp2.Body, buf[:9]); err != nil || string(buf[:n]) != "data: 2\n\n" {
		t.Fatalf("after the first request's cancel: %q, %v", buf[:n], err)
	}

	// Its own cancel still interrupts a blocked read.
	errc := make(chan error, 1)
	go func() {
		_, err := resp2.Body.Read(buf)
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cancel2()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Read after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(time.Second):
		t.Fatal("cancel did not interrupt the blocked Read of the reused connection")
	}
	resp2.Body.Close()
}
