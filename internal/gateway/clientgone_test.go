package gateway

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/cancelctx"
)

// A client that goes away ends the upstream attempt, as h1server ends the
// request's context (a cancelctx.Ctx, under httpapi's scope): a stream
// waiting for its next chunk, and a call waiting for its answer.
func TestAClientGoneEndsTheAttempt(t *testing.T) {
	within := func(t *testing.T, done <-chan error) error {
		t.Helper()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("the attempt outlived its client")
			return nil
		}
	}
	t.Run("stream", func(t *testing.T) {
		tb := newTestbed(t, map[string][]step{"a": {{text: "hello world", stall: 1}}}, []string{"a"}, timeouts{}, 0, nil, nil)
		root := cancelctx.New(context.Background())
		ctx, _ := octomesh.NewScope(root)
		st, _, err := tb.svc.ChatStream(ctx, userReq("p/chat"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		done := make(chan error, 1)
		go func() {
			for st.Next() {
			}
			done <- st.Err()
		}()
		time.Sleep(20 * time.Millisecond)
		root.Cancel(nil)
		if err := within(t, done); !errors.Is(err, context.Canceled) {
			t.Errorf("stream error %v, want context.Canceled", err)
		}
	})
	t.Run("call", func(t *testing.T) {
		tb := newTestbed(t, map[string][]step{"a": {{hang: true}}}, []string{"a"}, timeouts{total: time.Hour}, 0, nil, nil)
		root := cancelctx.New(context.Background())
		ctx, _ := octomesh.NewScope(root)
		done := make(chan error, 1)
		go func() {
			_, _, err := tb.svc.Chat(ctx, userReq("p/chat"))
			done <- err
		}()
		time.Sleep(20 * time.Millisecond)
		root.Cancel(nil)
		if err := within(t, done); !errors.Is(err, context.Canceled) {
			t.Errorf("call error %v, want context.Canceled", err)
		}
	})
}
