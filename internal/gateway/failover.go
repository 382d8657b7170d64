package gateway

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/octomesh/octomesh"
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
// Its context is one context.WithCancel, not a cancel-cause context with a
// timeout child: the cause of our own cancellations is kept in why, which
// cause reads back as context.Cause would have. One timer serves as the
// first-byte timer, then the idle timer, and bounds the attempt's total
// time throughout (a context.WithTimeout per attempt was a second timer,
// started and stopped per stream, and three more allocations). The
// provider sees context.Canceled at any of the three; attemptStreamErr
// turns each into its timeout.
type liveAttempt struct {
	a     *planned
	s     octomesh.ChatStream
	ctx   context.Context
	stop  context.CancelFunc // ends ctx
	timer *time.Timer        // first-byte timer, then idle timer (fire)
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

// newAttemptContext derives the context of an attempt. Its total timeout
// is the attempt's timer's (startTimer), not the context's.
func newAttemptContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithCancel(ctx)
}

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
	la.stop()
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
	cause := context.Cause(la.ctx)
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
	actx, stop := newAttemptContext(ctx)
	la := e.newAttempt()
	*la = liveAttempt{a: a, ctx: actx, stop: stop, at: e.svc.now(),
		rec: octomesh.AttemptRecord{Deployment: a.d.Name, Provider: a.d.Provider, Continued: continued}}
	la.rec.Start = la.at.Sub(e.start)
	la.startTimer()
	b, err := e.svc.health.begin(a, &la.in)
	if err != nil {
		e.finishAttempt(la, err)
		return nil, err
	}
	la.begun = b
	s, err := a.p.ChatStream(actx, e.upstreamRequest(req, a.d))
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

// failoverStream is the stream a client reads. Before any content reached
// the client, a failing attempt is replaced invisibly by the next candidate
// (role chunks are held back until content arrives, so nothing was sent).
// After content was sent, the answer is continued on a candidate that can
// continue an assistant message; when none can, the stream ends with the
// original error, never as a complete answer. The usage chunk is emitted once
// at the end with the totals of every attempt that produced content.
type failoverStream struct {
	e *executor
	// ctx is the caller's context. The request's start is e.start.
	ctx context.Context
	// req is the request the current attempt serves and orig the caller's.
	// Once content was sent, neither is needed unless the answer may be
	// continued (keepText): they are then dropped (release), so that a
	// stream waiting for its next token does not hold the prompt.
	req       *octomesh.ChatRequest
	orig      *octomesh.ChatRequest
	reqTokens int             // req's EstimateTokens, for estimate once req is dropped
	rejected  map[string]bool // deployments that refused a continuation
	cur       *liveAttempt
	curIdx    int
	served    *octomesh.Served
	mt        *metering // nil: no metering

	held     *octomesh.Chunk // a role chunk held back until content arrives
	chunk    *octomesh.Chunk
	text     strings.Builder // what was sent, if keepText
	id       string
	created  int64
	attBytes int             // content bytes relayed by the current attempt
	attUsage *octomesh.Usage // usage the current attempt reported
	spent    []billed        // attempts that produced content, for billing
	err      error

	// Flags, together: apart, each cost a word of padding.
	settled   bool // settle has run
	pending   bool // chunk was fetched by ChatStream and not yet returned
	sent      bool // content reached the caller
	cont      bool // the current attempt continues an earlier one: drop its role chunk
	keepText  bool // a candidate of the plan can continue an answer
	toolCall  bool // a tool call was relayed: such answers cannot be continued
	finished  bool
	usageDone bool
	closed    bool

	// Room for what a stream needs once, so that it needs no allocation:
	// each is used at most once per stream (see accept and emitUsage).
	roleChunk  octomesh.Chunk // the held role chunk
	roleChoice [1]octomesh.ChunkChoice
	// lateChunk is the first content chunk, sent after the role chunk,
	// and then the final usage chunk: next returns a held chunk before it
	// reads on, so the first is long returned when the second is made.
	lateChunk octomesh.Chunk
	// attUsageV is what attUsage points to and, once the last attempt is
	// booked, the final usage chunk's usage.
	attUsageV octomesh.Usage
	spentBuf  [1]billed // backs spent for one attempt with content
}

// Next advances the stream, failing over as described on failoverStream.
// When the stream ends, its usage is settled (and durable in the ledger)
// before Next returns the final usage chunk (or false), so the relay
// writes the final bytes only after that; if it cannot be made durable,
// the stream ends with an error instead of completing.
func (f *failoverStream) Next() bool {
	if f.next() {
		return true
	}
	f.finalize()
	return false
}

// finalize settles and records the request once.
func (f *failoverStream) finalize() {
	if f.settled {
		return
	}
	f.settled = true
	if err := f.settle(f.e.start, f.err); err != nil && f.err == nil {
		f.err = err
	}
}

func (f *failoverStream) next() bool {
	if f.closed || f.err != nil {
		return false
	}
	if f.pending {
		f.pending = false
		return true
	}
	if f.held != nil && f.sent {
		f.chunk, f.held = f.held, nil
		return true
	}
	for f.cur != nil {
		la := f.cur
		if la.s.Next() {
			if f.accept(la, la.s.Chunk()) {
				return true
			}
			continue
		}
		err := f.e.attemptStreamErr(f.ctx, la, la.s.Err())
		if err == nil && !f.finished {
			err = octomesh.Errorf(octomesh.EUPSTREAM, "the provider ended the stream without a finish reason")
		}
		f.endAttempt(err)
		if err == nil {
			// Settle before the usage chunk: settling writes the ledger,
			// which may wait on a database (PostgreSQL, or Redis counters),
			// and after the usage chunk Buffered reports the end as ready.
			// If the usage cannot be made durable, the stream ends with
			// that error instead.
			f.finalize()
			if f.err != nil {
				return false
			}
			return f.emitUsage()
		}
		if f.ctx.Err() != nil {
			f.err = f.ctx.Err()
			return false
		}
		if !f.recover(err) {
			return false
		}
	}
	return false
}

// endAttempt closes the current attempt and books what it consumed.
func (f *failoverStream) endAttempt(err error) {
	la := f.cur
	f.cur = nil
	la.rec.Relayed = f.attBytes
	f.e.finishAttempt(la, err)
	// A finished attempt (err nil) is billed even with an empty answer and
	// no usage report: its prompt was paid for.
	if f.attBytes > 0 || err == nil {
		var m metered
		if f.attUsage != nil && (f.attUsage.PromptTokens > 0 || f.attUsage.CompletionTokens > 0) {
			m = metered{Usage: *f.attUsage}
		} else {
			// No usage report (the stream was cut): bill what was relayed.
			m = estimateFrom(f.reqTokens, f.attBytes)
		}
		if f.spent == nil {
			f.spent = f.spentBuf[:0:len(f.spentBuf)]
		}
		f.spent = append(f.spent, billed{d: la.a.d, usage: m, attempt: len(f.e.plan.decision.Attempts) - 1})
	}
	f.attBytes, f.attUsage = 0, nil
}

// total sums the usage of every attempt that produced content.
func (f *failoverStream) total() (metered, octomesh.Money) {
	var t metered
	var cost octomesh.Money
	for _, sp := range f.spent {
		t.PromptTokens += sp.usage.PromptTokens
		t.CompletionTokens += sp.usage.CompletionTokens
		t.CacheWriteTokens += sp.usage.CacheWriteTokens
		if c := sp.usage.CachedTokens(); c > 0 {
			if t.PromptTokensDetails == nil {
				t.PromptTokensDetails = &octomesh.PromptTokensDetails{}
			}
			t.PromptTokensDetails.CachedTokens += c
		}
		t.Estimated = t.Estimated || sp.usage.Estimated
		cost += f.mt.costOf(sp.d, sp.usage.Usage)
	}
	t.TotalTokens = t.PromptTokens + t.CompletionTokens
	return t, cost
}

// emitUsage returns the final usage chunk once.
func (f *failoverStream) emitUsage() bool {
	if f.usageDone {
		return false
	}
	f.usageDone = true
	t, _ := f.total()
	f.attUsageV = t.Usage // every attempt is booked (spent holds copies)
	f.lateChunk = octomesh.Chunk{ID: f.id, Object: octomesh.ObjectChatCompletionChunk, Created: f.created, Model: f.served.Model, Choices: []octomesh.ChunkChoice{}, Usage: &f.attUsageV}
	f.chunk = &f.lateChunk
	return true
}

// accept processes one upstream chunk; it reports whether the chunk is to be
// returned to the caller now.
func (f *failoverStream) accept(la *liveAttempt, c *octomesh.Chunk) bool {
	content := false
	for i := range c.Choices {
		ch := &c.Choices[i]
		if ch.Delta.Content != "" || ch.Delta.Refusal != "" || len(ch.Delta.ToolCalls) > 0 || ch.FinishReason != "" {
			content = true
		}
	}
	if content && !la.gotAny {
		la.gotAny = true
		la.ttfb = f.e.svc.now().Sub(la.at)
	}
	if content {
		la.armIdle()
	}
	if !f.sent {
		// Until content is sent, the answering deployment is this attempt's.
		f.served.Model, f.served.Provider = la.a.d.Name, la.a.d.Provider
		if f.held != nil {
			f.held.Model = f.served.Model
		}
	}
	if f.id == "" {
		f.id, f.created = c.ID, c.Created
	}
	c.ID, c.Created = f.id, f.created // a continuation keeps the stream's id
	c.Model = f.served.Model
	if c.Usage != nil && len(c.Choices) == 0 {
		f.attUsageV = *c.Usage
		f.attUsage = &f.attUsageV
		return false // the usage chunk is emitted once, at the end, with the totals
	}
	if !content {
		if f.cont || f.sent || f.held != nil {
			return false // a continuation's (or repeated) role chunk
		}
		// Once per stream: f.held was nil and is never set to a role chunk again.
		f.roleChunk = *c
		f.roleChunk.Choices = nil
		if len(c.Choices) > 0 { // the stream may reuse its chunk
			f.roleChunk.Choices = append(f.roleChoice[:0:len(f.roleChoice)], c.Choices...)
		}
		f.held = &f.roleChunk
		return false
	}
	for i := range c.Choices {
		ch := &c.Choices[i]
		if f.keepText {
			f.text.WriteString(ch.Delta.Content)
		}
		n := len(ch.Delta.Content) + len(ch.Delta.Refusal)
		for _, tc := range ch.Delta.ToolCalls {
			f.toolCall = true
			n += len(tc.Function.Arguments)
		}
		f.attBytes += n
		if ch.FinishReason != "" {
			f.finished = true
		}
	}
	if !f.sent {
		f.sent = true
		f.release()
		if f.held != nil {
			// Send the held role chunk first, then this one.
			f.lateChunk = *c // once per stream: the first content sent
			f.chunk, f.held = f.held, &f.lateChunk
			return true
		}
	}
	f.chunk = c
	return true
}

// release drops the requests once content was sent, unless the answer may
// have to be continued: no other attempt can be opened on them then
// (recover fails over only before content, and continues only on a
// candidate that can continue, which keepText says the plan has).
func (f *failoverStream) release() {
	if !f.keepText {
		f.req, f.orig = nil, nil
	}
}

// recover opens the next attempt after a failure; it reports whether the
// stream can go on.
func (f *failoverStream) recover(err error) bool {
	e := f.e
	if afterFailure(err) == stop {
		f.err = err
		return false
	}
	if !f.sent {
		for {
			i := e.pickNext(f.ctx, f.curIdx, err)
			if i < 0 {
				f.err = e.finalErr()
				return false
			}
			la, oerr := e.open(f.ctx, f.req, &e.plan.attempts[i], false)
			if oerr == nil {
				f.setCurrent(la, i, false)
				return true
			}
			if afterFailure(oerr) == stop || f.ctx.Err() != nil {
				f.err = oerr
				return false
			}
			f.curIdx, err = i, oerr
		}
	}
	// Content was sent: continue the answer on a capable candidate.
	original := err
	if f.toolCall || f.finished {
		f.err = original
		return false
	}
	// Always continue from the caller's own request plus everything sent so
	// far, also when a continuation itself fails and is continued again.
	// It is made once a candidate is found: without one (keepText false,
	// and then orig is released) there is nothing to make it for.
	var creq *octomesh.ChatRequest
	for {
		i := e.pickNextWhere(f.ctx, f.curIdx, err, func(a *planned) bool {
			return a.d.Capabilities.Continuation && !f.rejected[a.d.Name]
		})
		if i < 0 {
			f.err = original
			return false
		}
		if creq == nil {
			creq = continuationRequest(f.orig, f.text.String())
		}
		la, oerr := e.open(f.ctx, creq, &e.plan.attempts[i], true)
		if oerr == nil {
			f.req, f.reqTokens = creq, creq.EstimateTokens()
			f.setCurrent(la, i, true)
			return true
		}
		// A fallback that rejects the continuation must not mask the
		// original failure; one that rejects it as invalid will not accept
		// it on a retry either.
		if f.ctx.Err() != nil {
			f.err = f.ctx.Err()
			return false
		}
		if afterFailure(oerr) == stop {
			if f.rejected == nil {
				f.rejected = map[string]bool{}
			}
			f.rejected[e.plan.attempts[i].d.Name] = true
		}
		f.curIdx, err = i, oerr
	}
}

func (f *failoverStream) setCurrent(la *liveAttempt, i int, cont bool) {
	f.cur, f.curIdx, f.cont = la, i, cont
	f.served.Attempts = f.e.tried + 1
}

// continuationRequest asks a model to continue the partial answer: the
// original conversation plus the partial assistant message (a prefill).
func continuationRequest(req *octomesh.ChatRequest, partial string) *octomesh.ChatRequest {
	c := *req
	c.Messages = append(append([]octomesh.Message(nil), req.Messages...),
		octomesh.Message{Role: octomesh.RoleAssistant, Content: octomesh.TextContent(partial)})
	c.N = nil
	return &c
}

// Chunk returns the current chunk.
func (f *failoverStream) Chunk() *octomesh.Chunk { return f.chunk }

// Err returns the error that ended the stream.
func (f *failoverStream) Err() error { return f.err }

// Close ends the current attempt and records the request.
func (f *failoverStream) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	if f.cur != nil {
		err := f.err
		if err == nil && !f.finished {
			err = context.Canceled // the caller stopped reading
		}
		f.endAttempt(err)
	}
	f.finalize()
	return nil
}

// settle prices the request, writes its ledger entries and records its
// outcome. It returns an error when the usage could not be made durable.
func (f *failoverStream) settle(start time.Time, err error) error {
	t, cost := f.total()
	f.served.Cost = cost
	f.served.Attempts = f.e.tried
	d := f.e.plan.attempts[0].d
	if len(f.spent) > 0 {
		d = f.spent[len(f.spent)-1].d
	}
	if err == nil && !f.finished {
		err = context.Canceled
	}
	serr := f.mt.settle(f.ctx, f.e.plan.decision, f.spent)
	if serr != nil && err == nil {
		err = serr
	}
	f.e.svc.finish(f.ctx, outcome{route: "chat", stream: true, d: d, start: start, ttft: f.ttft(), usage: t, cost: cost, err: err, decision: f.e.plan.decision})
	return serr
}

// ttft is the time to the first content of the first attempt that sent any.
func (f *failoverStream) ttft() time.Duration {
	for _, a := range f.e.plan.decision.Attempts {
		if a.TTFB > 0 {
			return a.Start + a.TTFB
		}
	}
	return 0
}

// Buffered reports upstream bytes already received and not yet relayed.
// After the final usage chunk it reports 1: the upstream has ended and
// the usage is settled (next settles before it emits that chunk), so the
// next Next only returns false and cannot wait on the network, and the
// relay need not flush before the end of the body.
func (f *failoverStream) Buffered() int {
	if f.pending || (f.held != nil && f.sent) || (f.usageDone && f.settled) {
		return 1 // a chunk, or the end, is ready now
	}
	if f.cur != nil {
		if b, ok := f.cur.s.(octomesh.BufferedStream); ok {
			return b.Buffered()
		}
	}
	return 0
}
