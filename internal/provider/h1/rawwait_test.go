//go:build unix

package h1

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// waitingHook sets onWait to signal, once per test, that a raw wait blocks.
func waitingHook(t *testing.T) <-chan struct{} {
	t.Helper()
	ch := make(chan struct{}, 1)
	onWait = func(_ *persistConn, head bool) {
		if head {
			return // the wait for the response, not for more of its body
		}
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	t.Cleanup(func() { onWait = nil })
	return ch
}

// writeChunk writes s as one chunk of a chunked body.
func writeChunk(w io.Writer, s string) { fmt.Fprintf(w, "%x\r\n%s\r\n", len(s), s) }

// oneEventServer serves streams that send the event "data: 1" and then
// hold their connection open until the test ends.
func oneEventServer(t *testing.T) string {
	t.Helper()
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	return chunkServer(t, func(c net.Conn) {
		writeChunk(c, "data: 1\n\n")
		<-hold
	})
}

// firstEvent starts a chunked stream on u and reads its first event.
func firstEvent(t *testing.T, tr *Transport, ctx context.Context, u string) *body {
	t.Helper()
	resp, err := post(t, tr, ctx, u, "{}")
	if err != nil {
		t.Fatal(err)
	}
	b := resp.Body.(*body)
	t.Cleanup(func() { b.Close() })
	p := make([]byte, 64)
	if n, err := io.ReadAtLeast(b, p, len("data: 1\n\n")); err != nil {
		t.Fatalf("first event: %q, %v", p[:n], err)
	}
	return b
}

// Close while a stream waits on the socket (not in a buffer) ends the wait
// and closes the connection; nothing is pooled.
func TestCloseDuringARawWait(t *testing.T) {
	u := oneEventServer(t)
	waiting := waitingHook(t)
	tr := &Transport{}
	b := firstEvent(t, tr, context.Background(), u)
	done := make(chan struct{})
	go func() { b.WaitData(); close(done) }()
	<-waiting
	b.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("WaitData still waiting after Close")
	}
	if _, err := b.Read(make([]byte, 8)); err != http.ErrBodyReadAfterClose {
		t.Errorf("Read after Close = %v", err)
	}
	p := tr.pool(mustURL(t, u))
	p.mu.Lock()
	idle := len(p.idle)
	p.mu.Unlock()
	if idle != 0 {
		t.Errorf("%d idle connections after Close interrupted a wait, want 0", idle)
	}
	if _, err := b.pc.conn.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write on the connection after Close = %v, want net.ErrClosed", err)
	}
}

// A deadline that ends a raw wait reads as net.Conn.Read's would: one
// "read tcp a->b: ..." error, a timeout, os.ErrDeadlineExceeded inside.
func TestRawWaitDeadlineIsATimeout(t *testing.T) {
	u := oneEventServer(t)
	b := firstEvent(t, &Transport{}, context.Background(), u)
	if b.pc.raw == nil {
		t.Fatal("plain TCP connection without a RawConn")
	}
	b.pc.conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	err := b.pc.waitData()
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("waitData = %v, want os.ErrDeadlineExceeded", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("waitData = %v, not a net.Error timeout", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "read tcp ") || strings.Count(msg, "tcp") != 1 {
		t.Errorf("wait error reads %q, want net's one \"read tcp a->b: ...\"", msg)
	}
	if _, rerr := (connSource{b.pc}).Read(make([]byte, 8)); rerr != err {
		t.Fatalf("next read = %v, want the wait's %v", rerr, err)
	}
}

// Cancelling the request during a raw wait surfaces as the context's error.
func TestCancelDuringARawWait(t *testing.T) {
	u := oneEventServer(t)
	waiting := waitingHook(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := firstEvent(t, &Transport{}, ctx, u)
	go func() { <-waiting; cancel() }()
	b.WaitData()
	if _, err := b.Read(make([]byte, 8)); err != context.Canceled {
		t.Fatalf("Read after a cancelled wait = %v, want context.Canceled", err)
	}
}

// A stream whose terminator a wait stashed, closed without reading it,
// drains from the stash and pools its connection for the next request.
func TestDrainTakesTheStash(t *testing.T) {
	u := chunkServer(t, func(c net.Conn) {
		writeChunk(c, "data: 1\n\n")
		time.Sleep(20 * time.Millisecond)
		io.WriteString(c, "0\r\n\r\n")
		io.Copy(io.Discard, c)
	})
	tr := &Transport{}
	b := firstEvent(t, tr, context.Background(), u)
	b.WaitData()
	if b.pc.buffered() != 5 || b.pc.stash == nil {
		t.Fatalf("after the wait: %d bytes held, stash %v; want the 5-byte terminator stashed", b.pc.buffered(), b.pc.stash != nil)
	}
	b.Close()
	pc := idleConn(t, tr, u)
	if pc != b.pc || pc.br != nil || pc.stash != nil {
		t.Fatalf("pooled %v, holding br %v stash %v", pc == b.pc, pc.br != nil, pc.stash != nil)
	}
}

// A body delimited by the connection's close ends cleanly when the close
// arrives during a raw wait, with every byte before it.
func TestCloseDelimitedEndsDuringAWait(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	waiting := waitingHook(t)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 4096)
		c.Read(buf) // the request (small)
		io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\ndata: 1\n\n")
		<-waiting
		io.WriteString(c, "data: 2\n\n")
		time.Sleep(20 * time.Millisecond)
	}()
	resp, err := post(t, &Transport{}, context.Background(), "http://"+ln.Addr().String(), "{}")
	if err != nil {
		t.Fatal(err)
	}
	b := resp.Body.(*body)
	defer b.Close()
	var got []byte
	p := make([]byte, 64)
	for {
		b.WaitData()
		n, err := b.Read(p)
		got = append(got, p[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
	}
	if string(got) != "data: 1\n\ndata: 2\n\n" {
		t.Fatalf("body %q", got)
	}
}

// Close racing a raw wait at every point: the wait always ends, and the
// connection is always closed, never pooled.
func TestCloseRacesARawWait(t *testing.T) {
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	u := chunkServer(t, func(c net.Conn) {
		writeChunk(c, "data: 1\n\n")
		time.Sleep(time.Duration(time.Now().UnixNano()%300) * time.Microsecond)
		writeChunk(c, "data: 2\n\n")
		<-hold
	})
	tr := &Transport{}
	for i := range 100 {
		b := firstEvent(t, tr, context.Background(), u)
		done := make(chan struct{})
		go func() { b.WaitData(); close(done) }()
		time.Sleep(time.Duration(i*7%250) * time.Microsecond)
		b.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("iteration %d: WaitData still waiting after Close", i)
		}
		b.mu.Lock()
		finished := b.finished
		b.mu.Unlock()
		if !finished {
			t.Fatalf("iteration %d: the body kept its connection", i)
		}
	}
	p := tr.pool(mustURL(t, u))
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) != 0 {
		t.Errorf("%d idle connections, want 0: every stream was cut mid-way", len(p.idle))
	}
}
