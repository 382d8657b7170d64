//go:build unix

package h1

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
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
		fmt.Fprintf(c, "%x\r\ndata: 1\n\n\r\n", len("data: 1\n\n"))
		for _, e := range events {
			<-next
			fmt.Fprintf(c, "%x\r\n%s\r\n", len(e), e)
		}
		<-next
		io.WriteString(c, "0\r\n\r\n")
	})
	waits, bare := 0, 0
	onWait = func(pc *persistConn) {
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

// A wait ends with the stream's failures as a read would: the server
// closing inside a chunked body is an unexpected EOF, and cancelling the
// request's context is that context's error.
func TestAWaitEndsWithTheStreamsFailure(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(c net.Conn, cancel context.CancelFunc)
		want error
	}{
		{"server closes", func(c net.Conn, _ context.CancelFunc) { c.Close() }, io.ErrUnexpectedEOF},
		{"request cancelled", func(_ net.Conn, cancel context.CancelFunc) { cancel() }, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			waiting := make(chan struct{}, 1)
			done := make(chan struct{})
			u := chunkServer(t, func(c net.Conn) {
				fmt.Fprintf(c, "%x\r\ndata: 1\n\n\r\n", len("data: 1\n\n"))
				<-waiting
				tc.end(c, cancel)
				<-done
			})
			defer close(done)
			onWait = func(*persistConn) {
				select {
				case waiting <- struct{}{}:
				default:
				}
			}
			t.Cleanup(func() { onWait = nil })
			resp, err := post(t, &Transport{}, ctx, u, "{}")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b := resp.Body.(*body)
			p := make([]byte, 64)
			if n, err := io.ReadAtLeast(b, p, len("data: 1\n\n")); err != nil {
				t.Fatalf("first event: %q, %v", p[:n], err)
			}
			deadline := time.AfterFunc(10*time.Second, func() { b.Close() })
			defer deadline.Stop()
			b.WaitData()
			_, err = b.Read(p)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Read after the wait = %v, want %v", err, tc.want)
			}
		})
	}
}

// A wait that runs into its deadline reports it as net's Read does: one
// "read tcp" error, a timeout, os.ErrDeadlineExceeded inside.
func TestAWaitsTimeoutReadsLikeNets(t *testing.T) {
	u := chunkServer(t, func(c net.Conn) {
		fmt.Fprintf(c, "%x\r\ndata: 1\n\n\r\n", len("data: 1\n\n"))
		time.Sleep(2 * time.Second)
	})
	resp, err := post(t, &Transport{}, context.Background(), u, "{}")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := resp.Body.(*body)
	p := make([]byte, 64)
	if n, err := io.ReadAtLeast(b, p, len("data: 1\n\n")); err != nil {
		t.Fatalf("first event: %q, %v", p[:n], err)
	}
	b.pc.conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	err = b.pc.waitData()
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("wait error %v, want a timeout", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "read tcp ") || strings.Count(msg, "tcp") != 1 {
		t.Errorf("wait error reads %q, want net's one \"read tcp a->b: ...\"", msg)
	}
}
