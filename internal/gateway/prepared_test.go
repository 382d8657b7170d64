package gateway

import (
	"context"
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

// panicking is a provider whose stream open panics.
type panicking struct{ scripted }

func (p *panicking) ChatStream(context.Context, *octomesh.ChatRequest) (octomesh.ChatStream, error) {
	panic("a provider bug")
}

// A Start that panics ends its stream before the panic goes on: the
// request is recorded as an internal error and its reservation settled,
// so the next request is served.
func TestAPanickingStartEndsItsStream(t *testing.T) {
	r := newMeterRig(t, &panicking{scripted{id: "p"}})
	req := userReq("p/chat")
	req.Stream = true
	ctx := octomesh.WithRequestID(r.ctx, "req_panicking")
	ps, _, err := r.svc.PrepareStream(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if v := recover(); v != "a provider bug" {
				t.Errorf("recovered %v, want the provider's panic", v)
			}
		}()
		ps.Start()
	}()
	dec, err := r.svc.Decision(ctx, "req_panicking")
	if err != nil {
		t.Fatalf("the panicking request was not recorded: %v", err)
	}
	if want := string(octomesh.EINTERNAL); dec.Outcome != want {
		t.Errorf("decision outcome = %q, want %q", dec.Outcome, want)
	}
	ps.Abandon() // as the relay's release would not, but must be harmless
	if dec.Outcome != string(octomesh.EINTERNAL) {
		t.Errorf("after Abandon: outcome %q", dec.Outcome)
	}
}

// Abandon after Start does nothing: the stream, or Start's error, has
// recorded the request already.
func TestAbandonAfterStartKeepsTheRecord(t *testing.T) {
	p := &scripted{id: "p", chunks: streamChunks(&octomesh.Usage{PromptTokens: 10, CompletionTokens: 5})}
	r := newMeterRig(t, p)
	req := userReq("p/chat")
	req.Stream = true
	ctx := octomesh.WithRequestID(r.ctx, "req_started")
	ps, _, err := r.svc.PrepareStream(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	st, err := ps.Start()
	if err != nil {
		t.Fatal(err)
	}
	for st.Next() {
	}
	st.Close()
	ps.Abandon()
	dec, err := r.svc.Decision(ctx, "req_started")
	if err != nil {
		t.Fatal(err)
	}
	if dec.Outcome != "ok" {
		t.Errorf("decision outcome = %q after Abandon, want ok", dec.Outcome)
	}
	if es := r.entries(t); len(es) != 1 || es[0].Cost == 0 {
		t.Errorf("ledger entries %+v, want the stream's one", es)
	}
}
