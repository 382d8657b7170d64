//go:build unix

package h1

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// A stream waiting for its next event holds no read buffer and no stash,
// and every byte still arrives, in order: events of a few bytes and one
// larger than the stash, which the stash hands over in part and the
// connection the rest. At the end the connection goes back to the pool
// holding no buffer either.
func TestAWaitingStreamHoldsNoBuffer(t *testing.T) {
	next := make(chan struct{}, 1)
	events := []string{"data: 2\n\n", "data: " + strings.Repeat("x", 10<<10) + "\n\n", "data: [DONE]\n\n"}
	u := chunkServer(t, func(c net.Conn) {
		writeChunk(c, "data: 1\n\n")
		for _, e := range events {
			<-next
			writeChunk(c, e)
		}
		<-next
		io.WriteString(c, "0\r\n\r\n")
	})
	waits, bare := 0, 0
	onWait = func(pc *persistConn, _ bool) {
		waits++
		if pc.br == nil && pc.stash == nil {
			bare++
		}
		select {
		case next <- struct{}{}: // the server sends once the client waits
		default:
		}
	}
	t.Cleanup(func() { onWait = nil })

	tr := &Transport{}
	resp, err := post(t, tr, context.Background(), u, "{}")
	if err != nil {
		t.Fatal(err)
	}
	b := resp.Body.(*body)
	var got bytes.Buffer
	p := make([]byte, 512)
	for {
		b.WaitData()
		n, err := b.Read(p)
		got.Write(p[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
	}
	if want := "data: 1\n\n" + strings.Join(events, ""); got.String() != want {
		t.Fatalf("body is %d bytes, want %d; differs: %v", got.Len(), len(want), got.String() != want)
	}
	if waits < len(events)+1 || bare != waits {
		t.Errorf("%d waits, %d of them holding no buffer; want at least %d, all bare", waits, bare, len(events)+1)
	}
	pc := idleConn(t, tr, u)
	if pc.br != nil || pc.stash != nil {
		t.Errorf("the pooled connection holds a read buffer (%v) or a stash (%v)", pc.br != nil, pc.stash != nil)
	}
}

// idleConn returns the one idle connection pooled for u.
func idleConn(t *testing.T, tr *Transport, u string) *persistConn {
	t.Helper()
	p := tr.pool(mustURL(t, u))
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) != 1 {
		t.Fatalf("%d idle connections, want 1", len(p.idle))
	}
	return p.idle[0]
}

// A server that closes inside a chunked body during a wait is an
// unexpected EOF for the next read, as for a read that met the close.
// (Cancellation during a wait: TestCancelDuringARawWait.)
func TestAServerCloseDuringAWaitIsUnexpectedEOF(t *testing.T) {
	waiting := waitingHook(t)
	u := chunkServer(t, func(c net.Conn) {
		writeChunk(c, "data: 1\n\n")
		<-waiting
		c.Close()
	})
	b := firstEvent(t, &Transport{}, context.Background(), u)
	deadline := time.AfterFunc(10*time.Second, func() { b.Close() })
	defer deadline.Stop()
	b.WaitData()
	if _, err := b.Read(make([]byte, 64)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Read after the wait = %v, want %v", err, io.ErrUnexpectedEOF)
	}
}

// A fast upstream's whole short answer, head and events sent together,
// comes out of the body in one Read, though it is larger than a read
// buffer: the wait for the head took it in one read into a large stash,
// and the body reads on from the stash. A relay then sends it on in one
// write.
func TestABurstIsReadWhole(t *testing.T) {
	var events strings.Builder
	var wire strings.Builder
	for i := range 40 {
		e := fmt.Sprintf("data: {\"i\":%d,\"pad\":%q}\n\n", i, strings.Repeat("x", 120))
		events.WriteString(e)
		writeChunk(&wire, e)
	}
	if events.Len() <= 4<<10 || wire.Len() >= 15<<10 {
		t.Fatalf("the burst is %d bytes (%d on the wire); want more than a read buffer, less than a large stash", events.Len(), wire.Len())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Read(make([]byte, 4096)) // the request (small)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"+wire.String()+"0\r\n\r\n")
		time.Sleep(time.Second)
	}()
	resp, err := post(t, &Transport{}, context.Background(), "http://"+ln.Addr().String(), "{}")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := make([]byte, 32<<10)
	n, err := resp.Body.Read(p)
	if string(p[:n]) != events.String() || (err != nil && err != io.EOF) {
		t.Fatalf("first Read = %d bytes, %v; want all %d bytes of events", n, err, events.Len())
	}
}
