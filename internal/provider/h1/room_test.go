//go:build unix

package h1

import (
	"context"
	"errors"
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

// sentBody records when it is told its request was sent, and fails its
// reads when fail is set.
type sentBody struct {
	io.Reader
	fail   bool
	sent   int
	closed bool
}

func (b *sentBody) Read(p []byte) (int, error) {
	if b.fail {
		return 0, errors.New("no body today")
	}
	return b.Reader.Read(p)
}
func (b *sentBody) Close() error { b.closed = true; return nil }
func (b *sentBody) Sent()        { b.sent++ }

// A request body hears that its request was sent once it was written
// whole, before the wait for the response (which can be long) and before
// it is closed; a request that failed to go out is not sent.
func TestABodyHearsItWasSent(t *testing.T) {
	// The server answers once the client waits for its answer.
	answer := make(chan struct{}, 1)
	u := serveRequests(t, func(c net.Conn, _ *http.Request) {
		<-answer
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	tr := &Transport{}
	var sentAtWait []int
	body := &sentBody{Reader: strings.NewReader("{}")}
	onWait = func(_ *persistConn, head bool) {
		if head {
			sentAtWait = append(sentAtWait, body.sent)
			select {
			case answer <- struct{}{}:
			default:
			}
		}
	}
	t.Cleanup(func() { onWait = nil })
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, u, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = 2
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if body.sent != 1 || !body.closed {
		t.Errorf("sent %d times, closed %v; want once, closed", body.sent, body.closed)
	}
	if len(sentAtWait) == 0 || sentAtWait[0] != 1 {
		t.Errorf("waited for the head with the body sent %v times, want 1", sentAtWait)
	}

	failing := &sentBody{Reader: strings.NewReader("{}"), fail: true}
	req, _ = http.NewRequestWithContext(context.Background(), http.MethodPost, u, failing)
	req.ContentLength = 2
	if _, err := tr.RoundTrip(req); err == nil {
		t.Fatal("a body that fails to read went out")
	}
	if failing.sent != 0 || !failing.closed {
		t.Errorf("a request that did not go out: sent %d times, closed %v", failing.sent, failing.closed)
	}
}
