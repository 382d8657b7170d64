package gateway

import (
	"context"
	"testing"

	"github.com/octomesh/octomesh"
)

// A request's state has room for one upstream request, used by its first
// attempt: a failed-over attempt gets its own, so a provider that keeps
// the request it was sent never sees it readdressed to another model.
func TestEachAttemptHasItsOwnUpstreamRequest(t *testing.T) {
	for _, stream := range []bool{false, true} {
		tb := newTestbed(t, map[string][]step{"a": {{err: upErr(octomesh.EUPSTREAM, 0)}}, "b": {{text: "from b"}}},
			[]string{"a", "b"}, timeouts{}, 0, nil, nil)
		req := userReq("x/a")
		req.Octomesh = &octomesh.RouteOptions{Objective: octomesh.ObjectiveCheapest}
		if stream {
			req.Stream = true
			st, _, err := tb.svc.ChatStream(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := collectStream(t, st); err != nil {
				t.Fatal(err)
			}
			st.Close()
		} else if _, _, err := tb.svc.Chat(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		a, b := tb.provs["a"].reqs, tb.provs["b"].reqs
		if len(a) != 1 || len(b) != 1 {
			t.Fatalf("stream %v: calls a %d, b %d; want 1 each", stream, len(a), len(b))
		}
		if a[0] == b[0] || a[0].Model != "a" || b[0].Model != "b" || a[0].Octomesh != nil || b[0].Octomesh != nil {
			t.Errorf("stream %v: upstream requests %p (model %q) and %p (model %q); want two, for a and b, without route options",
				stream, a[0], a[0].Model, b[0], b[0].Model)
		}
		if req.Model != "x/a" || req.Octomesh == nil {
			t.Errorf("stream %v: the caller's request changed: model %q", stream, req.Model)
		}
	}
}

// Two requests never share state: each has its own served record, usage
// and decision, and the first one's stay as they were returned while the
// second runs.
func TestRequestsDoNotShareState(t *testing.T) {
	tb := newTestbed(t, map[string][]step{"a": {{text: "one", usage: &octomesh.Usage{PromptTokens: 3, CompletionTokens: 1}}, {text: "two two", usage: &octomesh.Usage{PromptTokens: 5, CompletionTokens: 2}}}},
		[]string{"a"}, timeouts{}, 0, nil, nil)
	resp1, served1, err := tb.svc.Chat(context.Background(), userReq("x/a"))
	if err != nil {
		t.Fatal(err)
	}
	snap := *served1
	u1 := *resp1.Usage
	resp2, served2, err := tb.svc.Chat(context.Background(), userReq("x/a"))
	if err != nil {
		t.Fatal(err)
	}
	if served1 == served2 || resp1.Usage == resp2.Usage {
		t.Fatal("two requests share their served record or usage")
	}
	if *served1 != snap || *resp1.Usage != u1 {
		t.Errorf("the first request's served %+v / usage %+v changed to %+v / %+v", snap, u1, *served1, *resp1.Usage)
	}
	if resp2.Usage.CompletionTokens != 2 || resp1.Usage.CompletionTokens != 1 {
		t.Errorf("usages %+v and %+v; want 1 and 2 completion tokens", *resp1.Usage, *resp2.Usage)
	}
}
