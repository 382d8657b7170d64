package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/octomesh/octomesh"
)

// The resilience suite: every fault of issue 3's "Tests and figures" driven
// through fake upstreams over real loopback HTTP, with exact assertions on
// the attempts (x-octomesh-route and the decision record), the fakes'
// request counts, timing bounds, the final content and the error shape.
// Each test runs its own server (circuits, cool-downs and budgets are
// per server) and they run in parallel.

// question is the user message of most requests; each fake answers
// "Hello from <provider>: " + its first 20 characters.
const question = "which way to the harbour"

// wantCounts compares the fakes' request counts with want (missing: 0).
func (rs *rsServer) wantCounts(t *testing.T, when string, want map[string]int) {
	t.Helper()
	full := map[string]int{}
	for name := range rs.fakes {
		full[name] = want[name]
	}
	if diff := cmp.Diff(full, rs.counts()); diff != "" {
		t.Errorf("%s: upstream requests per deployment (-want +got):\n%s", when, diff)
	}
}

// wantRoute checks the x-octomesh-route header and the decision record's
// attempts and outcome.
func (rs *rsServer) wantRoute(t *testing.T, r rsResponse, route string, outcome string) octomesh.Decision {
	t.Helper()
	if got := r.route(); got != route {
		t.Errorf("x-octomesh-route = %q, want %q", got, route)
	}
	d := rs.decision(t, r.requestID())
	if d.Outcome != outcome {
		t.Errorf("decision outcome = %q, want %q (attempts %v)", d.Outcome, outcome, attemptOutcomes(d))
	}
	return d
}

// TestResilienceRetryAfterCoolsDownForEveryone: a 429 with Retry-After
// fails over at once, and the deployment is then left alone — by every
// request, not just the one that saw the 429 — until the Retry-After
// expires; after it, traffic returns.
func TestResilienceRetryAfterCoolsDownForEveryone(t *testing.T) {
	t.Parallel()
	rs := startRS(t, poolFleet(), rsRouting{})
	a, b := rs.fake("pool/a"), rs.fake("pool/b")
	a.FailNext(http.StatusTooManyRequests, "", map[string]string{"Retry-After": "1"})

	r1 := rs.chat(t, chatBody("pool", question, false))
	cooledAt := time.Now()
	if got, want := answerText(t, r1), b.ReplyText(question); got != want {
		t.Errorf("answer %q, want the fallback's %q", got, want)
	}
	rs.wantRoute(t, r1, "pool/a:rate_limited>pool/b:ok", "ok")
	within(t, "a 429 failover", r1.elapsed, 0, 500*time.Millisecond)
	rs.wantCounts(t, "after the 429", map[string]int{"pool/a": 1, "pool/b": 1})

	// Another request, from the same or any other caller: pool/a is not
	// touched while it cools down.
	r2 := rs.chat(t, chatBody("pool", "another caller asks", false))
	d2 := rs.wantRoute(t, r2, "pool/b:ok", "ok")
	if diff := cmp.Diff([]string{"pool/a:cooling_down"}, exclusions(d2)); diff != "" {
		t.Errorf("exclusions during the cool-down (-want +got):\n%s", diff)
	}
	if ex := rs.explain(t, chatBody("pool", question, false)); !cmp.Equal(exclusions(ex), []string{"pool/a:cooling_down"}) {
		t.Errorf("explain during the cool-down excludes %v, want pool/a cooling down", exclusions(ex))
	}
	rs.wantCounts(t, "during the cool-down", map[string]int{"pool/a": 1, "pool/b": 2})

	// Once Retry-After has passed, pool/a (the cheapest) serves again.
	time.Sleep(time.Until(cooledAt.Add(1100 * time.Millisecond)))
	r3 := rs.chat(t, chatBody("pool", question, false))
	if got, want := answerText(t, r3), a.ReplyText(question); got != want {
		t.Errorf("after the cool-down: answer %q, want %q", got, want)
	}
	rs.wantRoute(t, r3, "pool/a:ok", "ok")
	rs.wantCounts(t, "after the cool-down", map[string]int{"pool/a": 2, "pool/b": 2})
}

// TestResilienceRetryAfterOnALoneDeployment: with nothing to fail over to,
// the client gets the 429 and its Retry-After; until it expires the
// deployment is not called again and requests fail fast with 503 and
// Retry-After.
func TestResilienceRetryAfterOnALoneDeployment(t *testing.T) {
	t.Parallel()
	rs := startRS(t, poolFleet(), rsRouting{})
	rs.fake("pool/a").FailNext(http.StatusTooManyRequests, "", map[string]string{"Retry-After": "2"})

	r1 := rs.chat(t, chatBody("pool/a", question, false))
	if r1.status != http.StatusTooManyRequests || r1.header.Get("Retry-After") != "2" {
		t.Errorf("status %d Retry-After %q, want 429 and 2", r1.status, r1.header.Get("Retry-After"))
	}
	if e := r1.errorBody(t).Error; e.Code != "rate_limit_exceeded" || e.Type != "rate_limit_error" {
		t.Errorf("error %+v, want code rate_limit_exceeded, type rate_limit_error", e)
	}
	rs.wantRoute(t, r1, "pool/a:rate_limited", "rate_limited")

	r2 := rs.chat(t, chatBody("pool/a", question, false))
	if r2.status != http.StatusServiceUnavailable {
		t.Errorf("during the cool-down: status %d, want 503", r2.status)
	}
	if ra := r2.header.Get("Retry-After"); ra != "1" && ra != "2" {
		t.Errorf("during the cool-down: Retry-After %q, want the rest of the 2s", ra)
	}
	if e := r2.errorBody(t).Error; e.Code != "unavailable" || !strings.Contains(e.Message, "cooling_down") {
		t.Errorf("during the cool-down: error %+v, want code unavailable naming cooling_down", e)
	}
	within(t, "a request during the cool-down", r2.elapsed, 0, 200*time.Millisecond)
	rs.wantCounts(t, "during the cool-down", map[string]int{"pool/a": 1})
}

// TestResilienceRateLimitWithoutRetryAfter: a bare 429 fails over, and
// without a Retry-After the deployment is not cooled down.
func TestResilienceRateLimitWithoutRetryAfter(t *testing.T) {
	t.Parallel()
	rs := startRS(t, poolFleet(), rsRouting{})
	a, b := rs.fake("pool/a"), rs.fake("pool/b")
	a.FailNext(http.StatusTooManyRequests, "", nil)

	r1 := rs.chat(t, chatBody("pool", question, false))
	if got, want := answerText(t, r1), b.ReplyText(question); got != want {
		t.Errorf("answer %q, want the fallback's %q", got, want)
	}
	rs.wantRoute(t, r1, "pool/a:rate_limited>pool/b:ok", "ok")

	r2 := rs.chat(t, chatBody("pool", question, false))
	if got, want := answerText(t, r2), a.ReplyText(question); got != want {
		t.Errorf("second request: answer %q, want %q", got, want)
	}
	rs.wantRoute(t, r2, "pool/a:ok", "ok")
	rs.wantCounts(t, "after both", map[string]int{"pool/a": 2, "pool/b": 1})
}

// TestResilienceServerErrorOnceIsRetried: a lone deployment that fails
// once with 500 is retried after a backoff and its answer returned.
func TestResilienceServerErrorOnceIsRetried(t *testing.T) {
	t.Parallel()
	rs := startRS(t, poolFleet(), rsRouting{})
	a := rs.fake("pool/a")
	a.FailNext(http.StatusInternalServerError, "", nil)

	r := rs.chat(t, chatBody("pool/a", question, false))
	if got, want := answerText(t, r), a.ReplyText(question); got != want {
		t.Errorf("answer %q, want %q", got, want)
	}
	rs.wantRoute(t, r, "pool/a:upstream_error>pool/a:ok", "ok")
	// The retry waits the first backoff: 100ms with jitter in [50ms, 100ms].
	within(t, "a retried request", r.elapsed, 50*time.Millisecond, 600*time.Millisecond)
	rs.wantCounts(t, "after the retry", map[string]int{"pool/a": 2})
}

// TestResiliencePersistent503FailsOver: a deployment answering 503 on
// every request is failed over on each, until its circuit opens.
func TestResiliencePersistent503FailsOver(t *testing.T) {
	t.Parallel()
	rs := startRS(t, poolFleet(), rsRouting{})
	rs.fake("pool/a").FailAlways(http.StatusServiceUnavailable, "", nil)
	b := rs.fake("pool/b")
	for i := range 2 {
		r := rs.chat(t, chatBody("pool", question, false))
		if got, want := answerText(t, r), b.ReplyText(question); got != want {
			t.Errorf("request %d: answer %q, want the fallback's %q", i, got, want)
		}
		rs.wantRoute(t, r, "pool/a:overloaded>pool/b:ok", "ok")
		if got := r.header.Get("X-Octomesh-Model"); got != "pool/b" {
			t.Errorf("x-octomesh-model = %q, want pool/b", got)
		}
	}
	rs.wantCounts(t, "after two requests", map[string]int{"pool/a": 2, "pool/b": 2})
}

// TestResilienceConnectionResetBeforeHeaders: an upstream that drops the
// connection before answering is failed over, on plain and streamed
// requests (invisibly: the stream starts with the fallback).
func TestResilienceConnectionResetBeforeHeaders(t *testing.T) {
	t.Parallel()
	rs := startRS(t, poolFleet(), rsRouting{})
	a, b := rs.fake("pool/a"), rs.fake("pool/b")

	a.ResetNext()
	r := rs.chat(t, chatBody("pool", question, false))
	if got, want := answerText(t, r), b.ReplyText(question); got != want {
		t.Errorf("answer %q, want the fallback's %q", got, want)
	}
	rs.wantRoute(t, r, "pool/a:upstream_error>pool/b:ok", "ok")
	rs.wantCounts(t, "after the reset", map[string]int{"pool/a": 1, "pool/b": 1})

	a.ResetNext()
	r = rs.chat(t, chatBody("pool", question, true))
	s := parseOpenAIStream(r.body)
	if r.status != http.StatusOK || s.text != b.ReplyText(question) || s.roleChunks != 1 || !s.done || s.err != nil || len(s.invalid) > 0 {
		t.Errorf("stream after a reset: status %d, %+v; want the fallback's whole answer with one role chunk and [DONE]", r.status, s)
	}
	rs.wantRoute(t, r, "pool/a:upstream_error>pool/b:streaming", "ok")
	rs.wantCounts(t, "after the streamed reset", map[string]int{"pool/a": 2, "pool/b": 2})
}

// TestResilienceSilentUpstream: an upstream that never answers is
// abandoned at its deadline — the total timeout for a plain request, the
// first-byte timeout for a stream — and the next candidate answers. The
// fake sees the abandoned connection close.
func TestResilienceSilentUpstream(t *testing.T) {
	t.Parallel()
	rs := startRS(t, poolFleet(), rsRouting{firstByte: "300ms", total: "800ms"})
	a, b := rs.fake("pool/a"), rs.fake("pool/b")

	a.HangNext()
	start := time.Now()
	r := rs.chat(t, chatBody("pool", question, false))
	if got, want := answerText(t, r), b.ReplyText(question); got != want {
		t.Errorf("answer %q, want the fallback's %q", got, want)
	}
	d := rs.wantRoute(t, r, "pool/a:timeout>pool/b:ok", "ok")
	within(t, "a plain request to a silent upstream", r.elapsed, 800*time.Millisecond, 1800*time.Millisecond)
	if len(d.Attempts) == 2 {
		within(t, "the silent attempt", d.Attempts[0].Duration, 800*time.Millisecond, 1500*time.Millisecond)
	}
	if at, ok := waitDisconnect(a, time.Second); !ok {
		t.Error("the silent upstream never saw its connection close")
	} else {
		within(t, "abandoning the silent upstream", at.Sub(start), 800*time.Millisecond, 1500*time.Millisecond)
	}

	a.HangNext()
	start = time.Now()
	r = rs.chat(t, chatBody("pool", question, true))
	s := parseOpenAIStream(r.body)
	if s.text != b.ReplyText(question) || s.roleChunks != 1 || !s.done || s.err != nil {
		t.Errorf("stream: %+v, want the fallback's whole answer with one role chunk and [DONE]", s)
	}
	rs.wantRoute(t, r, "pool/a:timeout>pool/b:streaming", "ok")
	within(t, "a stream from a silent upstream", r.elapsed, 300*time.Millisecond, 1300*time.Millisecond)
	if at, ok := waitDisconnect(a, time.Second); !ok {
		t.Error("the silent upstream never saw its streamed connection close")
	} else {
		within(t, "abandoning the silent stream", at.Sub(start), 300*time.Millisecond, time.Second)
	}
	rs.wantCounts(t, "after both", map[string]int{"pool/a": 2, "pool/b": 2})
}

// contextLengthBody is OpenAI's answer to a prompt over the window.
const contextLengthBody = `{"error":{"message":"This model's maximum context length is 4096 tokens. However, your messages resulted in 9001 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`

// TestResilienceContextLengthExceeded: a context-length rejection moves to
// a candidate with a larger window when there is one, skipping same-size
// ones; when there is none the client gets 400 context_length_exceeded and
// nothing is retried.
func TestResilienceContextLengthExceeded(t *testing.T) {
	t.Parallel()
	fleet := []rsModel{
		{name: "ctx/small", kind: "openai", window: 4096, groups: "[pool, small]", input: "0.10", output: "0.40"},
		{name: "ctx/same", kind: "openai", window: 4096, groups: "[pool, small]", input: "0.20", output: "0.80"},
		{name: "ctx/large", kind: "anthropic", window: 200000, groups: "[pool]", input: "1.00", output: "5.00"},
	}
	rs := startRS(t, fleet, rsRouting{groups: []string{"pool", "small"}})
	small, large := rs.fake("ctx/small"), rs.fake("ctx/large")

	small.FailNext(http.StatusBadRequest, contextLengthBody, nil)
	r := rs.chat(t, chatBody("pool", question, false))
	if got, want := answerText(t, r), large.ReplyText(question); got != want {
		t.Errorf("answer %q, want the larger model's %q", got, want)
	}
	rs.wantRoute(t, r, "ctx/small:context_length_exceeded>ctx/large:ok", "ok")
	rs.wantCounts(t, "after moving to a larger window", map[string]int{"ctx/small": 1, "ctx/large": 1})

	small.FailNext(http.StatusBadRequest, contextLengthBody, nil)
	r = rs.chat(t, chatBody("small", question, false))
	if r.status != http.StatusBadRequest {
		t.Errorf("no larger window: status %d, want 400", r.status)
	}
	if e := r.errorBody(t).Error; e.Code != "context_length_exceeded" || e.Type != "invalid_request_error" {
		t.Errorf("no larger window: error %+v, want code context_length_exceeded, type invalid_request_error", e)
	}
	rs.wantRoute(t, r, "ctx/small:context_length_exceeded", "context_length_exceeded")
	rs.wantCounts(t, "after the rejection", map[string]int{"ctx/small": 2, "ctx/large": 1})
}

// TestResilienceContentFiltered: a content-filter rejection is returned
// with 400 and the normalised reason, and not retried anywhere.
func TestResilienceContentFiltered(t *testing.T) {
	t.Parallel()
	rs := startRS(t, poolFleet(), rsRouting{})
	rs.fake("pool/a").FailNext(http.StatusBadRequest,
		`{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":"invalid_request_error","param":"prompt","code":"content_filter"}}`, nil)
	r := rs.chat(t, chatBody("pool", question, false))
	if r.status != http.StatusBadRequest {
		t.Errorf("status %d, want 400", r.status)
	}
	e := r.errorBody(t).Error
	if e.Code != "content_filter" || e.Type != "invalid_request_error" || e.Message != "the provider's content filter rejected the request (reason: content_filter)" {
		t.Errorf("error %+v, want code content_filter with the normalised reason", e)
	}
	if strings.Contains(string(r.body), "Azure") {
		t.Errorf("the upstream's own text reached the client: %s", r.body)
	}
	rs.wantRoute(t, r, "pool/a:content_filter", "content_filter")
	rs.wantCounts(t, "after the rejection", map[string]int{"pool/a": 1})
}

// TestResilienceFlappingPrimary: consecutive failures open the primary's
// circuit and traffic moves to the other member without touching it; once
// the ejection (1s) has passed, one probe finds it healthy, closes the
// circuit, and traffic returns.
func TestResilienceFlappingPrimary(t *testing.T) {
	t.Parallel()
	fleet := poolFleet()[:2]
	rs := startRS(t, fleet, rsRouting{consecutive: 3, baseEjection: "1s"})
	a, b := rs.fake("pool/a"), rs.fake("pool/b")

	a.FailAlways(http.StatusServiceUnavailable, "", nil)
	var lastFailure time.Time
	for i := range 3 {
		r := rs.chat(t, chatBody("pool", question, false))
		lastFailure = time.Now()
		if got, want := answerText(t, r), b.ReplyText(question); got != want {
			t.Errorf("failure %d: answer %q, want %q", i+1, got, want)
		}
		rs.wantRoute(t, r, "pool/a:overloaded>pool/b:ok", "ok")
	}
	// The third consecutive failure opened the circuit: pool/a is skipped.
	r := rs.chat(t, chatBody("pool", question, false))
	// The ejection began during the third request, before lastFailure.
	if time.Since(lastFailure) > 900*time.Millisecond {
		t.Fatalf("too slow to observe a 1s ejection (%v)", time.Since(lastFailure))
	}
	d := rs.wantRoute(t, r, "pool/b:ok", "ok")
	if diff := cmp.Diff([]string{"pool/a:circuit_open"}, exclusions(d)); diff != "" {
		t.Errorf("exclusions while ejected (-want +got):\n%s", diff)
	}
	rs.wantCounts(t, "while ejected", map[string]int{"pool/a": 3, "pool/b": 4})

	// pool/a recovers; after the ejection one probe closes its circuit.
	a.Recover()
	time.Sleep(time.Until(lastFailure.Add(1050 * time.Millisecond)))
	r = rs.chat(t, chatBody("pool", question, false))
	if got, want := answerText(t, r), a.ReplyText(question); got != want {
		t.Errorf("probe: answer %q, want %q", got, want)
	}
	d = rs.wantRoute(t, r, "pool/a:ok", "ok")
	if len(d.Candidates) == 0 || d.Candidates[0].Deployment != "pool/a" || !d.Candidates[0].Probe {
		t.Errorf("the first request after the ejection: candidates %+v, want pool/a first as a probe", d.Candidates)
	}
	r = rs.chat(t, chatBody("pool", question, false))
	d = rs.wantRoute(t, r, "pool/a:ok", "ok")
	if len(d.Candidates) == 0 || d.Candidates[0].Probe || len(d.Excluded) != 0 {
		t.Errorf("after the probe: candidates %+v, exclusions %v; want a closed circuit", d.Candidates, exclusions(d))
	}
	rs.wantCounts(t, "after recovery", map[string]int{"pool/a": 5, "pool/b": 4})
}

// TestResilienceAllProvidersDown: when every member fails, the client gets
// the last failure in OpenAI's error shape; once every circuit is open,
// requests fail fast with 503 and Retry-After without calling anyone —
// unless the panic floor keeps one member eligible, which is then tried.
func TestResilienceAllProvidersDown(t *testing.T) {
	t.Parallel()
	down := func(t *testing.T, fraction string) *rsServer {
		rs := startRS(t, poolFleet()[:2], rsRouting{consecutive: 2, maxAttempts: 2, baseEjection: "2s", ejectedFraction: fraction})
		rs.fake("pool/a").FailAlways(http.StatusServiceUnavailable, "", nil)
		rs.fake("pool/b").FailAlways(http.StatusServiceUnavailable, "", nil)
		for i := range 2 {
			r := rs.chat(t, chatBody("pool", question, false))
			if r.status != http.StatusServiceUnavailable {
				t.Errorf("request %d: status %d, want 503", i+1, r.status)
			}
			if e := r.errorBody(t).Error; e.Code != "overloaded" || e.Type != "overloaded_error" || e.Message != "the provider is overloaded" {
				t.Errorf("request %d: error %+v, want the providers' overloaded error", i+1, e)
			}
			rs.wantRoute(t, r, "pool/a:overloaded>pool/b:overloaded", "overloaded")
		}
		rs.wantCounts(t, "after two requests", map[string]int{"pool/a": 2, "pool/b": 2})
		return rs
	}
	t.Run("fail fast", func(t *testing.T) {
		t.Parallel()
		rs := down(t, "1")
		r := rs.chat(t, chatBody("pool", question, false))
		if ra := r.header.Get("Retry-After"); r.status != http.StatusServiceUnavailable || ra != "1" && ra != "2" {
			t.Errorf("all circuits open: status %d, Retry-After %q; want 503 and the rest of the 2s ejection", r.status, ra)
		}
		e := r.errorBody(t).Error
		if e.Code != "unavailable" || e.Type != "server_error" || !strings.Contains(e.Message, "circuit_open") {
			t.Errorf("all circuits open: error %+v, want code unavailable naming circuit_open", e)
		}
		within(t, "failing fast", r.elapsed, 0, 200*time.Millisecond)
		d := rs.wantRoute(t, r, "", "unavailable")
		if diff := cmp.Diff([]string{"pool/a:circuit_open", "pool/b:circuit_open"}, exclusions(d)); diff != "" {
			t.Errorf("exclusions (-want +got):\n%s", diff)
		}
		rs.wantCounts(t, "failing fast", map[string]int{"pool/a": 2, "pool/b": 2})
	})
	t.Run("panic floor", func(t *testing.T) {
		t.Parallel()
		rs := down(t, "0.5")
		r := rs.chat(t, chatBody("pool", question, false))
		if r.status != http.StatusServiceUnavailable {
			t.Errorf("status %d, want 503", r.status)
		}
		// Its only candidate is retried (after a backoff) within max_attempts.
		d := rs.wantRoute(t, r, "pool/a:overloaded>pool/a:overloaded", "overloaded")
		if len(d.Candidates) != 1 || d.Candidates[0].Deployment != "pool/a" || !d.Candidates[0].PanicFloor {
			t.Errorf("candidates %+v, want pool/a kept by the panic floor", d.Candidates)
		}
		if diff := cmp.Diff([]string{"pool/b:circuit_open"}, exclusions(d)); diff != "" {
			t.Errorf("exclusions (-want +got):\n%s", diff)
		}
		rs.wantCounts(t, "under the panic floor", map[string]int{"pool/a": 4, "pool/b": 2})
	})
}

// TestResilienceLoneDeploymentStaysInService: a burst of failures opens
// the circuit of a model's only deployment, but the panic floor keeps it in
// service: the next request is sent to it (and answered) instead of
// failing fast with 503 for the whole ejection, and the decision record and
// explain show it kept by the panic floor.
func TestResilienceLoneDeploymentStaysInService(t *testing.T) {
	t.Parallel()
	rs := startRS(t, poolFleet()[:1], rsRouting{consecutive: 3, maxAttempts: 1, baseEjection: "5s"})
	a := rs.fake("pool/a")
	for i := range 3 {
		a.FailNext(http.StatusServiceUnavailable, "", nil)
		r := rs.chat(t, chatBody("pool/a", question, false))
		if r.status != http.StatusServiceUnavailable {
			t.Errorf("failure %d: status %d, want the provider's 503", i+1, r.status)
		}
		rs.wantRoute(t, r, "pool/a:overloaded", "overloaded")
	}
	// The third consecutive failure opened the circuit (for 5s).
	r := rs.chat(t, chatBody("pool/a", question, false))
	if got, want := answerText(t, r), a.ReplyText(question); got != want {
		t.Errorf("with the circuit open: answer %q, want %q", got, want)
	}
	d := rs.wantRoute(t, r, "pool/a:ok", "ok")
	if len(d.Candidates) != 1 || !d.Candidates[0].PanicFloor || d.Candidates[0].Probe || len(d.Excluded) != 0 {
		t.Errorf("candidates %+v, exclusions %v; want pool/a kept by the panic floor, nothing excluded", d.Candidates, exclusions(d))
	}
	ex := rs.explain(t, chatBody("pool/a", question, false))
	if len(ex.Candidates) != 1 || ex.Candidates[0].Deployment != "pool/a" || !ex.Candidates[0].PanicFloor || len(ex.Excluded) != 0 {
		t.Errorf("explain: candidates %+v, exclusions %v; want pool/a kept by the panic floor", ex.Candidates, exclusions(ex))
	}
	rs.wantCounts(t, "with the circuit open", map[string]int{"pool/a": 4})
}

// TestResilienceAccountingAfterFailover: the cost is the successful
// attempt's reported usage at its own price; failed attempts cost nothing.
func TestResilienceAccountingAfterFailover(t *testing.T) {
	t.Parallel()
	rs := startRS(t, poolFleet(), rsRouting{})
	rs.fake("pool/a").FailNext(http.StatusInternalServerError, "", nil)
	rs.fake("pool/b").FailNext(http.StatusBadGateway, "", nil)
	r := rs.chat(t, chatBody("pool", question, false))
	if got, want := answerText(t, r), rs.fake("pool/c").ReplyText(question); got != want {
		t.Errorf("answer %q, want %q", got, want)
	}
	rs.wantRoute(t, r, "pool/a:upstream_error>pool/b:upstream_error>pool/c:ok", "ok")
	want := rs.models["pool/c"].price(t).Cost(fakeUsage())
	if got, err := octomesh.ParseMoney(r.header.Get("X-Octomesh-Cost-Usd")); err != nil || got != want {
		t.Errorf("x-octomesh-cost-usd = %q, want %s: pool/c's usage at pool/c's price, nothing for the failed attempts", r.header.Get("X-Octomesh-Cost-Usd"), want)
	}
	if got := r.header.Get("X-Octomesh-Model") + " " + r.header.Get("X-Octomesh-Provider"); got != "pool/c ppoolc" {
		t.Errorf("served by %q, want pool/c at ppoolc", got)
	}
}

// TestResilienceClientDisconnectCancelsUpstream: a client that goes away
// cancels the upstream attempt within a second — the fake sees its
// connection close — and nothing else is tried.
func TestResilienceClientDisconnectCancelsUpstream(t *testing.T) {
	t.Parallel()
	rs := startRS(t, poolFleet(), rsRouting{idle: "5s", firstByte: "5s", total: "10s"})
	a := rs.fake("pool/a")

	t.Run("stream", func(t *testing.T) {
		a.PauseStreamAfter(3, time.Minute) // the role chunk and two pieces, then nothing
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		body := chatBody("pool", question, true)
		req := mustRequest(t, ctx, rs, body)
		resp, err := rs.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1)
		if _, err := resp.Body.Read(buf); err != nil {
			t.Fatalf("reading the first byte: %v", err)
		}
		left := time.Now()
		cancel()
		resp.Body.Close()
		at, ok := waitDisconnect(a, 2*time.Second)
		if !ok {
			t.Fatal("the upstream never saw the connection close")
		}
		within(t, "cancelling the upstream stream", at.Sub(left), 0, time.Second)
	})
	t.Run("plain", func(t *testing.T) {
		a.HangNext()
		ctx, cancel := context.WithCancel(context.Background())
		req := mustRequest(t, ctx, rs, chatBody("pool", question, false))
		leftc := make(chan time.Time, 1)
		time.AfterFunc(200*time.Millisecond, func() {
			leftc <- time.Now()
			cancel()
		})
		if resp, err := rs.client.Do(req); err == nil {
			resp.Body.Close()
			t.Fatal("a request the client cancelled completed")
		}
		left := <-leftc
		at, ok := waitDisconnect(a, 2*time.Second)
		if !ok {
			t.Fatal("the upstream never saw the connection close")
		}
		within(t, "cancelling the upstream request", at.Sub(left), 0, time.Second)
	})
	// Give the server a moment to record, then check nothing was failed over.
	time.Sleep(100 * time.Millisecond)
	rs.wantCounts(t, "after the disconnects", map[string]int{"pool/a": 2})
}

// mustRequest builds an authenticated chat request bound to ctx.
func mustRequest(t *testing.T, ctx context.Context, rs *rsServer, body any) *http.Request {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rs.URL+"/v1/chat/completions", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+rs.AdminKey)
	req.Header.Set("Content-Type", "application/json")
	return req
}

// TestResilienceDataPolicyFailsClosed: a zero-retention request for a
// group whose members' retention is unknown gets a 4xx naming the
// constraint and reaches no provider; a compliant member is used when
// there is one.
func TestResilienceDataPolicyFailsClosed(t *testing.T) {
	t.Parallel()
	fleet := []rsModel{
		{name: "dp/unknown1", kind: "openai", groups: "[private, mixed]", input: "0.10", output: "0.40"},
		{name: "dp/unknown2", kind: "anthropic", groups: "[private]", input: "0.20", output: "0.80"},
		{name: "dp/retains", kind: "openai", groups: "[private]", input: "0.30", output: "0.90", policy: `{retains_prompts: "yes", retention: 720h, trains_on_data: "no"}`},
		{name: "dp/zero", kind: "gemini", groups: "[mixed]", input: "3.00", output: "9.00", policy: `{retains_prompts: "no", trains_on_data: "no"}`},
	}
	rs := startRS(t, fleet, rsRouting{groups: []string{"private", "mixed"}})
	zero := func(model string) map[string]any {
		b := chatBody(model, question, false)
		b["octomesh"] = map[string]any{"zero_retention": true}
		return b
	}

	r := rs.chat(t, zero("private"))
	if r.status != http.StatusBadRequest {
		t.Errorf("status %d, want 400", r.status)
	}
	e := r.errorBody(t).Error
	if e.Code != "invalid_request" || e.Type != "invalid_request_error" || !strings.Contains(e.Message, "policy:zero_retention") {
		t.Errorf("error %+v, want an invalid request naming policy:zero_retention", e)
	}
	d := rs.wantRoute(t, r, "", "invalid_request")
	if diff := cmp.Diff([]string{"dp/unknown1:policy:zero_retention", "dp/unknown2:policy:zero_retention", "dp/retains:policy:zero_retention"}, exclusions(d)); diff != "" {
		t.Errorf("exclusions (-want +got):\n%s", diff)
	}
	rs.wantCounts(t, "after the refused request", nil)

	// The cheaper member is unknown, so the compliant one serves.
	r = rs.chat(t, zero("mixed"))
	if got, want := answerText(t, r), rs.fake("dp/zero").ReplyText(question); got != want {
		t.Errorf("mixed group: answer %q, want %q", got, want)
	}
	rs.wantRoute(t, r, "dp/zero:ok", "ok")
	// Without the constraint the cheapest member serves.
	r = rs.chat(t, chatBody("mixed", question, false))
	rs.wantRoute(t, r, "dp/unknown1:ok", "ok")
	rs.wantCounts(t, "after the compliant requests", map[string]int{"dp/zero": 1, "dp/unknown1": 1})
}
