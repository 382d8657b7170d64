package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/cancelctx"
	"github.com/octomesh/octomesh/internal/router"
)

// executor runs one request's plan: attempts in order within the attempt
// cap and the retry budget, failing over on retryable errors, honouring
// Retry-After cool-downs, and recording every attempt in the decision.
type executor struct {
	svc     *Service
	plan    *plan
	start   time.Time
	tried   int
	base    int // the decision's attempt records before this executor's
	lastErr error
	first   error // the first failure, reported when nothing succeeds
	// spareReq, when set, is room for one upstream request (see
	// upstreamRequest); it is used once.
	spareReq *octomesh.ChatRequest
	// spareAttempt, when set, is room for one streaming attempt (see
	// newAttempt); it is used once.
	spareAttempt *liveAttempt
	// inflight is the router's accounting of the current sequential
	// (non-hedged, non-streaming) attempt: one ends before the next begins.
	inflight router.Inflight
}

// triedOn counts the attempts this executor made on the named deployment:
// its records in the decision (plans are a few candidates long, and a
// count per name in a map cost two allocations per request).
func (e *executor) triedOn(name string) int {
	n := 0
	for _, r := range e.plan.decision.Attempts[e.base:] {
		if r.Deployment == name {
			n++
		}
	}
	return n
}

// upstreamRequest is the package's upstreamRequest, in the spare room
// the first time. Only the executor's own goroutine may call it.
func (e *executor) upstreamRequest(req *octomesh.ChatRequest, d *octomesh.Deployment) *octomesh.ChatRequest {
	up := e.spareReq
	if up == nil {
		return upstreamRequest(req, d)
	}
	e.spareReq = nil
	*up = *req
	up.Model = d.UpstreamModel
	up.Octomesh = nil
	return up
}

// pickNext returns the index of the next candidate to try after candidate
// cur failed with err (cur = -1 for the first attempt), or -1 when the plan
// is exhausted. It sleeps for backoff when it retries a deployment it has
// already tried, and never picks one that is cooling down.
func (e *executor) pickNext(ctx context.Context, cur int, err error) int {
	return e.pickNextWhere(ctx, cur, err, nil)
}

// pickNextWhere is pickNext restricted to candidates ok accepts (nil: all).
func (e *executor) pickNextWhere(ctx context.Context, cur int, err error, ok func(*planned) bool) int {
	if e.tried >= e.plan.maxAttempts {
		return -1
	}
	if cur >= 0 {
		if !e.svc.health.allowRetry() {
			return -1
		}
	}
	atts := e.plan.attempts
	var minContext int
	if cur >= 0 && afterFailure(err) == larger {
		minContext = atts[cur].d.ContextWindow + 1
	}
	now := e.svc.now()
	// Prefer candidates not yet tried, in plan order, then retry tried ones.
	for pass := 0; pass < 2; pass++ {
		for i := range atts {
			a := &atts[i]
			tried := e.triedOn(a.d.Name)
			if (pass == 0) != (tried == 0) {
				continue
			}
			if minContext > 0 && a.d.ContextWindow < minContext {
				continue
			}
			if ok != nil && !ok(a) {
				continue
			}
			if until := e.svc.health.coolingUntil(a.d.Name); now.Before(until) {
				continue
			}
			if tried > 0 {
				t := time.NewTimer(backoff(tried, e.svc.rand))
				select {
				case <-ctx.Done():
					t.Stop()
					return -1
				case <-t.C:
				}
			}
			return i
		}
	}
	return -1
}

// record notes an attempt's outcome in the decision and in health.
func (e *executor) record(a *planned, rec octomesh.AttemptRecord, err error) {
	e.tried++
	rec.Deployment = a.d.Name // triedOn counts by it
	rec.Outcome = outcomeOf(err)
	if err != nil && errors.Is(err, context.Canceled) {
		rec.Outcome = "cancelled"
	}
	if err != nil {
		// Only here: As takes the address of oe, which then lives on the
		// heap, and a successful attempt should not pay for that.
		var oe *octomesh.Error
		if errors.As(err, &oe) {
			rec.Status = oe.Status
			if oe.RetryAfter > 0 {
				// Retry-After cools the deployment down for every request.
				e.svc.health.coolDown(a.d.Name, e.svc.now().Add(oe.RetryAfter))
			}
		}
	}
	e.plan.decision.Attempts = append(e.plan.decision.Attempts, rec)
	if err != nil {
		if e.first == nil {
			e.first = err
		}
		e.lastErr = err
	}
}

// finalErr is the error to report when no attempt succeeded. A context-length
// failure that found no larger model, or a content-filter rejection, is
// reported as is; otherwise the last failure, which says why the final
// candidate could not serve either.
func (e *executor) finalErr() error {
	if e.lastErr == nil {
		return octomesh.Errorf(octomesh.EUNAVAILABLE, "no deployment is available to serve this request now")
	}
	return e.lastErr
}

// chat runs a non-streaming plan, hedging the first attempt when the plan allows.
func (e *executor) chat(ctx context.Context, req *octomesh.ChatRequest) (*octomesh.ChatResponse, *planned, error) {
	i := e.pickNext(ctx, -1, nil)
	for i >= 0 {
		var resp *octomesh.ChatResponse
		var won *planned
		var err error
		if e.tried == 0 && e.plan.hedgeAfter > 0 {
			resp, won, err = e.hedged(ctx, req, i)
		} else {
			won = &e.plan.attempts[i]
			resp, err = e.attemptChat(ctx, req, won, false)
		}
		if err == nil {
			return resp, won, nil
		}
		if ctx.Err() != nil || afterFailure(err) == stop {
			return nil, nil, err
		}
		i = e.pickNext(ctx, i, err)
	}
	return nil, nil, e.finalErr()
}

// attemptChat makes one non-streaming attempt within its timeouts.
func (e *executor) attemptChat(ctx context.Context, req *octomesh.ChatRequest, a *planned, hedge bool) (*octomesh.ChatResponse, error) {
	at := e.svc.now()
	actx := withTimeout(ctx, a.total)
	defer actx.stop()
	b, err := e.svc.health.begin(a, &e.inflight)
	if err != nil {
		e.record(a, octomesh.AttemptRecord{Deployment: a.d.Name, Provider: a.d.Provider, Start: at.Sub(e.start), Hedge: hedge}, err)
		return nil, err
	}
	resp, err := a.p.Chat(&actx.Ctx, e.upstreamRequest(req, a.d))
	if err != nil {
		err = e.svc.attemptErr(ctx, a, err)
	}
	dur := e.svc.now().Sub(at)
	res := attemptResult{err: err, ttfb: dur, duration: dur}
	if resp != nil && resp.Usage != nil {
		res.completionTokens = resp.Usage.CompletionTokens
	}
	b.end(res)
	e.record(a, octomesh.AttemptRecord{Deployment: a.d.Name, Provider: a.d.Provider, Start: at.Sub(e.start), Duration: dur, TTFB: dur, Hedge: hedge}, err)
	return resp, err
}

// hedged runs candidate i and, if it has not answered within the plan's
// hedge delay and the hedge budget allows, a second attempt on the next
// candidate; the first success wins and the other is cancelled. Both
// goroutines end before hedged returns.
func (e *executor) hedged(ctx context.Context, req *octomesh.ChatRequest, i int) (*octomesh.ChatResponse, *planned, error) {
	type result struct {
		resp *octomesh.ChatResponse
		a    *planned
		err  error
	}
	hctx := cancelctx.New(ctx)
	cancel := func() { hctx.Cancel(nil) }
	defer cancel()
	results := make(chan result, 2)
	// Attempts record into the decision; serialise them through this
	// goroutine by collecting records from results only.
	launch := func(a *planned) {
		go func() {
			at := e.svc.now()
			actx := withTimeout(hctx, a.total)
			defer actx.stop()
			b, err := e.svc.health.begin(a, new(router.Inflight))
			if err != nil {
				results <- result{nil, a, err}
				return
			}
			resp, err := a.p.Chat(&actx.Ctx, upstreamRequest(req, a.d))
			if err != nil {
				err = e.svc.attemptErr(hctx, a, err)
			}
			dur := e.svc.now().Sub(at)
			b.end(attemptResult{err: err, ttfb: dur, duration: dur})
			results <- result{resp, a, err}
		}()
	}
	primary := &e.plan.attempts[i]
	launched := 1
	startPrimary := e.svc.now()
	launch(primary)
	var hedgeA *planned
	timer := time.NewTimer(e.plan.hedgeAfter)
	defer timer.Stop()
	var firstErr error
	for done := 0; done < launched; {
		select {
		case <-timer.C:
			if hedgeA == nil && len(e.plan.attempts) > i+1 && e.svc.health.allowHedge() {
				for j := i + 1; j < len(e.plan.attempts); j++ {
					if e.svc.now().Before(e.svc.health.coolingUntil(e.plan.attempts[j].d.Name)) {
						continue
					}
					hedgeA = &e.plan.attempts[j]
					launched++
					launch(hedgeA)
					break
				}
			}
		case r := <-results:
			done++
			isHedge := r.a == hedgeA
			e.record(r.a, octomesh.AttemptRecord{Deployment: r.a.d.Name, Provider: r.a.d.Provider, Start: startPrimary.Sub(e.start), Hedge: isHedge}, r.err)
			if r.err == nil {
				cancel() // the loser is abandoned; drain it so no goroutine outlives us
				for ; done < launched; done++ {
					l := <-results
					e.record(l.a, octomesh.AttemptRecord{Deployment: l.a.d.Name, Provider: l.a.d.Provider, Hedge: l.a == hedgeA}, context.Canceled)
				}
				return r.resp, r.a, nil
			}
			if firstErr == nil {
				firstErr = r.err
			}
			if afterFailure(r.err) == stop {
				cancel()
				for ; done < launched; done++ {
					<-results
				}
				return nil, nil, r.err
			}
		}
	}
	return nil, nil, firstErr
}

// attemptErr turns an attempt's deadline into a provider timeout; a caller
// that went away keeps context.Canceled.
func (s *Service) attemptErr(ctx context.Context, a *planned, err error) error {
	if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		e := octomesh.Errorf(octomesh.ETIMEOUT, "the provider did not answer in time")
		e.Provider = a.d.Provider
		return e.WithCause(err)
	}
	return err
}
