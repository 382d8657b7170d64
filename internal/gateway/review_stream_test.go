package gateway

import (
	"testing"

	"github.com/octomesh/octomesh"
)

// A stream that finishes with an empty answer and no usage report still
// cost the prompt: it is billed by the estimate, as Chat bills the same
// answer; it used to be free.
func TestReviewStreamEmptyAnswerWithoutUsageIsBilled(t *testing.T) {
	p := &scripted{id: "p", chunks: []octomesh.Chunk{
		{ID: "s", Model: "up", Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Role: "assistant"}}}},
		{ID: "s", Model: "up", Choices: []octomesh.ChunkChoice{{FinishReason: "content_filter"}}},
	}}
	r := newMeterRig(t, p)
	req := userReq("p/chat")
	req.Stream = true
	st, served, err := r.svc.ChatStream(r.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	for st.Next() {
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	st.Close()
	want := rigPrice.Cost(octomesh.Usage{PromptTokens: req.EstimateTokens()})
	if served.Cost != want {
		t.Errorf("served cost = %d, want %d", served.Cost, want)
	}
	es := r.entries(t)
	if len(es) != 1 {
		t.Fatalf("%d ledger entries, want 1", len(es))
	}
	if e := es[0]; e.Cost != want || !e.Estimated || e.Outcome != "ok" {
		t.Errorf("entry cost %d estimated %v outcome %q, want %d, true, ok", e.Cost, e.Estimated, e.Outcome, want)
	}
	// The same answer without streaming costs the same.
	p.resp = &octomesh.ChatResponse{ID: "r", Object: "chat.completion", Choices: []octomesh.Choice{{Message: octomesh.Message{Role: "assistant"}, FinishReason: "content_filter"}}}
	req.Stream = false
	_, served, err = r.svc.Chat(r.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if served.Cost != want {
		t.Errorf("non-streaming cost = %d, want %d", served.Cost, want)
	}
}
