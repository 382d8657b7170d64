package sim

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
)

func hintReq(model, hint string, stream bool) *octomesh.ChatRequest {
	r := userReq(model, "Tell me about lighthouses. "+canary)
	r.Metadata = map[string]string{FaultHintKey: hint}
	r.Stream = stream
	return r
}

func TestFaultHints(t *testing.T) {
	before := runtime.NumGoroutine()
	f := newFleet(t, Options{AllowFaultHints: true})
	tests := []struct {
		fault      Fault
		code       octomesh.ErrorCode
		late       bool // a stream yields chunks before failing
		blocks     bool // no answer until ctx ends
		retryAfter bool
	}{
		{Fault5xx, octomesh.EUPSTREAM, false, false, false},
		{FaultRateLimit, octomesh.ERATELIMITED, false, false, true},
		{FaultOverloaded, octomesh.EOVERLOADED, false, false, true},
		{FaultContextLength, octomesh.ECONTEXTLENGTH, false, false, false},
		{FaultContentFilter, octomesh.ECONTENTFILTER, false, false, false},
		{FaultMalformed, octomesh.EUPSTREAM, true, false, false},
		{FaultCut, octomesh.EUPSTREAM, true, false, false},
		{FaultStall, octomesh.ETIMEOUT, true, true, false},
		{FaultTimeout, octomesh.ETIMEOUT, false, true, false},
	}
	// Faults that block get a short deadline and must return within 1s of
	// it; the others a long one they must not need.
	const short = 50 * time.Millisecond
	deadline := func(blocks bool) (context.Context, context.CancelFunc) {
		if blocks {
			return context.WithTimeout(context.Background(), short)
		}
		return context.WithTimeout(context.Background(), time.Minute)
	}
	for _, tt := range tests {
		t.Run(string(tt.fault), func(t *testing.T) {
			start := time.Now() // before the deadline is set, so a blocked call takes ≥ short
			ctx, cancel := deadline(tt.blocks)
			defer cancel()
			_, err := f.Chat(ctx, hintReq("gpt-4o", string(tt.fault), false))
			e := wantCode(t, err, tt.code)
			if tt.retryAfter != (e != nil && e.RetryAfter > 0) {
				t.Errorf("RetryAfter = %v, want set: %v", e.RetryAfter, tt.retryAfter)
			}
			if e != nil && e.Code != octomesh.ETIMEOUT && e.Provider != "sim" {
				t.Errorf("Provider = %q, want sim", e.Provider)
			}
			if took := time.Since(start); tt.blocks && (took < short || took > short+time.Second) {
				t.Errorf("Chat took %v; want it to block until the %v deadline, and no more than 1s longer", took, short)
			}

			ctx, cancel = deadline(tt.blocks)
			defer cancel()
			chunks, err := collect(t, f, ctx, hintReq("gpt-4o", string(tt.fault), true))
			wantCode(t, err, tt.code)
			if tt.late != (len(chunks) > 0) {
				t.Errorf("stream yielded %d chunks before failing; want some: %v", len(chunks), tt.late)
			}
			for _, c := range chunks {
				if c.Usage != nil || len(c.Choices) > 0 && c.Choices[0].FinishReason != "" {
					t.Errorf("a failed stream delivered a finish or usage chunk: %+v", c)
				}
			}
		})
	}
	settle(t, before)
}

func TestFaultHintRateLimitRetryAfterScales(t *testing.T) {
	for _, tt := range []struct {
		speed    float64
		min, max time.Duration
	}{{1, time.Second, 2 * time.Second}, {0.01, 10 * time.Millisecond, 20 * time.Millisecond}, {0, time.Millisecond, time.Millisecond}} {
		f := newFleet(t, Options{AllowFaultHints: true, Speed: tt.speed})
		_, err := f.Chat(context.Background(), hintReq("gpt-4o", "429", false))
		if e := wantCode(t, err, octomesh.ERATELIMITED); e.RetryAfter < tt.min || e.RetryAfter > tt.max {
			t.Errorf("speed %v: RetryAfter = %v, want in [%v, %v]", tt.speed, e.RetryAfter, tt.min, tt.max)
		}
	}
}

func TestFaultHintTargetsAndSyntax(t *testing.T) {
	f := newFleet(t, Options{AllowFaultHints: true})
	hint := "500@gpt-4o, overloaded@claude-3-haiku"
	_, err := f.Chat(context.Background(), hintReq("gpt-4o", hint, false))
	wantCode(t, err, octomesh.EUPSTREAM)
	_, err = f.Chat(context.Background(), hintReq("claude-3-haiku", hint, false))
	wantCode(t, err, octomesh.EOVERLOADED)
	if _, err := f.Chat(context.Background(), hintReq("gpt-4o-mini", hint, false)); err != nil {
		t.Errorf("untargeted model failed: %v", err)
	}
	_, err = f.Chat(context.Background(), hintReq("gpt-4o", "explode", false))
	if e := wantCode(t, err, octomesh.EINVALID); e.Param != "metadata.sim_fault" {
		t.Errorf("param = %q", e.Param)
	}
	// Without AllowFaultHints the metadata is ignored.
	if _, err := newFleet(t, Options{}).Chat(context.Background(), hintReq("gpt-4o", "500", false)); err != nil {
		t.Errorf("hint honoured without AllowFaultHints: %v", err)
	}
}

// flaky returns a fleet whose one model fails with the given rates.
func flaky(t *testing.T, rates FaultRates, o Options) *Fleet {
	models := DefaultModels()[1:2]
	models[0].Rates = rates
	o.Models = models
	return newFleet(t, o)
}

func TestFaultRates(t *testing.T) {
	const n = 600
	count := func(f *Fleet) map[octomesh.ErrorCode]int {
		got := map[octomesh.ErrorCode]int{}
		for i := range n {
			_, err := f.Chat(context.Background(), userReq("gpt-4o-mini", fmt.Sprintf("question number %d", i)))
			got[octomesh.ErrorCodeOf(err)]++
		}
		return got
	}
	rates := FaultRates{Error5xx: 0.2, RateLimit: 0.1, Overloaded: 0.1}
	got := count(flaky(t, rates, Options{FailureScale: 1}))
	for code, p := range map[octomesh.ErrorCode]float64{octomesh.EUPSTREAM: 0.2, octomesh.ERATELIMITED: 0.1, octomesh.EOVERLOADED: 0.1, "": 0.6} {
		if frac := float64(got[code]) / n; frac < p-0.06 || frac > p+0.06 {
			t.Errorf("code %q: fraction %.3f, want about %.2f (counts %v)", code, frac, p, got)
		}
	}
	half := count(flaky(t, rates, Options{FailureScale: 0.5}))
	if frac := float64(half[""]) / n; frac < 0.74 || frac > 0.86 {
		t.Errorf("FailureScale 0.5: success fraction %.3f, want about 0.8", frac)
	}
	if off := count(flaky(t, rates, Options{})); off[""] != n {
		t.Errorf("FailureScale 0: %v, want no faults", off)
	}
}

func TestVaryRetries(t *testing.T) {
	req := userReq("gpt-4o-mini", "a question worth retrying")
	rates := FaultRates{Error5xx: 0.5}
	outcomes := func(f *Fleet) map[string]int {
		seen := map[string]int{}
		for range 30 {
			resp, err := f.Chat(context.Background(), req)
			seen[outcome(resp, err)]++
		}
		return seen
	}
	if fixed := outcomes(flaky(t, rates, Options{FailureScale: 1})); len(fixed) != 1 {
		t.Errorf("without VaryRetries the same request had %d outcomes, want 1", len(fixed))
	}
	varied := outcomes(flaky(t, rates, Options{FailureScale: 1, VaryRetries: true}))
	fails := varied["error "+string(octomesh.EUPSTREAM)]
	if fails == 0 || fails == 30 {
		t.Errorf("with VaryRetries %d of 30 attempts failed; want a mix", fails)
	}
	// Every success is the same answer except for its id.
	texts := map[string]bool{}
	f := flaky(t, rates, Options{FailureScale: 1, VaryRetries: true})
	for range 30 {
		if resp, err := f.Chat(context.Background(), req); err == nil {
			texts[resp.Choices[0].Message.Content.Text()] = true
		}
	}
	if len(texts) != 1 {
		t.Errorf("VaryRetries changed the text: %d distinct answers", len(texts))
	}
}

func TestRandomTimeoutBlocksUntilDeadline(t *testing.T) {
	f := flaky(t, FaultRates{Timeout: 1}, Options{FailureScale: 1})
	start := time.Now() // before the deadline is set, so elapsed ≥ 30ms
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := f.ChatStream(ctx, userReq("gpt-4o-mini", "hi"))
	wantCode(t, err, octomesh.ETIMEOUT)
	if d := time.Since(start); d < 30*time.Millisecond || d > 30*time.Millisecond+time.Second {
		t.Errorf("ChatStream returned after %v, want at the 30ms deadline", d)
	}
}
