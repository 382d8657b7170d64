package gateway

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/cancelctx"
)

// A call's context ends with context.DeadlineExceeded when its timeout
// passes, reports its deadline, follows its parent, and stop ends it and
// its timer.
func TestTimedCtx(t *testing.T) {
	t.Run("deadline", func(t *testing.T) {
		start := time.Now()
		c := withTimeout(context.Background(), 20*time.Millisecond)
		defer c.stop()
		if d, ok := c.Deadline(); !ok || d.Before(start.Add(20*time.Millisecond)) || d.After(time.Now().Add(20*time.Millisecond)) {
			t.Errorf("Deadline = %v, %v; want 20ms from the start", d, ok)
		}
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("the timeout did not end the context")
		}
		if c.Err() != context.DeadlineExceeded || !errors.Is(context.Cause(c), context.DeadlineExceeded) {
			t.Errorf("Err, Cause = %v, %v; want context.DeadlineExceeded", c.Err(), context.Cause(c))
		}
		if el := time.Since(start); el < 20*time.Millisecond {
			t.Errorf("ended after %v, before its timeout", el)
		}
	})
	t.Run("stop", func(t *testing.T) {
		c := withTimeout(context.Background(), time.Hour)
		c.stop()
		if c.Err() != context.Canceled {
			t.Errorf("Err after stop = %v, want context.Canceled", c.Err())
		}
		if c.timer.Stop() {
			t.Error("the timer outlived stop")
		}
	})
	t.Run("parent", func(t *testing.T) {
		req := cancelctx.New(context.Background())
		scope, _ := octomesh.NewScope(req)
		c := withTimeout(scope, time.Hour)
		defer c.stop()
		req.Cancel(nil)
		if c.Err() != context.Canceled {
			t.Errorf("Err after the request's end = %v, want context.Canceled", c.Err())
		}
	})
	t.Run("no timeout", func(t *testing.T) {
		c := withTimeout(context.Background(), 0)
		if _, ok := c.Deadline(); ok || c.timer != nil {
			t.Error("a deadline without a timeout")
		}
		c.stop()
	})
}

// A non-streaming attempt that outlives its total timeout is a provider
// timeout, not a client that went away.
func TestChatTotalTimeout(t *testing.T) {
	tb := newTestbed(t, map[string][]step{"a": {{hang: true}}}, []string{"a"}, timeouts{total: 20 * time.Millisecond}, 0, nil, nil)
	_, _, err := tb.svc.Chat(context.Background(), userReq("p/chat"))
	var oe *octomesh.Error
	if !errors.As(err, &oe) || oe.Code != octomesh.ETIMEOUT || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want a timeout caused by context.DeadlineExceeded", err)
	}
}
