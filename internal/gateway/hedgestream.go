package gateway

import (
	"context"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/cancelctx"
)

// firstContent is what a racing stream attempt reports: the chunks it
// received up to and including its first content chunk, or why it failed.
type firstContent struct {
	la     *liveAttempt
	idx    int
	chunks []octomesh.Chunk
	err    error
}

// hasContent reports whether a chunk carries content the client would see.
func hasContent(c *octomesh.Chunk) bool {
	for i := range c.Choices {
		ch := &c.Choices[i]
		if ch.Delta.Content != "" || ch.Delta.Refusal != "" || len(ch.Delta.ToolCalls) > 0 || ch.FinishReason != "" {
			return true
		}
	}
	return false
}

// race starts attempt idx and, in a goroutine that ends by itself, reads it
// up to its first content chunk, reporting on out. Health accounting and
// timers are set up here, on the caller's goroutine.
func (e *executor) race(ctx context.Context, req *octomesh.ChatRequest, idx int, hedge bool, out chan<- firstContent) (*liveAttempt, error) {
	a := &e.plan.attempts[idx]
	la := e.newAttempt()
	*la = liveAttempt{a: a, ctx: cancelctx.New(ctx), at: e.svc.now(),
		rec: octomesh.AttemptRecord{Deployment: a.d.Name, Provider: a.d.Provider, Hedge: hedge}}
	la.rec.Start = la.at.Sub(e.start)
	b, err := e.svc.health.begin(a, &la.in)
	if err != nil {
		la.ctx.Cancel(nil)
		return nil, err
	}
	la.begun = b
	la.startTimer()
	up := e.upstreamRequest(req, a.d)
	go func() {
		s, err := a.p.ChatStream(la.ctx, up)
		if err != nil {
			out <- firstContent{la: la, idx: idx, err: err}
			return
		}
		la.s = s
		var got []octomesh.Chunk
		for s.Next() {
			c := *s.Chunk()
			c.Choices = append([]octomesh.ChunkChoice(nil), c.Choices...) // the stream may reuse its chunk
			got = append(got, c)
			if hasContent(&c) {
				out <- firstContent{la: la, idx: idx, chunks: got}
				return
			}
		}
		err = s.Err()
		if err == nil {
			err = octomesh.Errorf(octomesh.EUPSTREAM, "the provider ended the stream without sending anything")
		}
		out <- firstContent{la: la, idx: idx, chunks: got, err: err}
	}()
	return la, nil
}

// hedgedStart opens candidate i and, if it has sent no content within the
// plan's hedge delay and the hedge budget allows, the next candidate too;
// the first to send content wins and the other is cancelled. Both racing
// goroutines have ended when it returns. It reports whether a winner is now
// the current attempt with its first chunk pending; when both failed it
// hands over to the ordinary failover (f.err is set if that fails too).
func (f *failoverStream) hedgedStart(i int) bool {
	e := f.e
	results := make(chan firstContent, 2)
	primary, err := e.race(f.ctx, f.req, i, false, results)
	if err != nil {
		e.record(&e.plan.attempts[i], octomesh.AttemptRecord{Deployment: e.plan.attempts[i].d.Name, Provider: e.plan.attempts[i].d.Provider}, err)
		f.curIdx = i
		return f.recover(err)
	}
	racing := map[*liveAttempt]bool{primary: true}
	timer := time.NewTimer(e.plan.hedgeAfter)
	defer timer.Stop()
	var winner *firstContent
	var failed []firstContent
	hedged := false
	for winner == nil && len(racing) > 0 {
		select {
		case <-timer.C:
			if hedged || !e.svc.health.allowHedge() {
				continue
			}
			hedged = true
			for j := range e.plan.attempts {
				if j == i || e.svc.now().Before(e.svc.health.coolingUntil(e.plan.attempts[j].d.Name)) {
					continue
				}
				if la, err := e.race(f.ctx, f.req, j, true, results); err == nil {
					racing[la] = true
				}
				break
			}
		case r := <-results:
			delete(racing, r.la)
			if r.err == nil {
				winner = &r
			} else {
				failed = append(failed, r)
			}
		}
	}
	// Cancel whatever is still racing and wait for it, so no goroutine
	// outlives this call; a hedge that lost the race counts as cancelled.
	for la := range racing {
		la.cancel(whyCanceled)
	}
	for len(racing) > 0 {
		r := <-results
		delete(racing, r.la)
		r.err = context.Canceled
		failed = append(failed, r)
	}
	var lastErr error
	for _, r := range failed {
		err := r.err
		if err != context.Canceled {
			err = e.attemptStreamErr(f.ctx, r.la, err)
			lastErr = err
		}
		e.finishAttempt(r.la, err)
	}
	if winner == nil {
		if f.ctx.Err() != nil {
			f.err = f.ctx.Err()
			return false
		}
		f.curIdx = failed[len(failed)-1].idx
		if afterFailure(lastErr) == stop {
			f.err = lastErr
			return false
		}
		return f.recover(lastErr)
	}
	f.setCurrent(winner.la, winner.idx, false)
	for k := range winner.chunks {
		if f.accept(winner.la, &winner.chunks[k]) {
			f.pending = true
		}
	}
	return true
}
