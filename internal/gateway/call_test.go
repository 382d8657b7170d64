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

// reusingStream decodes every chunk into the same Chunk and Choices, as
// the real decoders do.
type reusingStream struct {
	chunks []octomesh.Chunk
	i      int
	cur    octomesh.Chunk
	choice [1]octomesh.ChunkChoice
}

func (s *reusingStream) Next() bool {
	if s.i >= len(s.chunks) {
		return false
	}
	c := s.chunks[s.i]
	s.i++
	s.cur = c
	s.cur.Choices = s.choice[:len(c.Choices)]
	copy(s.cur.Choices, c.Choices)
	return true
}
func (s *reusingStream) Chunk() *octomesh.Chunk { return &s.cur }
func (s *reusingStream) Err() error             { return nil }
func (s *reusingStream) Close() error           { return nil }

type reusingProvider struct{ scripted }

func (p *reusingProvider) ChatStream(context.Context, *octomesh.ChatRequest) (octomesh.ChatStream, error) {
	return &reusingStream{chunks: p.chunks}, nil
}

// The role chunk held back until content arrives, and the first content
// chunk sent after it, are the stream's own copies: the upstream decoding
// the next chunks into the same memory changes neither.
func TestHeldChunksAreCopies(t *testing.T) {
	p := &reusingProvider{scripted{id: "p", chunks: []octomesh.Chunk{
		{ID: "s", Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Role: "assistant"}}}},
		{ID: "s", Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Content: "one"}}}},
		{ID: "s", Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Content: "two"}}}},
		{ID: "s", Choices: []octomesh.ChunkChoice{{FinishReason: "stop"}}},
	}}}
	cat, err := NewCatalog(testDeployments(), nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Options{Catalog: cat, Providers: map[string]octomesh.Provider{"p": p}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // and the second request starts afresh
		st, _, err := svc.ChatStream(context.Background(), streamReq("p/big"))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for st.Next() {
			c := st.Chunk()
			if len(c.Choices) == 0 {
				got = append(got, "usage")
				continue
			}
			d := c.Choices[0]
			got = append(got, string(d.Delta.Role)+"|"+d.Delta.Content+"|"+string(d.FinishReason))
		}
		st.Close()
		want := []string{"assistant||", "|one|", "|two|", "||stop", "usage"}
		if len(got) != len(want) {
			t.Fatalf("chunks %q, want %q", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("chunks %q, want %q", got, want)
			}
		}
	}
}

// The route headers made once per deployment read as the ones built per
// request.
func TestRoutesMadeOnceMatch(t *testing.T) {
	d := &octomesh.Deployment{Name: "p/a"}
	r := newRoutes([]*octomesh.Deployment{d})
	for _, atts := range [][]octomesh.AttemptRecord{
		nil,
		{{Deployment: "p/a", Outcome: "ok"}},
		{{Deployment: "p/a", Outcome: "ok", Hedge: true}},
		{{Deployment: "p/a", Outcome: "ok", Continued: true}},
		{{Deployment: "p/a", Outcome: "upstream_error"}},
		{{Deployment: "p/other", Outcome: "ok"}},
		{{Deployment: "p/a", Outcome: "rate_limited"}, {Deployment: "p/b", Outcome: "ok", Hedge: true}, {Deployment: "p/a", Outcome: "ok", Continued: true}},
	} {
		var want string
		for i, a := range atts {
			if i > 0 {
				want += ">"
			}
			want += a.Deployment + ":"
			if a.Hedge {
				want += "hedge-"
			}
			if a.Continued {
				want += "cont-"
			}
			want += a.Outcome
		}
		if got := r.header(atts); got != want {
			t.Errorf("header(%v) = %q, want %q", atts, got, want)
		}
		if got := routeHeader(atts); got != want {
			t.Errorf("routeHeader(%v) = %q, want %q", atts, got, want)
		}
	}
	for _, tc := range []struct {
		d     *octomesh.Deployment
		hedge bool
		want  string
	}{{d, false, "p/a:streaming"}, {d, true, "p/a:hedge-streaming"}, {&octomesh.Deployment{Name: "p/x"}, false, "p/x:streaming"}, {&octomesh.Deployment{Name: "p/x"}, true, "p/x:hedge-streaming"}} {
		if got := r.streaming(tc.d, tc.hedge); got != tc.want {
			t.Errorf("streaming(%s, %v) = %q, want %q", tc.d.Name, tc.hedge, got, tc.want)
		}
	}
}
