package gateway

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/cancelctx"
	"github.com/octomesh/octomesh/internal/router"
)

// errStalled and errNoFirstByte are the causes an attempt's context is
// cancelled with when its idle or first-byte timer fires.
var (
	errStalled     = errors.New("stream stalled")
	errNoFirstByte = errors.New("no first byte")
)

// liveAttempt is one open upstream stream with its timers.
//
// Its context is a cancelctx.Ctx, linked to the request's (the server's
// cancelctx.Ctx) and linking the upstream connection's watch without
// allocating (not held in it: the stream's state would outgrow its size
// class, see TestAStreamsStateStaysSmall), not a cancel-cause context with a timeout child:
// the cause of our own cancellations is kept in why, which cause reads
// back as context.Cause would have. One timer serves as the
// first-byte timer, then the idle timer, and bounds the attempt's total
// time throughout (a context.WithTimeout per attempt was a second timer,
// started and stopped per stream, and three more allocations). The
// provider sees context.Canceled at any of the three; attemptStreamErr
// turns each into its timeout.
type liveAttempt struct {
	a     *planned
	s     octomesh.ChatStream
	ctx   *cancelctx.Ctx
	timer *time.Timer // first-byte timer, then idle timer (fire)
	// last is when content last arrived (monoNow): armIdle stores it and
	// the idle timer, when it fires, re-arms itself for what is left of
	// the gap (a Reset per chunk cost a lock and a timer heap update per
	// token). timerMu orders fire's re-arming before finishAttempt's
	// Stop, so no timer outlives its attempt (holding the stream's state
	// until it fires).
	last atomic.Int64
	// deadline is when the attempt's total time runs out (monoNow; 0:
	// no total timeout). Set before the timer starts, then only read.
	deadline int64
	timerMu  sync.Mutex
	// state is why we ended ctx, if we did first (a whyX, in whyMask),
	// and idleBit: timer is the idle timer. One word for both, so that
	// the two flags below fit beside it (the stream's state keeps its
	// size class).
	state    atomic.Int32
	gotAny   bool // a content chunk arrived
	finished bool // under timerMu: the attempt is over, the timer stopped
	begun    begun
	in       router.Inflight // the router's accounting, which begun ends
	rec      octomesh.AttemptRecord
	at       time.Time
	ttfb     time.Duration
}

// Why an attempt's context was ended by us.
const (
	whyNone        int32 = iota
	whyCanceled          // the attempt was abandoned or is over: context.Canceled
	whyNoFirstByte       // errNoFirstByte
	whyStalled           // errStalled
	whyDeadline          // the total timeout: context.DeadlineExceeded

	whyMask int32 = 0xff
	idleBit int32 = 0x100
)

// why is why we ended the attempt's context, if we did first.
func (la *liveAttempt) why() int32 { return la.state.Load() & whyMask }

// idling reports whether the timer is the idle timer.
func (la *liveAttempt) idling() bool { return la.state.Load()&idleBit != 0 }

// startTimer starts the attempt's one timer: for the first byte or the
// total timeout, whichever ends first (neither: no timer until armIdle).
func (la *liveAttempt) startTimer() {
	first, total := la.a.firstByte, la.a.total
	if total > 0 {
		la.deadline = monoNow() + int64(total)
		if first <= 0 || total < first {
			first = total
		}
	}
	if first > 0 {
		la.timer = time.AfterFunc(first, la.fire)
	}
}

// cancel ends the attempt's context for the reason why; the first reason
// given is the one cause reports.
func (la *liveAttempt) cancel(why int32) {
	for {
		old := la.state.Load()
		if old&whyMask != whyNone || la.state.CompareAndSwap(old, old|why) {
			break
		}
	}
	la.ctx.Cancel(nil)
}

// monoBase anchors monoNow.
var monoBase = time.Now()

// monoNow is the monotonic clock in nanoseconds, for the idle timer's
// gaps: real time, whatever clock the Service was given (tests run
// services on fake ones, and the timers are real).
func monoNow() int64 { return int64(time.Since(monoBase)) }

// fire is the timer's function: the total deadline, the first-byte
// deadline or, once content flows, the idle deadline has passed, or the
// idle timer re-arms for what is left of the gap.
func (la *liveAttempt) fire() {
	if !la.idling() {
		// Armed by startTimer for whichever of the two ends first.
		if dl := la.deadline; dl > 0 && monoNow() >= dl {
			la.cancel(whyDeadline)
			return
		}
		la.cancel(whyNoFirstByte)
		return
	}
	la.timerMu.Lock()
	if la.finished {
		la.timerMu.Unlock()
		return
	}
	now := monoNow()
	if dl := la.deadline; dl > 0 && now >= dl {
		la.timerMu.Unlock()
		la.cancel(whyDeadline)
		return
	}
	if idle := la.a.idle; idle > 0 {
		if gap := time.Duration(now - la.last.Load()); gap >= idle {
			la.timerMu.Unlock()
			la.cancel(whyStalled)
			return
		}
	}
	la.timer.Reset(la.untilNext(now)) // content came since it was armed
	la.timerMu.Unlock()
}

// untilNext is how long the idle timer waits from now: until the idle
// gap since the last content or the total deadline, whichever ends first.
func (la *liveAttempt) untilNext(now int64) time.Duration {
	wait := time.Duration(-1)
	if idle := la.a.idle; idle > 0 {
		wait = idle - time.Duration(now-la.last.Load())
	}
	if dl := la.deadline; dl > 0 {
		if left := time.Duration(dl - now); wait < 0 || left < wait {
			wait = left
		}
	}
	return max(wait, 0)
}

// cause is what context.Cause of the attempt's context would be had we
// cancelled it with our reason as the cause: our reason when we ended
// it, otherwise its own (the deadline's, or the parent's).
func (la *liveAttempt) cause() error {
	cause := la.ctx.Cause()
	if cause == context.Canceled {
		// Ended by stop (or by a parent cancelled without a cause, which
		// attemptStreamErr has looked at already).
		switch la.why() {
		case whyNoFirstByte:
			return errNoFirstByte
		case whyStalled:
			return errStalled
		case whyDeadline:
			return context.DeadlineExceeded
		}
	}
	return cause
}

// open starts a streaming attempt on a. The first-byte timer runs until the
// first content chunk; after that the idle timer bounds every gap.
func (e *executor) open(ctx context.Context, req *octomesh.ChatRequest, a *planned, continued bool) (*liveAttempt, error) {
	la := e.newAttempt()
	// Its total timeout is the attempt's timer's (startTimer).
	*la = liveAttempt{a: a, ctx: cancelctx.New(ctx), at: e.svc.now(),
		rec: octomesh.AttemptRecord{Deployment: a.d.Name, Provider: a.d.Provider, Continued: continued}}
	la.rec.Start = la.at.Sub(e.start)
	la.startTimer()
	b, err := e.svc.health.begin(a, &la.in)
	if err != nil {
		e.finishAttempt(la, err)
		return nil, err
	}
	la.begun = b
	s, err := a.p.ChatStream(la.ctx, e.upstreamRequest(req, a.d))
	if err != nil {
		err = e.attemptStreamErr(ctx, la, err)
		e.finishAttempt(la, err)
		return nil, err
	}
	la.s = s
	return la, nil
}

// newAttempt returns room for a live attempt: the spare the first time.
func (e *executor) newAttempt() *liveAttempt {
	if la := e.spareAttempt; la != nil {
		e.spareAttempt = nil
		return la
	}
	return new(liveAttempt)
}

// armIdle notes a content chunk: from the first content on, the idle
// timer bounds the gap between chunks (and the total deadline still
// holds). The first call turns the first-byte timer into the idle timer;
// later ones only record the time, which the timer reads when it fires
// (fire). If the timer fired meanwhile, the attempt is cancelled already.
func (la *liveAttempt) armIdle() {
	if la.idling() {
		la.last.Store(monoNow())
		return
	}
	now := monoNow()
	la.last.Store(now)
	if la.timer != nil {
		if !la.timer.Stop() {
			// A deadline passed (fire ran, or is running and reads
			// idling false): the attempt is ending with that cause, and
			// needs no idle timer.
			return
		}
		if la.a.idle <= 0 && la.deadline == 0 {
			la.timer = nil
			return
		}
		la.state.Or(idleBit)
		la.timer.Reset(la.untilNext(now))
		return
	}
	if la.a.idle > 0 { // no first-byte or total timer: the idle one alone
		la.state.Or(idleBit)
		la.timerMu.Lock() // fire may run before AfterFunc returns
		la.timer = time.AfterFunc(la.a.idle, la.fire)
		la.timerMu.Unlock()
	}
}

// attemptStreamErr explains why an attempt's stream failed, turning our own
// timers' cancellations into timeouts.
func (e *executor) attemptStreamErr(parent context.Context, la *liveAttempt, err error) error {
	if parent.Err() != nil {
		return parent.Err() // the client went away
	}
	cause := la.cause()
	timeout := func(msg string) error {
		oe := octomesh.Errorf(octomesh.ETIMEOUT, "%s", msg)
		oe.Provider = la.a.d.Provider
		// Not err: our own timers surface as context.Canceled, which would
		// read as the client leaving (outcome "cancelled", neutral health).
		return oe.WithCause(cause)
	}
	switch {
	case errors.Is(cause, errStalled):
		return timeout("the provider's stream stalled")
	case errors.Is(cause, errNoFirstByte):
		return timeout("the provider sent nothing before the first-byte deadline")
	case errors.Is(cause, context.DeadlineExceeded):
		return timeout("the provider did not finish in time")
	}
	if err == nil {
		return nil
	}
	return e.svc.attemptErr(parent, la.a, err)
}

// finishAttempt stops an attempt's timers, closes its stream and records it.
func (e *executor) finishAttempt(la *liveAttempt, err error) {
	if la.timer != nil {
		la.timerMu.Lock()
		la.finished = true
		la.timer.Stop()
		la.timerMu.Unlock()
	}
	if la.s != nil {
		la.s.Close()
	}
	la.cancel(whyCanceled)
	dur := e.svc.now().Sub(la.at)
	la.rec.Duration, la.rec.TTFB = dur, la.ttfb
	la.begun.end(attemptResult{err: err, ttfb: la.ttfb, duration: dur})
	e.record(la.a, la.rec, err)
}
