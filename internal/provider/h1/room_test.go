//go:build unix

package h1

import (
	"context"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// roomBody is a request body that lends a BodyRoom, as the provider
// package's request bodies do.
type roomBody struct {
	io.Reader
	room BodyRoom
}

func (*roomBody) Close() error          { return nil }
func (b *roomBody) BodyRoom() *BodyRoom { return &b.room }

// A response's body lives in the room its request's body lends, and
// holds neither the response's head nor the request: a stream waiting for
// its next token keeps only what it reads with.
func TestABodyInItsRoomHoldsNoHeadNorRequest(t *testing.T) {
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	u := chunkServer(t, func(c net.Conn) {
		writeChunk(c, "data: 1\n\n")
		<-hold
	})
	tr := &Transport{}
	gone := make(chan struct{}, 2)
	b, room := func() (io.ReadCloser, *BodyRoom) {
		rb := &roomBody{Reader: strings.NewReader("{}")}
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, u, rb)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = 2
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		runtime.AddCleanup(req, func(ch chan struct{}) { ch <- struct{}{} }, gone)
		runtime.AddCleanup(resp, func(ch chan struct{}) { ch <- struct{}{} }, gone)
		return resp.Body, &rb.room
	}()
	defer b.Close()
	if b != io.ReadCloser(&room.b) {
		t.Fatalf("the body is %p, not in its room at %p", b, &room.b)
	}
	for n := 0; n < 2; {
		runtime.GC()
		select {
		case <-gone:
			n++
		case <-time.After(5 * time.Second):
			t.Fatal("the request or the response's head is still alive while its body is")
		}
	}
	p := make([]byte, 64)
	if n, err := io.ReadAtLeast(b, p, len("data: 1\n\n")); err != nil || string(p[:n]) != "data: 1\n\n" {
		t.Fatalf("first event: %q, %v", p[:n], err)
	}
}

// A request body without a room gets a body of its own.
func TestABodyWithoutARoom(t *testing.T) {
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	u := chunkServer(t, func(c net.Conn) {
		writeChunk(c, "data: 1\n\n")
		<-hold
	})
	resp, err := post(t, &Transport{}, context.Background(), u, "{}")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, ok := resp.Body.(*body); !ok {
		t.Fatalf("body %T", resp.Body)
	}
	p := make([]byte, 64)
	if n, err := io.ReadAtLeast(resp.Body, p, len("data: 1\n\n")); err != nil {
		t.Fatalf("first event: %q, %v", p[:n], err)
	}
}
