package sim

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/provider"
)

// FaultHintKey is the request metadata key that forces a fault when the
// fleet allows fault hints (Options.AllowFaultHints; tests only).
//
// Its value is a comma-separated list of entries, each a Fault kind
// optionally followed by "@model" to aim it at one model, e.g. "429" (every
// model rate-limits) or "500@gpt-4o,overloaded@claude-3-haiku" (those two
// fail, the rest of the fleet answers, so failover can be tested). The first
// entry that applies to the requested model wins. An unknown kind is an
// EINVALID error.
const FaultHintKey = "sim_fault"

// Fault is a kind of injected failure, named as in a fault hint.
type Fault string

// The fault kinds.
const (
	FaultNone          Fault = ""
	Fault5xx           Fault = "500"            // EUPSTREAM, Status 500
	FaultRateLimit     Fault = "429"            // ERATELIMITED with RetryAfter
	FaultOverloaded    Fault = "overloaded"     // EOVERLOADED with RetryAfter
	FaultTimeout       Fault = "timeout"        // no answer until ctx ends
	FaultCut           Fault = "cut"            // stream: some chunks, then EUPSTREAM
	FaultStall         Fault = "stall"          // stream: some chunks, then no more until ctx ends
	FaultContextLength Fault = "context_length" // ECONTEXTLENGTH
	FaultContentFilter Fault = "content_filter" // ECONTENTFILTER
	FaultMalformed     Fault = "malformed"      // EUPSTREAM "malformed response"
)

func (k Fault) valid() bool {
	switch k {
	case Fault5xx, FaultRateLimit, FaultOverloaded, FaultTimeout, FaultCut, FaultStall,
		FaultContextLength, FaultContentFilter, FaultMalformed:
		return true
	}
	return false
}

// hinted returns the fault the metadata hint forces on model, if any.
func hinted(meta map[string]string, model string) (Fault, error) {
	v := meta[FaultHintKey]
	if v == "" {
		return FaultNone, nil
	}
	for _, e := range strings.Split(v, ",") {
		kind, target, _ := strings.Cut(strings.TrimSpace(e), "@")
		k := Fault(kind)
		if !k.valid() {
			return FaultNone, octomesh.Errorf(octomesh.EINVALID,
				"unknown %s kind: want 500, 429, overloaded, timeout, cut, stall, context_length, content_filter or malformed", FaultHintKey).
				WithParam("metadata." + FaultHintKey)
		}
		if target == "" || target == model {
			return k, nil
		}
	}
	return FaultNone, nil
}

// decideFault returns the fault this call of generation k on m suffers:
// the hinted one when hints are allowed, else a draw against the model's
// rates scaled by FailureScale.
func (f *Fleet) decideFault(m *Model, k key, attempt uint64, meta map[string]string) (Fault, error) {
	if f.hints {
		if h, err := hinted(meta, m.Name); err != nil || h != FaultNone {
			return h, err
		}
	}
	if f.failScale == 0 {
		return FaultNone, nil
	}
	u := k.rng("fault", attempt).Float64()
	for _, c := range []struct {
		p float64
		k Fault
	}{
		{m.Rates.Error5xx, Fault5xx}, {m.Rates.RateLimit, FaultRateLimit}, {m.Rates.Overloaded, FaultOverloaded},
		{m.Rates.Timeout, FaultTimeout}, {m.Rates.StreamCut, FaultCut},
	} {
		if u < c.p*f.failScale {
			return c.k, nil
		}
		u -= c.p * f.failScale
	}
	return FaultNone, nil
}

// errInjected is the internal cause of every injected fault, so logs can
// tell a simulated failure from a bug.
var errInjected = errors.New("sim: injected fault")

// faultError returns the error an immediate fault produces, or nil for
// faults that are not immediate errors (none, timeout, cut, stall,
// malformed: those play out over time).
func (f *Fleet) faultError(k Fault, r *rand.Rand) error {
	var e *octomesh.Error
	switch k {
	case Fault5xx:
		e = provider.Upstream(f.id, octomesh.EUPSTREAM, "the provider failed (HTTP 500)", 500)
	case FaultRateLimit:
		e = provider.Upstream(f.id, octomesh.ERATELIMITED, "the provider is rate limiting requests", 429)
		e.RetryAfter = f.retryAfter(time.Second, r)
	case FaultOverloaded:
		e = provider.Upstream(f.id, octomesh.EOVERLOADED, "the provider is overloaded", 529)
		e.RetryAfter = f.retryAfter(500*time.Millisecond, r)
	case FaultContextLength:
		e = provider.Upstream(f.id, octomesh.ECONTEXTLENGTH, "the prompt and requested output exceed the model's context window", 400)
	case FaultContentFilter:
		e = provider.Upstream(f.id, octomesh.ECONTENTFILTER, "the provider's content filter rejected the request", 400)
	default:
		return nil
	}
	return e.WithCause(errInjected)
}

// lateError returns the error a fault that strikes mid-answer ends with.
func (f *Fleet) lateError(k Fault) error {
	if k == FaultMalformed {
		return provider.BadResponse(f.id, errInjected)
	}
	return provider.Upstream(f.id, octomesh.EUPSTREAM, "the provider closed the connection before the response was complete", 0).WithCause(errInjected)
}

// retryAfter draws a Retry-After between base and 2×base, scaled by the
// fleet's speed, and never below 1ms (0 would read as "unknown").
func (f *Fleet) retryAfter(base time.Duration, r *rand.Rand) time.Duration {
	d := f.scale(base + time.Duration(r.Float64()*float64(base)))
	return max(d, time.Millisecond)
}

// hang is a silent upstream: it returns only when ctx ends, with the error
// a real adapter reports then (the context's error when cancelled, ETIMEOUT
// on a deadline).
func (f *Fleet) hang(ctx context.Context) error {
	<-ctx.Done()
	return provider.TransportError(ctx, f.id, ctx.Err())
}
