package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/cancelctx"
)

// TestWaitDataWaitsOnlyWhenNothingIsReady: a relay calls WaitData before
// each Next. With a chunk (or the end) ready, held back or fetched by
// ChatStream, it must return at once, or that chunk would wait for the
// upstream's next bytes; otherwise it waits on the attempt's stream.
func TestWaitDataWaitsOnlyWhenNothingIsReady(t *testing.T) {
	// With a role chunk, it is held back until the first content; without
	// one, the first content is what ChatStream fetched (pending).
	for _, noRole := range []bool{false, true} {
		waitDataWaitsOnlyWhenNothingIsReady(t, step{text: "hello world, again", noRole: noRole})
	}
}

func waitDataWaitsOnlyWhenNothingIsReady(t *testing.T, sp step) {
	tb := newTestbed(t, map[string][]step{"a": {sp}}, []string{"a"}, timeouts{}, 0, nil, nil)
	ctx, _ := octomesh.NewScope(cancelctx.New(context.Background()))
	st, _, err := tb.svc.ChatStream(ctx, userReq("p/chat"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f := st.(*failoverStream)
	ss := f.cur.s.(*scriptStream)
	delegated := 0
	for i := 0; ; i++ {
		ready, before := f.Buffered() > 0 || f.cur == nil, ss.waits
		f.WaitData()
		switch {
		case ready && ss.waits != before:
			t.Fatalf("no role chunk %v, before Next %d: a chunk was ready, and WaitData waited on the upstream", sp.noRole, i)
		case !ready && ss.waits != before+1:
			t.Fatalf("no role chunk %v, before Next %d: nothing was ready, and WaitData did not wait on the upstream", sp.noRole, i)
		}
		if !ready {
			delegated++
		}
		if !st.Next() {
			break
		}
	}
	if st.Err() != nil || delegated == 0 {
		t.Errorf("stream error %v, %d waits on the upstream; want nil and some", st.Err(), delegated)
	}
}

// TestWaitDataEndsWithTheRequest: a wait on a stalled upstream ends when
// the caller's context does, as Next's would.
func TestWaitDataEndsWithTheRequest(t *testing.T) {
	tb := newTestbed(t, map[string][]step{"a": {{text: "hello world", stall: 1}}}, []string{"a"}, timeouts{}, 0, nil, nil)
	root := cancelctx.New(context.Background())
	ctx, _ := octomesh.NewScope(root)
	st, _, err := tb.svc.ChatStream(ctx, userReq("p/chat"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w := st.(octomesh.DataWaiter)
	for st.(*failoverStream).Buffered() > 0 { // the chunks ChatStream fetched, up to the stall
		if !st.Next() {
			t.Fatalf("stream ended early: %v", st.Err())
		}
	}
	done := make(chan struct{})
	go func() {
		w.WaitData()
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("WaitData returned on a stalled upstream")
	case <-time.After(50 * time.Millisecond):
	}
	root.Cancel(nil)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("WaitData outlived its request")
	}
}
