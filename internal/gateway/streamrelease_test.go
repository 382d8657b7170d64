package gateway

import (
	"context"
	"errors"
	"testing"

	"github.com/octomesh/octomesh"
)

// A stream waiting for its next token must not hold the caller's request
// (its messages, the whole prompt): once content was sent, no other
// attempt can be opened on it, unless the plan has a candidate that can
// continue an answer, which is made from the caller's request.
func TestAStreamDropsItsRequestOnceContentIsSent(t *testing.T) {
	for _, tc := range []struct {
		name     string
		caps     octomesh.Capabilities
		wantKept bool
	}{
		{"no continuation", octomesh.Capabilities{Streaming: true}, false},
		{"continuation possible", octomesh.Capabilities{Streaming: true, Continuation: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &scripted{id: "p", chunks: streamChunks(nil)}
			cat, err := NewCatalog([]octomesh.Deployment{{Name: "p/m", Provider: "p", UpstreamModel: "m-001", Capabilities: tc.caps}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			svc, err := New(Options{Catalog: cat, Providers: map[string]octomesh.Provider{"p": p}})
			if err != nil {
				t.Fatal(err)
			}
			req := userReq("p/m")
			req.Stream = true
			st, _, err := svc.ChatStream(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			// ChatStream returns once content arrived (a failover before it
			// used the request): that content counts as sent.
			f := st.(*failoverStream)
			if kept := f.req != nil || f.orig != nil; kept != tc.wantKept {
				t.Errorf("after content was sent: request kept %v, want %v", kept, tc.wantKept)
			}
		})
	}
}

// A stream cut after content, without a usage report, is billed by the
// estimate of its prompt, as before the request was dropped.
func TestACutStreamIsBilledByItsPromptEstimateAfterTheRequestIsDropped(t *testing.T) {
	cut := errors.New("connection reset")
	p := &scripted{id: "p", chunks: streamChunks(nil)[:2], endErr: cut}
	r := newMeterRig(t, p)
	req := userReq("p/chat")
	req.Messages[0].Content = octomesh.TextContent("a prompt of some forty bytes, give or take")
	req.Stream = true
	st, _, err := r.svc.ChatStream(r.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	for st.Next() {
	}
	if st.Err() == nil {
		t.Fatal("the cut stream ended without an error")
	}
	st.Close()
	es := r.entries(t)
	if len(es) != 1 {
		t.Fatalf("%d ledger entries, want 1", len(es))
	}
	want := estimate(req, len("12345678"))
	if e := es[0]; !e.Estimated || e.PromptTokens != int64(want.PromptTokens) || e.CompletionTokens != int64(want.CompletionTokens) {
		t.Errorf("entry: estimated %v, %d prompt and %d completion tokens; want the estimate: %d and %d",
			e.Estimated, e.PromptTokens, e.CompletionTokens, want.PromptTokens, want.CompletionTokens)
	}
}

// Ledger entries are built in room lent per settle: requests settled one
// after another, and at once, each write their own.
func TestSettleRoomIsLentPerRequest(t *testing.T) {
	r := newMeterRig(t, &concurrentOK{scripted{id: "p"}})
	const n = 8
	done := make(chan error, n)
	for range n {
		go func() {
			_, _, err := r.svc.Chat(r.ctx, userReq("p/chat"))
			done <- err
		}()
	}
	for range n {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	es := r.entries(t)
	if len(es) != n {
		t.Fatalf("%d ledger entries, want %d", len(es), n)
	}
	seen := map[string]bool{}
	for _, e := range es {
		if seen[e.RequestID] {
			t.Errorf("request id %q has two entries", e.RequestID)
		}
		seen[e.RequestID] = true
		if e.PromptTokens != 1000 || e.CompletionTokens != 100 || e.Deployment != "p/chat" {
			t.Errorf("entry %+v, want 1000 and 100 tokens on p/chat", e)
		}
	}
}

// concurrentOK answers every chat with okResp, from any goroutine.
type concurrentOK struct{ scripted }

func (*concurrentOK) Chat(context.Context, *octomesh.ChatRequest) (*octomesh.ChatResponse, error) {
	return okResp(), nil
}
