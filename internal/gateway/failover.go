package gateway

import (
	"context"
	"strings"
	"time"

	"github.com/octomesh/octomesh"
)

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
	mt        *metering            // nil: no metering
	first     *octomesh.Deployment // the plan's first choice, for a stream that never starts

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
	pending   bool // chunk was fetched by Start and not yet returned
	sent      bool // content reached the caller
	cont      bool // the current attempt continues an earlier one: drop its role chunk
	keepText  bool // a candidate of the plan can continue an answer
	toolCall  bool // a tool call was relayed: such answers cannot be continued
	finished  bool
	usageDone bool
	closed    bool
	started   bool // Start (or Abandon) was called

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
	f.record(d, start, t, cost, err)
	return serr
}

// record records the stream's outcome. It is apart from settle so that
// the outcome, built on the stack, is not under the ledger's journaling.
//
//go:noinline
func (f *failoverStream) record(d *octomesh.Deployment, start time.Time, t metered, cost octomesh.Money, err error) {
	f.e.svc.finish(f.ctx, outcome{route: "chat", stream: true, d: d, start: start, ttft: f.ttft(), usage: t, cost: cost, err: err, decision: f.e.plan.decision})
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

// WaitData waits for the current attempt's next bytes (octomesh.DataWaiter);
// it returns at once when a chunk, or the end, is ready without them. A
// wait it cannot do (an attempt's stream without WaitData) is left to Next.
func (f *failoverStream) WaitData() {
	if f.closed || f.err != nil || f.pending || (f.held != nil && f.sent) || f.cur == nil {
		return
	}
	if w, ok := f.cur.s.(octomesh.DataWaiter); ok {
		w.WaitData()
	}
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
