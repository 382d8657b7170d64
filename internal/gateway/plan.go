package gateway

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/router"
)

// plan is what the executor follows: candidates in order, each with its
// per-attempt timeouts, the attempt cap, and the hedging rule.
type plan struct {
	attempts    []planned
	maxAttempts int
	hedgeAfter  time.Duration // 0: no hedging
	decision    *octomesh.Decision
	// space, when set, is room for the router's plan (see routerPlan).
	space *router.PlanSpace
}

// planned is one candidate of a plan.
type planned struct {
	d *octomesh.Deployment
	p octomesh.Provider
	timeouts
	ra router.PlannedAttempt // the router's view, for Acquire
}

// timeouts bound one upstream attempt.
type timeouts struct {
	firstByte time.Duration // until the first content arrives (0: none)
	idle      time.Duration // longest gap between stream chunks (0: none)
	total     time.Duration // the whole attempt (0: none)
}

// attemptResult is what an attempt reports back to the health tracker.
type attemptResult struct {
	err              error
	ttfb, duration   time.Duration
	completionTokens int
}

// health is the executor's view of the router's live state: outstanding
// requests, outcomes, cool-downs and the retry and hedge budgets.
type health interface {
	// begin starts an attempt, or refuses it (EUNAVAILABLE) when the
	// deployment started cooling down or its circuit opened since the plan
	// was made. The router's accounting of the attempt lives in *slot,
	// which the caller owns and must not reuse before the attempt ends.
	begin(a *planned, slot *router.Inflight) (begun, error)
	coolDown(deployment string, until time.Time)
	coolingUntil(deployment string) time.Time
	allowRetry() bool
	allowHedge() bool
}

// begun is an attempt health is tracking; end it exactly once. The zero
// value (health without live state) ends as a no-op.
type begun struct{ in *router.Inflight }

func (b begun) end(res attemptResult) {
	if b.in == nil {
		return
	}
	b.in.End(router.Outcome{Err: res.err, Canceled: errors.Is(res.err, context.Canceled),
		TTFB: res.ttfb, Duration: res.duration, OutputTokens: res.completionTokens})
}

// backoff returns the wait before retrying the same deployment for the nth
// time (n ≥ 1): exponential from 100ms, capped at 2s, with full jitter in
// [d/2, d], so synchronised clients spread out.
func backoff(n int, rnd func() float64) time.Duration {
	d := 100 * time.Millisecond << min(n-1, 5)
	d = min(d, 2*time.Second)
	if rnd == nil {
		rnd = rand.Float64
	}
	return d/2 + time.Duration(rnd()*float64(d/2))
}

// routeHeader renders attempts compactly for the x-octomesh-route header:
// "a:rate_limited>b:ok". Deployment names and codes are safe identifiers.
func routeHeader(atts []octomesh.AttemptRecord) string {
	return routes(nil).header(atts)
}

// routes holds the route headers of the commonest requests, made once per
// deployment rather than once per request: one attempt that succeeded
// ("a:ok"), and a stream answered by one attempt ("a:streaming").
type routes map[string]*deploymentRoutes

type deploymentRoutes struct{ ok, streaming, hedgeStreaming string }

func newRoutes(deps []*octomesh.Deployment) routes {
	r := make(routes, len(deps))
	for _, d := range deps {
		r[d.Name] = &deploymentRoutes{ok: d.Name + ":ok", streaming: d.Name + ":streaming", hedgeStreaming: d.Name + ":hedge-streaming"}
	}
	return r
}

// header is routeHeader.
func (r routes) header(atts []octomesh.AttemptRecord) string {
	if len(atts) == 0 {
		return ""
	}
	if a := &atts[0]; len(atts) == 1 && a.Outcome == "ok" && !a.Hedge && !a.Continued {
		if dr := r[a.Deployment]; dr != nil {
			return dr.ok
		}
	}
	n := 0
	for i := range atts {
		n += len(atts[i].Deployment) + len(atts[i].Outcome) + len(">:hedge-cont-")
	}
	var b strings.Builder
	b.Grow(n)
	for i, a := range atts {
		if i > 0 {
			b.WriteByte('>')
		}
		b.WriteString(a.Deployment)
		b.WriteByte(':')
		if a.Hedge {
			b.WriteString("hedge-")
		}
		if a.Continued {
			b.WriteString("cont-")
		}
		b.WriteString(a.Outcome)
	}
	return b.String()
}

// streaming is the route of a stream now answered by d: "d:streaming"
// (or "d:hedge-streaming" when a hedge won).
func (r routes) streaming(d *octomesh.Deployment, hedge bool) string {
	if dr := r[d.Name]; dr != nil {
		if hedge {
			return dr.hedgeStreaming
		}
		return dr.streaming
	}
	if hedge {
		return d.Name + ":hedge-streaming"
	}
	return d.Name + ":streaming"
}

// outcomeOf names an attempt's outcome: "ok" or the error code.
func outcomeOf(err error) string {
	if err == nil {
		return "ok"
	}
	return string(octomesh.ErrorCodeOf(err))
}

// next says what to do after a failed attempt.
type next int

const (
	stop     next = iota // return the error to the caller
	failover             // try the next candidate
	larger               // try a candidate with a larger context window
)

// afterFailure classifies an upstream error. 400-class errors are not
// retried on the same model: a context-length error moves to a larger
// window; a content-filter or invalid-request rejection is returned as is.
func afterFailure(err error) next {
	switch octomesh.ErrorCodeOf(err) {
	case octomesh.ECONTEXTLENGTH:
		return larger
	case octomesh.EINVALID, octomesh.ECONTENTFILTER, octomesh.ENOTFOUND, octomesh.ETOOLARGE, octomesh.EINTERNAL:
		return stop
	}
	if octomesh.ErrorCodeOf(err).Retryable() {
		return failover
	}
	return stop
}
