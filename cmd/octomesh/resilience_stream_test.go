package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/anthropicwire"
	"github.com/octomesh/octomesh/internal/fakeupstream"
)

// Streamed faults. The OpenAI fake streams its answer as a role chunk,
// four content pieces, a finish chunk, a usage chunk and [DONE], so
// "after 3 events" is mid-answer: the role chunk and two pieces.

// continuationFleet is poolFleet with pool/b able to continue a partial
// answer (Anthropic accepts a prefilled assistant message).
func continuationFleet() []rsModel {
	f := poolFleet()
	f[1].caps = "[tools, json_schema, streaming, continuation]"
	return f
}

// garbage is a malformed event a broken upstream might send.
const garbage = "data: {\"id\":\"chatcmpl-x\",\"choices\":[{GARBAGE-7f3a\n\n"

// streamOK checks a stream that must deliver want whole: one role chunk,
// [DONE] last, no error, only valid chunks, each naming the model the
// x-octomesh-model header names.
func streamOK(t *testing.T, r rsResponse, want string) sseStream {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d (route %q), body %s", r.status, r.route(), r.body)
	}
	s := parseOpenAIStream(r.body)
	if s.text != want {
		t.Errorf("streamed text %q, want %q", s.text, want)
	}
	if s.roleChunks != 1 || !s.done || s.afterEnd != 0 || s.err != nil || len(s.invalid) != 0 || s.finish != "stop" {
		t.Errorf("stream: %d role chunks, [DONE] %v (then %d events), finish %q, error %v, invalid events %q; want 1 role chunk, finish stop, [DONE] last, no error",
			s.roleChunks, s.done, s.afterEnd, s.finish, s.err, s.invalid)
	}
	s.checkModels(t, r)
	return s
}

// streamFailed checks a stream that must end with an OpenAI error event
// with code after a non-empty proper prefix of answer, and no [DONE]. It
// returns the prefix delivered.
func streamFailed(t *testing.T, r rsResponse, answer, code string) sseStream {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d (route %q), body %s", r.status, r.route(), r.body)
	}
	s := parseOpenAIStream(r.body)
	if s.text == "" || !strings.HasPrefix(answer, s.text) {
		t.Errorf("streamed text %q, want a prefix of %q", s.text, answer)
	}
	if s.done || s.err == nil || s.err.Error.Code != code || s.afterEnd != 0 || len(s.invalid) != 0 || s.roleChunks != 1 {
		t.Errorf("stream end: [DONE] %v, error %+v (then %d events), invalid events %q, %d role chunks; want an error event with code %q last and no [DONE]",
			s.done, s.err, s.afterEnd, s.invalid, s.roleChunks, code)
	}
	s.checkModels(t, r)
	return s
}

// checkModels checks that every chunk names the deployment the
// x-octomesh-model header names.
func (s sseStream) checkModels(t *testing.T, r rsResponse) {
	t.Helper()
	want := r.header.Get("X-Octomesh-Model")
	for m, n := range s.models {
		if m != want {
			t.Errorf("%d chunks name model %q; the x-octomesh-model header says %q (models seen: %v)", n, m, want, s.models)
		}
	}
}

// prefill returns the partial assistant message a continuation request
// (the last request f received) ended with.
func prefill(t *testing.T, f *fakeupstream.Server) string {
	t.Helper()
	reqs := f.Requests()
	if len(reqs) == 0 {
		t.Fatal("the continuation fallback received nothing")
	}
	msgs, _ := reqs[len(reqs)-1].Body["messages"].([]any)
	if len(msgs) == 0 {
		t.Fatalf("continuation request without messages: %s", reqs[len(reqs)-1].RawBody)
	}
	last, _ := msgs[len(msgs)-1].(map[string]any)
	if last["role"] != "assistant" {
		t.Fatalf("continuation request's last message is %v, want the partial assistant answer", last)
	}
	switch c := last["content"].(type) {
	case string:
		return c
	case []any:
		var b strings.Builder
		for _, blk := range c {
			if m, ok := blk.(map[string]any); ok && m["type"] == "text" {
				s, _ := m["text"].(string)
				b.WriteString(s)
			}
		}
		return b.String()
	}
	t.Fatalf("continuation request's last message content %v", last["content"])
	return ""
}

// estimatedCost is what the gateway bills an attempt that relayed n bytes
// of content without reporting usage: the prompt estimate and n/4 tokens.
func estimatedCost(t *testing.T, body map[string]any, p octomesh.Price, n int) octomesh.Money {
	t.Helper()
	b, _ := json.Marshal(body)
	var req octomesh.ChatRequest
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatal(err)
	}
	in, out := req.EstimateTokens(), (n+3)/4
	return p.Cost(octomesh.Usage{PromptTokens: in, CompletionTokens: out, TotalTokens: in + out})
}

// wantCost checks the x-octomesh-cost-usd trailer of a stream.
func wantCost(t *testing.T, r rsResponse, want octomesh.Money) {
	t.Helper()
	got := r.trailer.Get("X-Octomesh-Cost-Usd")
	if m, err := octomesh.ParseMoney(got); err != nil || m != want {
		t.Errorf("x-octomesh-cost-usd trailer = %q, want %s", got, want)
	}
}

// wantStreamRoute is wantRoute for streams whose first attempt is the one
// streaming, ignoring a leading ">" in the header (which
// TestResilienceStreamRouteHeader checks on its own).
func (rs *rsServer) wantStreamRoute(t *testing.T, r rsResponse, route, outcome string) octomesh.Decision {
	t.Helper()
	r.header = r.header.Clone()
	r.header.Set("X-Octomesh-Route", strings.TrimPrefix(r.route(), ">"))
	return rs.wantRoute(t, r, route, outcome)
}

// TestResilienceStreamRouteHeader: a stream served by its first attempt
// names it in x-octomesh-route as "<deployment>:streaming".
func TestResilienceStreamRouteHeader(t *testing.T) {
	t.Parallel()
	rs := startRS(t, poolFleet(), rsRouting{})
	r := rs.chat(t, chatBody("pool", question, true))
	streamOK(t, r, rs.fake("pool/a").ReplyText(question))
	rs.wantRoute(t, r, "pool/a:streaming", "ok")
}

// TestResilienceSlowFirstToken: an upstream that sends its headers and role
// chunk but no content by the first-byte deadline is abandoned and the
// fallback answers, invisibly: one role chunk, the fallback's content only.
func TestResilienceSlowFirstToken(t *testing.T) {
	t.Parallel()
	rs := startRS(t, poolFleet(), rsRouting{firstByte: "300ms"})
	a, b := rs.fake("pool/a"), rs.fake("pool/b")
	a.PauseStreamAfter(1, time.Minute)
	start := time.Now()
	r := rs.chat(t, chatBody("pool", question, true))
	streamOK(t, r, b.ReplyText(question))
	rs.wantRoute(t, r, "pool/a:timeout>pool/b:streaming", "ok")
	if got := r.header.Get("X-Octomesh-Model"); got != "pool/b" {
		t.Errorf("x-octomesh-model = %q, want pool/b", got)
	}
	within(t, "a stream with a slow first token", r.elapsed, 300*time.Millisecond, 1300*time.Millisecond)
	if at, ok := waitDisconnect(a, time.Second); !ok {
		t.Error("the slow upstream never saw its connection close")
	} else {
		within(t, "abandoning the slow upstream", at.Sub(start), 300*time.Millisecond, time.Second)
	}
	rs.wantCounts(t, "after the failover", map[string]int{"pool/a": 1, "pool/b": 1})
}

// TestResilienceStreamCutMidAnswer: a stream cut after content was sent is
// completed by a continuation-capable fallback (the client's text is the
// partial answer plus the continuation, and both parts are billed); with no
// capable fallback it ends with an explicit error event in the inbound
// format, never as a complete answer.
func TestResilienceStreamCutMidAnswer(t *testing.T) {
	t.Parallel()
	t.Run("continued", func(t *testing.T) {
		t.Parallel()
		rs := startRS(t, continuationFleet(), rsRouting{})
		a, b := rs.fake("pool/a"), rs.fake("pool/b")
		a.CutStreamAfter(3)
		body := chatBody("pool", question, true)
		body["stream_options"] = map[string]any{"include_usage": true}
		r := rs.chat(t, body)
		partial := prefill(t, b)
		if partial == "" || len(partial) >= len(a.ReplyText(question)) || !strings.HasPrefix(a.ReplyText(question), partial) {
			t.Errorf("continuation prefill %q, want a proper prefix of pool/a's answer %q", partial, a.ReplyText(question))
		}
		s := streamOK(t, r, partial+b.ReplyText(question))
		d := rs.wantStreamRoute(t, r, "pool/a:streaming", "ok")
		if diff := cmp.Diff([]string{"pool/a:upstream_error", "pool/b:ok(cont)"}, attemptOutcomes(d)); diff != "" || d.Outcome != "ok" {
			t.Errorf("attempts (-want +got):\n%s\noutcome %q, want ok", diff, d.Outcome)
		}
		if len(d.Attempts) > 0 && d.Attempts[0].Relayed != len(partial) {
			t.Errorf("the cut attempt relayed %d bytes, want %d", d.Attempts[0].Relayed, len(partial))
		}
		// Billing: pool/a reported no usage before the cut, so what it
		// relayed is estimated; pool/b's reported usage at its price.
		costA := estimatedCost(t, body, rs.models["pool/a"].price(t), len(partial))
		costB := rs.models["pool/b"].price(t).Cost(fakeUsage())
		wantCost(t, r, costA+costB)
		if s.usage == nil || s.usage.CompletionTokens != (len(partial)+3)/4+fakeupstream.CompletionTokens {
			t.Errorf("usage chunk %+v, want the completion tokens of both parts", s.usage)
		}
		rs.wantCounts(t, "after the continuation", map[string]int{"pool/a": 1, "pool/b": 1})
	})
	t.Run("no capable fallback", func(t *testing.T) {
		t.Parallel()
		rs := startRS(t, poolFleet(), rsRouting{})
		a := rs.fake("pool/a")
		a.CutStreamAfter(3)
		body := chatBody("pool", question, true)
		r := rs.chat(t, body)
		s := streamFailed(t, r, a.ReplyText(question), "upstream_error")
		rs.wantStreamRoute(t, r, "pool/a:streaming", "upstream_error")
		wantCost(t, r, estimatedCost(t, body, rs.models["pool/a"].price(t), len(s.text)))
		rs.wantCounts(t, "after the cut", map[string]int{"pool/a": 1})
	})
	t.Run("continued, Anthropic format", func(t *testing.T) {
		t.Parallel()
		rs := startRS(t, continuationFleet(), rsRouting{})
		a, b := rs.fake("pool/a"), rs.fake("pool/b")
		a.CutStreamAfter(3)
		r := rs.post(t, nil, "/v1/messages", chatBody("pool", question, true))
		if r.status != http.StatusOK {
			t.Fatalf("status %d, body %s", r.status, r.body)
		}
		s := parseAnthropicStream(r.body)
		if want := prefill(t, b) + b.ReplyText(question); s.text != want {
			t.Errorf("streamed text %q, want %q", s.text, want)
		}
		n := len(s.events)
		if n == 0 || s.events[n-1] != "message_stop" || s.errType != "" || len(s.invalid) != 0 {
			t.Errorf("events %v (error type %q, invalid %q), want a complete message ending with message_stop", s.events, s.errType, s.invalid)
		}
		if got := strings.Count(strings.Join(s.events, " "), "message_start"); got != 1 {
			t.Errorf("%d message_start events, want 1", got)
		}
		d := rs.decision(t, r.requestID())
		if diff := cmp.Diff([]string{"pool/a:upstream_error", "pool/b:ok(cont)"}, attemptOutcomes(d)); diff != "" {
			t.Errorf("attempts (-want +got):\n%s", diff)
		}
	})
	t.Run("no capable fallback, Anthropic format", func(t *testing.T) {
		t.Parallel()
		rs := startRS(t, poolFleet(), rsRouting{})
		a := rs.fake("pool/a")
		a.CutStreamAfter(3)
		r := rs.post(t, nil, "/v1/messages", chatBody("pool", question, true))
		if r.status != http.StatusOK {
			t.Fatalf("status %d, body %s", r.status, r.body)
		}
		s := parseAnthropicStream(r.body)
		if s.text == "" || !strings.HasPrefix(a.ReplyText(question), s.text) || len(s.text) == len(a.ReplyText(question)) {
			t.Errorf("streamed text %q, want a proper prefix of %q", s.text, a.ReplyText(question))
		}
		n := len(s.events)
		if n == 0 || s.events[n-1] != "error" || s.errType != anthropicwire.ErrorType(octomesh.EUPSTREAM) || len(s.invalid) != 0 {
			t.Errorf("events %v (error type %q, invalid %q), want an error event of type %q last", s.events, s.errType, s.invalid, anthropicwire.ErrorType(octomesh.EUPSTREAM))
		}
		for _, e := range s.events {
			if e == "message_stop" || e == "message_delta" {
				t.Errorf("a cut answer was ended as complete: events %v", s.events)
			}
		}
		d := rs.decision(t, r.requestID())
		if d.Outcome != "upstream_error" {
			t.Errorf("decision outcome %q, want upstream_error", d.Outcome)
		}
		rs.wantCounts(t, "after the cut", map[string]int{"pool/a": 1})
	})
}

// TestResilienceStreamStall: a stream that goes silent after content is
// cut at the idle timeout: completed by a continuation-capable fallback,
// or ended with a timeout error event.
func TestResilienceStreamStall(t *testing.T) {
	t.Parallel()
	t.Run("continued", func(t *testing.T) {
		t.Parallel()
		rs := startRS(t, continuationFleet(), rsRouting{idle: "300ms"})
		a, b := rs.fake("pool/a"), rs.fake("pool/b")
		a.PauseStreamAfter(3, time.Minute)
		r := rs.chat(t, chatBody("pool", question, true))
		streamOK(t, r, prefill(t, b)+b.ReplyText(question))
		within(t, "a stalled stream, continued", r.elapsed, 300*time.Millisecond, 1300*time.Millisecond)
		d := rs.decision(t, r.requestID())
		if diff := cmp.Diff([]string{"pool/a:timeout", "pool/b:ok(cont)"}, attemptOutcomes(d)); diff != "" {
			t.Errorf("attempts (-want +got):\n%s", diff)
		}
		if _, ok := waitDisconnect(a, time.Second); !ok {
			t.Error("the stalled upstream never saw its connection close")
		}
	})
	t.Run("no capable fallback", func(t *testing.T) {
		t.Parallel()
		rs := startRS(t, poolFleet(), rsRouting{idle: "300ms"})
		a := rs.fake("pool/a")
		a.PauseStreamAfter(3, time.Minute)
		r := rs.chat(t, chatBody("pool", question, true))
		streamFailed(t, r, a.ReplyText(question), "timeout")
		within(t, "a stalled stream", r.elapsed, 300*time.Millisecond, 1300*time.Millisecond)
		rs.wantStreamRoute(t, r, "pool/a:streaming", "timeout")
		if _, ok := waitDisconnect(a, time.Second); !ok {
			t.Error("the stalled upstream never saw its connection close")
		}
		rs.wantCounts(t, "after the stall", map[string]int{"pool/a": 1})
	})
}

// TestResilienceMalformedChunk: an unparsable event before any content is
// an invisible failover; after content it ends the stream with an error
// event. The garbage never reaches the client.
func TestResilienceMalformedChunk(t *testing.T) {
	t.Parallel()
	rs := startRS(t, poolFleet(), rsRouting{})
	a, b := rs.fake("pool/a"), rs.fake("pool/b")

	a.InjectStreamAfter(1, garbage) // after the role chunk
	r := rs.chat(t, chatBody("pool", question, true))
	streamOK(t, r, b.ReplyText(question))
	rs.wantRoute(t, r, "pool/a:upstream_error>pool/b:streaming", "ok")
	if strings.Contains(string(r.body), "GARBAGE") {
		t.Errorf("the malformed event reached the client: %s", r.body)
	}

	a.InjectStreamAfter(3, garbage) // mid-answer
	r = rs.chat(t, chatBody("pool", question, true))
	streamFailed(t, r, a.ReplyText(question), "upstream_error")
	if strings.Contains(string(r.body), "GARBAGE") {
		t.Errorf("the malformed event reached the client: %s", r.body)
	}
	rs.wantCounts(t, "after both", map[string]int{"pool/a": 2, "pool/b": 1})
}

// TestResilienceStreamWithoutDone: a stream that ends without [DONE] —
// even after its finish reason — is not reported complete: it ends with an
// error event and no [DONE], at once when the connection closes and at the
// idle timeout when it is held open.
func TestResilienceStreamWithoutDone(t *testing.T) {
	t.Parallel()
	rs := startRS(t, poolFleet(), rsRouting{idle: "300ms"})
	a := rs.fake("pool/a")
	answer := a.ReplyText(question)

	check := func(t *testing.T, r rsResponse, code string) {
		t.Helper()
		s := parseOpenAIStream(r.body)
		if s.text != answer || s.done || s.err == nil || s.err.Error.Code != code || s.afterEnd != 0 {
			t.Errorf("stream: text %q, [DONE] %v, error %+v; want the whole answer, then an error event with code %q and no [DONE]", s.text, s.done, s.err, code)
		}
	}
	a.CutStreamAfter(100) // all but [DONE], then the connection closes
	r := rs.chat(t, chatBody("pool", question, true))
	check(t, r, "upstream_error")
	within(t, "a stream closed without [DONE]", r.elapsed, 0, 300*time.Millisecond)

	a.CutStreamAfter(100) // all but [DONE], then the connection stays open
	a.PauseStreamAfter(100, time.Minute)
	r = rs.chat(t, chatBody("pool", question, true))
	check(t, r, "timeout")
	within(t, "a stream held open without [DONE]", r.elapsed, 300*time.Millisecond, 1300*time.Millisecond)
	rs.wantCounts(t, "after both", map[string]int{"pool/a": 2})
}

// TestResilienceRejectedContinuation: when the only continuation-capable
// fallback rejects the continuation (a 400), the client sees the original
// failure's code, and the rejection is not retried.
func TestResilienceRejectedContinuation(t *testing.T) {
	t.Parallel()
	rs := startRS(t, continuationFleet(), rsRouting{})
	a, b := rs.fake("pool/a"), rs.fake("pool/b")
	a.CutStreamAfter(3)
	b.FailAlways(http.StatusBadRequest, `{"type":"error","error":{"type":"invalid_request_error","message":"messages: final assistant content cannot end with trailing whitespace"}}`, nil)
	r := rs.chat(t, chatBody("pool", question, true))
	streamFailed(t, r, a.ReplyText(question), "upstream_error")
	d := rs.decision(t, r.requestID())
	if diff := cmp.Diff([]string{"pool/a:upstream_error", "pool/b:invalid_request(cont)"}, attemptOutcomes(d)); diff != "" || d.Outcome != "upstream_error" {
		t.Errorf("attempts (-want +got):\n%s\noutcome %q, want upstream_error", diff, d.Outcome)
	}
	rs.wantCounts(t, "after the rejected continuation", map[string]int{"pool/a": 1, "pool/b": 1})
}

// TestResilienceContinuationAfterWhitespace: a stream cut right after a
// space is still completed by an Anthropic fallback. The real Messages API
// rejects a final assistant message (the prefill carrying the partial
// answer) that ends in whitespace, as the strict fake does, so the
// continuation must not be sent that way.
func TestResilienceContinuationAfterWhitespace(t *testing.T) {
	t.Parallel()
	rs := startRS(t, continuationFleet(), rsRouting{})
	a, b := rs.fake("pool/a"), rs.fake("pool/b")
	b.StrictPrefill()
	// pool/a's answer "Hello from openai: how far is it to t" streams as
	// "Hello from", " openai: h", "ow far is ", "it to t": cut after the
	// third piece, the partial answer ends in a space.
	const q = "how far is it to the port"
	const partial = "Hello from openai: how far is "
	if !strings.HasPrefix(a.ReplyText(q), partial) {
		t.Fatalf("pool/a answers %q; the test needs it to start with %q", a.ReplyText(q), partial)
	}
	a.CutStreamAfter(4)
	r := rs.chat(t, chatBody("pool", q, true))
	s := parseOpenAIStream(r.body)
	if !strings.HasPrefix(s.text, partial) || !strings.HasSuffix(s.text, b.ReplyText(q)) || !s.done || s.err != nil {
		t.Errorf("stream: text %q, [DONE] %v, error %+v; want %q completed by pool/b's %q", s.text, s.done, s.err, partial, b.ReplyText(q))
	}
	d := rs.decision(t, r.requestID())
	if diff := cmp.Diff([]string{"pool/a:upstream_error", "pool/b:ok(cont)"}, attemptOutcomes(d)); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
}
