package gateway

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
)

// step is one scripted answer of a fake provider.
type step struct {
	err    error           // fail at once (Chat and ChatStream)
	hang   bool            // block until the context ends (a silent upstream)
	delay  time.Duration   // answer after this long
	text   string          // answer text (streams send it in 4-byte pieces)
	cutAt  int             // streams: fail after this many content chunks (0: never; -1: right after the role chunk)
	cutErr error           // the error of a cut
	stall  int             // streams: block after this many content chunks (0: never)
	usage  *octomesh.Usage // reported usage (streams: in a final chunk)
	noRole bool            // streams: no role chunk before the content
}

// fakeProv answers from a script, one step per call (the last step repeats),
// and records every request. It is safe for concurrent use.
type fakeProv struct {
	id     string
	mu     sync.Mutex
	script []step
	reqs   []*octomesh.ChatRequest
}

func (p *fakeProv) ID() string { return p.id }

func (p *fakeProv) next(req *octomesh.ChatRequest) step {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.reqs)
	p.reqs = append(p.reqs, req)
	if n >= len(p.script) {
		n = len(p.script) - 1
	}
	return p.script[n]
}

func (p *fakeProv) calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.reqs)
}

func wait(ctx context.Context, st step) error {
	if st.hang {
		<-ctx.Done()
		return ctx.Err()
	}
	if st.delay > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(st.delay):
		}
	}
	return nil
}

func (p *fakeProv) Chat(ctx context.Context, req *octomesh.ChatRequest) (*octomesh.ChatResponse, error) {
	st := p.next(req)
	if err := wait(ctx, st); err != nil {
		return nil, err
	}
	if st.err != nil {
		return nil, st.err
	}
	return &octomesh.ChatResponse{ID: "r-" + p.id, Object: "chat.completion",
		Choices: []octomesh.Choice{{Message: octomesh.Message{Role: "assistant", Content: octomesh.TextContent(st.text)}, FinishReason: "stop"}},
		Usage:   st.usage}, nil
}

func (p *fakeProv) ChatStream(ctx context.Context, req *octomesh.ChatRequest) (octomesh.ChatStream, error) {
	st := p.next(req)
	if err := wait(ctx, st); err != nil {
		return nil, err
	}
	if st.err != nil {
		return nil, st.err
	}
	chunks := []octomesh.Chunk{{ID: "s-" + p.id, Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Role: "assistant"}}}}}
	for i := 0; i < len(st.text); i += 4 {
		chunks = append(chunks, octomesh.Chunk{ID: "s-" + p.id, Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Content: st.text[i:min(i+4, len(st.text))]}}}})
	}
	chunks = append(chunks, octomesh.Chunk{ID: "s-" + p.id, Choices: []octomesh.ChunkChoice{{FinishReason: "stop"}}})
	if st.noRole {
		chunks = chunks[1:]
	}
	if st.usage != nil {
		chunks = append(chunks, octomesh.Chunk{ID: "s-" + p.id, Choices: []octomesh.ChunkChoice{}, Usage: st.usage})
	}
	return &scriptStream{ctx: ctx, chunks: chunks, st: st}, nil
}

// scriptStream yields chunks, then cuts or stalls as scripted.
type scriptStream struct {
	ctx     context.Context
	chunks  []octomesh.Chunk
	st      step
	i       int
	content int
	err     error
	waits   int // WaitData calls that went to the stream
}

// WaitData makes scriptStream an octomesh.DataWaiter: it blocks where
// Next would stall.
func (s *scriptStream) WaitData() {
	s.waits++
	if s.err == nil && s.st.stall > 0 && s.content == s.st.stall {
		<-s.ctx.Done()
	}
}

func (s *scriptStream) Next() bool {
	if s.err != nil || s.i >= len(s.chunks) {
		return false
	}
	if s.st.cutAt < 0 && s.i == 1 || s.st.cutAt > 0 && s.content == s.st.cutAt {
		s.err = s.st.cutErr
		return false
	}
	if s.st.stall > 0 && s.content == s.st.stall {
		<-s.ctx.Done()
		s.err = s.ctx.Err()
		return false
	}
	if s.ctx.Err() != nil {
		s.err = s.ctx.Err()
		return false
	}
	if len(s.chunks[s.i].Choices) > 0 && s.chunks[s.i].Choices[0].Delta.Content != "" {
		s.content++
	}
	s.i++
	return true
}
func (s *scriptStream) Chunk() *octomesh.Chunk { return &s.chunks[s.i-1] }
func (s *scriptStream) Err() error             { return s.err }
func (s *scriptStream) Close() error           { return nil }

// testbed is a Service whose planner returns a fixed multi-candidate plan.
type testbed struct {
	svc   *Service
	provs map[string]*fakeProv
}

// newTestbed builds candidates named a, b, c … (deployments "x/a" …) with
// the given scripts; window sets context windows (default 1000), and cont
// marks which can continue a partial answer.
func newTestbed(t *testing.T, scripts map[string][]step, order []string, tm timeouts, hedgeAfter time.Duration, window map[string]int, cont map[string]bool) *testbed {
	t.Helper()
	tb := &testbed{provs: map[string]*fakeProv{}}
	var deps []octomesh.Deployment
	provs := map[string]octomesh.Provider{}
	for _, n := range order {
		w := window[n]
		if w == 0 {
			w = 100_000
		}
		deps = append(deps, octomesh.Deployment{Name: "x/" + n, Provider: n, UpstreamModel: n, ContextWindow: w,
			Capabilities: octomesh.Capabilities{Streaming: true, Continuation: cont[n]},
			Price:        octomesh.Price{InputPerMTok: octomesh.Dollar, OutputPerMTok: 2 * octomesh.Dollar}})
		p := &fakeProv{id: n, script: scripts[n]}
		tb.provs[n] = p
		provs[n] = p
	}
	cat, err := NewCatalog(deps, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Options{Catalog: cat, Providers: provs})
	if err != nil {
		t.Fatal(err)
	}
	svc.rand = func() float64 { return 0 } // shortest backoff: tests stay fast and exact
	svc.planner = func(ctx context.Context, req *octomesh.ChatRequest) (*plan, error) {
		p := &plan{maxAttempts: 3, hedgeAfter: hedgeAfter, decision: &octomesh.Decision{RequestID: octomesh.RequestIDFrom(ctx)}}
		for _, n := range order {
			d, _ := cat.Deployment("x/" + n)
			p.attempts = append(p.attempts, planned{d: d, p: provs[n], timeouts: tm})
			p.decision.Plan = append(p.decision.Plan, d.Name)
		}
		return p, nil
	}
	tb.svc = svc
	return tb
}

func upErr(code octomesh.ErrorCode, retryAfter time.Duration) error {
	return &octomesh.Error{Code: code, Message: string(code), Provider: "p", RetryAfter: retryAfter}
}

func TestChatFailover(t *testing.T) {
	tests := []struct {
		name      string
		scripts   map[string][]step
		window    map[string]int
		wantText  string
		wantCode  octomesh.ErrorCode
		wantRoute string
		wantCalls map[string]int
	}{
		{"500 then next candidate",
			map[string][]step{"a": {{err: upErr(octomesh.EUPSTREAM, 0)}}, "b": {{text: "from b"}}},
			nil, "from b", "", "x/a:upstream_error>x/b:ok", map[string]int{"a": 1, "b": 1}},
		{"500 once on the only healthy path retries with backoff",
			map[string][]step{"a": {{err: upErr(octomesh.EUPSTREAM, 0)}, {text: "a again"}}, "b": {{err: upErr(octomesh.EUPSTREAM, 0)}}},
			nil, "a again", "", "x/a:upstream_error>x/b:upstream_error>x/a:ok", map[string]int{"a": 2, "b": 1}},
		{"persistent 503 everywhere stops at 3 attempts",
			map[string][]step{"a": {{err: upErr(octomesh.EOVERLOADED, 0)}}, "b": {{err: upErr(octomesh.EOVERLOADED, 0)}}},
			nil, "", octomesh.EOVERLOADED, "x/a:overloaded>x/b:overloaded>x/a:overloaded", map[string]int{"a": 2, "b": 1}},
		{"content filter is returned, not retried",
			map[string][]step{"a": {{err: upErr(octomesh.ECONTENTFILTER, 0)}}, "b": {{text: "b"}}},
			nil, "", octomesh.ECONTENTFILTER, "x/a:content_filter", map[string]int{"a": 1, "b": 0}},
		{"invalid request is not retried",
			map[string][]step{"a": {{err: upErr(octomesh.EINVALID, 0)}}, "b": {{text: "b"}}},
			nil, "", octomesh.EINVALID, "x/a:invalid_request", map[string]int{"a": 1, "b": 0}},
		{"context length moves to a larger window, skipping smaller ones",
			map[string][]step{"a": {{err: upErr(octomesh.ECONTEXTLENGTH, 0)}}, "b": {{text: "small"}}, "c": {{text: "large"}}},
			map[string]int{"a": 8000, "b": 4000, "c": 128000}, "large", "", "x/a:context_length_exceeded>x/c:ok", map[string]int{"a": 1, "b": 0, "c": 1}},
		{"context length with no larger window is returned",
			map[string][]step{"a": {{err: upErr(octomesh.ECONTEXTLENGTH, 0)}}, "b": {{text: "small"}}},
			map[string]int{"a": 8000, "b": 4000}, "", octomesh.ECONTEXTLENGTH, "x/a:context_length_exceeded", map[string]int{"a": 1, "b": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			order := []string{"a", "b"}
			if _, ok := tt.scripts["c"]; ok {
				order = append(order, "c")
			}
			tb := newTestbed(t, tt.scripts, order, timeouts{}, 0, tt.window, nil)
			ctx := octomesh.WithRequestID(context.Background(), "req-"+tt.name)
			resp, served, err := tb.svc.Chat(ctx, userReq("x/a"))
			if tt.wantCode != "" {
				if octomesh.ErrorCodeOf(err) != tt.wantCode {
					t.Fatalf("err = %v, want %s", err, tt.wantCode)
				}
			} else if err != nil {
				t.Fatalf("err = %v", err)
			} else if got := resp.Choices[0].Message.Content.Text(); got != tt.wantText {
				t.Errorf("text = %q, want %q", got, tt.wantText)
			}
			if served.Route != tt.wantRoute {
				t.Errorf("route = %q, want %q", served.Route, tt.wantRoute)
			}
			for n, want := range tt.wantCalls {
				if got := tb.provs[n].calls(); got != want {
					t.Errorf("calls to %s = %d, want %d", n, got, want)
				}
			}
			dec, derr := tb.svc.Decision(ctx, "req-"+tt.name)
			if derr != nil || routeHeader(dec.Attempts) != tt.wantRoute {
				t.Errorf("stored decision = %+v, %v", dec, derr)
			}
		})
	}
}

func TestRetryAfterCoolsTheDeploymentDownForEveryone(t *testing.T) {
	scripts := map[string][]step{"a": {{err: upErr(octomesh.ERATELIMITED, time.Hour)}, {text: "a"}}, "b": {{text: "b"}}}
	tb := newTestbed(t, scripts, []string{"a", "b"}, timeouts{}, 0, nil, nil)
	for i := 0; i < 3; i++ {
		resp, _, err := tb.svc.Chat(context.Background(), userReq("x/a"))
		if err != nil || resp.Choices[0].Message.Content.Text() != "b" {
			t.Fatalf("request %d: %v %v", i, resp, err)
		}
	}
	if got := tb.provs["a"].calls(); got != 1 {
		t.Errorf("a was called %d times while cooling down; want 1", got)
	}
}

func TestSilentUpstreamIsAbandonedAtItsDeadline(t *testing.T) {
	scripts := map[string][]step{"a": {{hang: true}}, "b": {{text: "b"}}}
	tb := newTestbed(t, scripts, []string{"a", "b"}, timeouts{total: 50 * time.Millisecond}, 0, nil, nil)
	start := time.Now()
	resp, served, err := tb.svc.Chat(context.Background(), userReq("x/a"))
	if err != nil || resp.Choices[0].Message.Content.Text() != "b" {
		t.Fatalf("%v %v", resp, err)
	}
	if el := time.Since(start); el < 50*time.Millisecond || el > time.Second {
		t.Errorf("took %v, want just over the 50ms attempt deadline", el)
	}
	if served.Route != "x/a:timeout>x/b:ok" {
		t.Errorf("route = %q", served.Route)
	}
}

func TestHedging(t *testing.T) {
	scripts := map[string][]step{"a": {{delay: 2 * time.Second, text: "slow a"}}, "b": {{text: "fast b"}}}
	tb := newTestbed(t, scripts, []string{"a", "b"}, timeouts{}, 30*time.Millisecond, nil, nil)
	tb.svc.health = &hedgeHealth{localHealth: newLocalHealth()}
	start := time.Now()
	resp, served, err := tb.svc.Chat(context.Background(), userReq("x/a"))
	if err != nil || resp.Choices[0].Message.Content.Text() != "fast b" {
		t.Fatalf("%v %v", resp, err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("hedged request took %v; the slow primary was not abandoned", el)
	}
	if served.Model != "x/b" || served.Route != "x/b:hedge-ok>x/a:cancelled" {
		t.Errorf("served %s via %q", served.Model, served.Route)
	}
}

type hedgeHealth struct{ *localHealth }

func (h *hedgeHealth) allowHedge() bool { return true }

func collectStream(t *testing.T, st octomesh.ChatStream) (text string, chunks []octomesh.Chunk, err error) {
	t.Helper()
	var b strings.Builder
	for st.Next() {
		c := *st.Chunk()
		chunks = append(chunks, c)
		for _, ch := range c.Choices {
			b.WriteString(ch.Delta.Content)
		}
	}
	err = st.Err()
	st.Close()
	return b.String(), chunks, err
}

func streamReq(model string) *octomesh.ChatRequest {
	r := userReq(model)
	r.Stream = true
	return r
}

func TestStreamFailoverBeforeFirstContentIsInvisible(t *testing.T) {
	// a fails at open; b sends its role chunk and then fails before any
	// content; c answers. The client sees only c's answer, with one role chunk.
	scripts := map[string][]step{
		"a": {{err: upErr(octomesh.EUPSTREAM, 0)}},
		"b": {{text: "never sent", cutAt: -1, cutErr: upErr(octomesh.EUPSTREAM, 0)}},
		"c": {{text: "hello there", usage: &octomesh.Usage{PromptTokens: 10, CompletionTokens: 3}}},
	}
	tb := newTestbed(t, scripts, []string{"a", "b", "c"}, timeouts{}, 0, nil, nil)
	st, served, err := tb.svc.ChatStream(context.Background(), streamReq("x/a"))
	if err != nil {
		t.Fatal(err)
	}
	text, chunks, err := collectStream(t, st)
	if err != nil || text != "hello there" {
		t.Fatalf("text %q err %v", text, err)
	}
	roles := 0
	for _, c := range chunks {
		if len(c.Choices) > 0 && c.Choices[0].Delta.Role != "" {
			roles++
		}
	}
	if roles != 1 || chunks[0].Choices[0].Delta.Role != "assistant" {
		t.Errorf("want exactly one role chunk, first; got %d", roles)
	}
	last := chunks[len(chunks)-1]
	if last.Usage == nil || last.Usage.PromptTokens != 10 || last.Usage.CompletionTokens != 3 || len(last.Choices) != 0 {
		t.Errorf("last chunk = %+v, want the usage chunk", last)
	}
	if served.Model != "x/c" || served.Route != "x/a:upstream_error>x/b:upstream_error>x/c:streaming" {
		t.Errorf("served %q via %q", served.Model, served.Route)
	}
}

func TestStreamNoFirstByteMovesOn(t *testing.T) {
	// a never answers at all; b answers.
	tb := newTestbed(t, map[string][]step{"a": {{hang: true}}, "b": {{text: "b answers"}}}, []string{"a", "b"}, timeouts{firstByte: 40 * time.Millisecond}, 0, nil, nil)
	start := time.Now()
	st, _, err := tb.svc.ChatStream(context.Background(), streamReq("x/a"))
	if err != nil {
		t.Fatal(err)
	}
	text, _, err := collectStream(t, st)
	if err != nil || text != "b answers" {
		t.Fatalf("%q %v", text, err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("took %v", el)
	}
}

func TestStreamCutMidAnswerIsContinued(t *testing.T) {
	scripts := map[string][]step{
		"a": {{text: "The answer is", cutAt: 2, cutErr: upErr(octomesh.EUPSTREAM, 0)}}, // sends "The " "answ" then cuts
		"b": {{text: "er is 42.", usage: &octomesh.Usage{PromptTokens: 20, CompletionTokens: 4}}},
	}
	tb := newTestbed(t, scripts, []string{"a", "b"}, timeouts{}, 0, nil, map[string]bool{"b": true})
	st, served, err := tb.svc.ChatStream(context.Background(), streamReq("x/a"))
	if err != nil {
		t.Fatal(err)
	}
	text, chunks, err := collectStream(t, st)
	if err != nil {
		t.Fatalf("err %v", err)
	}
	if text != "The answer is 42." {
		t.Errorf("text = %q, want the partial answer completed", text)
	}
	// The continuation request carried the partial answer as a prefill.
	b := tb.provs["b"].reqs[0]
	lastMsg := b.Messages[len(b.Messages)-1]
	if lastMsg.Role != "assistant" || lastMsg.Content.Text() != "The answ" {
		t.Errorf("continuation prefill = %s %q", lastMsg.Role, lastMsg.Content.Text())
	}
	ids := map[string]bool{}
	for _, c := range chunks {
		ids[c.ID] = true
	}
	if len(ids) != 1 {
		t.Errorf("chunk ids %v: a continued stream keeps one id", ids)
	}
	u := chunks[len(chunks)-1].Usage
	// a was cut: billed for what it relayed (8 bytes = 2 tokens) plus its prompt estimate; b reported 20+4.
	if u == nil || u.CompletionTokens != 2+4 {
		t.Errorf("usage = %+v", u)
	}
	if served.Cost == 0 {
		t.Error("no cost")
	}
}

func TestStreamCutWithoutCapableFallbackEndsWithTheOriginalError(t *testing.T) {
	scripts := map[string][]step{
		"a": {{text: "The answer is", cutAt: 1, cutErr: upErr(octomesh.EUPSTREAM, 0)}},
		"b": {{text: "never used"}},
	}
	tb := newTestbed(t, scripts, []string{"a", "b"}, timeouts{}, 0, nil, nil)
	st, _, err := tb.svc.ChatStream(context.Background(), streamReq("x/a"))
	if err != nil {
		t.Fatal(err)
	}
	text, _, err := collectStream(t, st)
	if octomesh.ErrorCodeOf(err) != octomesh.EUPSTREAM || text != "The " {
		t.Errorf("text %q err %v; want the partial text and the original error", text, err)
	}
	if tb.provs["b"].calls() != 0 {
		t.Error("a fallback that cannot continue was called")
	}
}

func TestRejectedContinuationDoesNotMaskTheOriginalFailure(t *testing.T) {
	scripts := map[string][]step{
		"a": {{text: "The answer is", cutAt: 1, cutErr: upErr(octomesh.ETIMEOUT, 0)}},
		"b": {{err: upErr(octomesh.EINVALID, 0)}}, // rejects the prefill
	}
	tb := newTestbed(t, scripts, []string{"a", "b"}, timeouts{}, 0, nil, map[string]bool{"b": true})
	st, _, err := tb.svc.ChatStream(context.Background(), streamReq("x/a"))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = collectStream(t, st)
	if octomesh.ErrorCodeOf(err) != octomesh.ETIMEOUT {
		t.Errorf("err = %v, want the original timeout", err)
	}
}

func TestStreamStallIsCutAtTheIdleTimeout(t *testing.T) {
	scripts := map[string][]step{
		"a": {{text: "Once upon a time", stall: 2}},
		"b": {{text: "n a time."}}, // continues after "Once upo"
	}
	tb := newTestbed(t, scripts, []string{"a", "b"}, timeouts{idle: 50 * time.Millisecond}, 0, nil, map[string]bool{"b": true})
	start := time.Now()
	st, _, err := tb.svc.ChatStream(context.Background(), streamReq("x/a"))
	if err != nil {
		t.Fatal(err)
	}
	text, _, err := collectStream(t, st)
	if err != nil || text != "Once upon a time." {
		t.Errorf("text %q err %v", text, err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("stall handled after %v", el)
	}
}

func TestRejectedContinuationMovesOnAndIsNotRetried(t *testing.T) {
	scripts := map[string][]step{
		"a": {{text: "The answer is", cutAt: 1, cutErr: upErr(octomesh.EUPSTREAM, 0)}}, // sends "The " then cuts
		"b": {{err: upErr(octomesh.EINVALID, 0)}},                                      // rejects the prefill
		"c": {{text: "answer is 42.", cutAt: 1, cutErr: upErr(octomesh.EUPSTREAM, 0)}}, // continues, then is cut too
	}
	tb := newTestbed(t, scripts, []string{"a", "b", "c"}, timeouts{}, 0, nil, map[string]bool{"b": true, "c": true})
	tb.svc.planner = wrapMaxAttempts(tb.svc.planner, 5)
	st, _, err := tb.svc.ChatStream(context.Background(), streamReq("x/a"))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = collectStream(t, st)
	if octomesh.ErrorCodeOf(err) != octomesh.EUPSTREAM {
		t.Errorf("err = %v", err)
	}
	if n := tb.provs["b"].calls(); n != 1 {
		t.Errorf("b rejected the continuation and was asked %d times; want 1", n)
	}
	for _, r := range tb.provs["c"].reqs {
		n := 0
		for _, m := range r.Messages {
			if m.Role == octomesh.RoleAssistant {
				n++
			}
		}
		if n != 1 {
			t.Errorf("a continuation request carries %d assistant messages; want exactly the one prefill", n)
		}
	}
}

func wrapMaxAttempts(p func(context.Context, *octomesh.ChatRequest) (*plan, error), n int) func(context.Context, *octomesh.ChatRequest) (*plan, error) {
	return func(ctx context.Context, r *octomesh.ChatRequest) (*plan, error) {
		pl, err := p(ctx, r)
		if pl != nil {
			pl.maxAttempts = n
		}
		return pl, err
	}
}

func TestStreamHedging(t *testing.T) {
	// a opens at once but sends its first content only after 2s; b answers at once.
	scripts := map[string][]step{"a": {{text: "slow a", delay: 2 * time.Second}}, "b": {{text: "fast b"}}}
	tb := newTestbed(t, scripts, []string{"a", "b"}, timeouts{}, 30*time.Millisecond, nil, nil)
	tb.svc.health = &hedgeHealth{localHealth: newLocalHealth()}
	start := time.Now()
	st, served, err := tb.svc.ChatStream(context.Background(), streamReq("x/a"))
	if err != nil {
		t.Fatal(err)
	}
	text, chunks, err := collectStream(t, st)
	if err != nil || text != "fast b" {
		t.Fatalf("text %q err %v", text, err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("hedged stream took %v; the slow primary was not abandoned", el)
	}
	if served.Model != "x/b" || served.Route != "x/a:cancelled>x/b:hedge-streaming" {
		t.Errorf("served %s via %q", served.Model, served.Route)
	}
	if chunks[0].Choices[0].Delta.Role != "assistant" || chunks[0].Model != "x/b" {
		t.Errorf("first chunk = %+v", chunks[0])
	}
}

// A stream whose upstream stalls within its idle bound but past its total
// timeout is cut at the total, as a timeout, and continued elsewhere: the
// total is the attempt's one timer's, not a context deadline's.
func TestStreamTotalTimeoutCutsAStall(t *testing.T) {
	scripts := map[string][]step{
		"a": {{text: "Once upon a time", stall: 2}},
		"b": {{text: "n a time."}}, // continues after "Once upo"
	}
	tb := newTestbed(t, scripts, []string{"a", "b"}, timeouts{idle: time.Hour, total: 50 * time.Millisecond}, 0, nil, map[string]bool{"b": true})
	ctx := octomesh.WithRequestID(context.Background(), "req-total")
	st, _, err := tb.svc.ChatStream(ctx, streamReq("x/a"))
	if err != nil {
		t.Fatal(err)
	}
	text, _, err := collectStream(t, st)
	if err != nil || text != "Once upon a time." {
		t.Errorf("text %q err %v", text, err)
	}
	dec, err := tb.svc.Decision(ctx, "req-total")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := routeHeader(dec.Attempts), "x/a:timeout>x/b:cont-ok"; got != want {
		t.Errorf("route = %q, want %q: a's attempt ended by its total timeout", got, want)
	}
}
