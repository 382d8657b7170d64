package gateway

import (
	"testing"

	"github.com/octomesh/octomesh"
)

// PrepareStream plans and reserves without sending anything upstream;
// Start opens the stream, which is then served and billed as ChatStream's.
func TestPreparedStreamSendsNothingUntilStarted(t *testing.T) {
	p := &scripted{id: "p", chunks: streamChunks(&octomesh.Usage{PromptTokens: 10, CompletionTokens: 5})}
	r := newMeterRig(t, p)
	req := userReq("p/chat")
	req.Stream = true
	ctx := octomesh.WithRequestID(r.ctx, "req_prepared")
	ps, served, err := r.svc.PrepareStream(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.gotReqs) != 0 {
		t.Fatalf("PrepareStream sent %d upstream requests, want none", len(p.gotReqs))
	}
	if served.Model != "p/chat" {
		t.Errorf("served model before Start = %q, want the plan's p/chat", served.Model)
	}
	st, err := ps.Start()
	if err != nil {
		t.Fatal(err)
	}
	if len(p.gotReqs) != 1 {
		t.Fatalf("Start sent %d upstream requests, want 1", len(p.gotReqs))
	}
	var text string
	for st.Next() {
		for _, c := range st.Chunk().Choices {
			text += c.Delta.Content
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if text == "" {
		t.Error("the started stream relayed no text")
	}
	want := rigPrice.Cost(octomesh.Usage{PromptTokens: 10, CompletionTokens: 5})
	if served.Cost != want {
		t.Errorf("served cost = %d, want %d", served.Cost, want)
	}
	if es := r.entries(t); len(es) != 1 || es[0].Cost != want {
		t.Errorf("ledger entries %+v, want one at %d", es, want)
	}
}

// A prepared stream that is abandoned (its handler panicked before the
// relay ran) sends nothing, bills nothing, and is recorded as cancelled.
func TestAbandonedPreparedStreamIsRecordedAsCancelled(t *testing.T) {
	p := &scripted{id: "p", chunks: streamChunks(&octomesh.Usage{PromptTokens: 10, CompletionTokens: 5})}
	r := newMeterRig(t, p)
	req := userReq("p/chat")
	req.Stream = true
	ctx := octomesh.WithRequestID(r.ctx, "req_abandoned")
	ps, served, err := r.svc.PrepareStream(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	ps.Abandon()
	if len(p.gotReqs) != 0 {
		t.Errorf("an abandoned stream sent %d upstream requests", len(p.gotReqs))
	}
	if served.Cost != 0 {
		t.Errorf("served cost = %d, want 0", served.Cost)
	}
	dec, err := r.svc.Decision(ctx, "req_abandoned")
	if err != nil {
		t.Fatal(err)
	}
	if dec.Outcome != "cancelled" {
		t.Errorf("decision outcome = %q, want cancelled", dec.Outcome)
	}
	if es := r.entries(t); len(es) != 0 {
		t.Errorf("ledger entries %+v, want none", es)
	}
	// The reservation was released: the next request is served.
	st, _, err := r.svc.ChatStream(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
}
