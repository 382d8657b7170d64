package gateway

import (
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/router"
)

// call is one chat request's state in the gateway, in one allocation
// instead of one per part: what the caller is told (served), metering,
// the plan and the executor following it, and room for the common case of
// a small plan, a few attempts and the first attempt's upstream request.
//
// It is never pooled or reused: served, the decision and (in chatCall)
// the usage are handed to the caller, and the upstream request to a
// provider, which keep them as long as they like.
type call struct {
	served octomesh.Served
	mt     metering
	plan   plan
	exec   executor

	attempts [2]planned                // backs plan.attempts for plans this small
	records  [1]octomesh.AttemptRecord // backs the decision's attempt records
	space    router.PlanSpace          // the router's plan and decision
}

// chatCall is a non-streaming request's call.
//
// Only it has room for the upstream request: a stream lives for seconds
// or minutes while its upstream request is garbage once sent, so in a
// streamCall the 536 bytes would be held for nothing (at 2,000 streams,
// a size class up: 1.5 MB).
type chatCall struct {
	call
	usage octomesh.Usage       // the answer's usage, which the response points to
	up    octomesh.ChatRequest // the first attempt's upstream request
}

// streamCall is a streaming request's call.
type streamCall struct {
	call
	stream failoverStream
	first  liveAttempt // the first attempt the stream opens
}

// init readies c for a request: served names its id, and the plan's and
// the executor's slices have c's room behind them.
func (c *call) init(s *Service, requestID string) {
	c.served.RequestID = requestID
	c.plan.attempts = c.attempts[:0]
	c.plan.space = &c.space
	c.exec.svc = s
}

// begin starts the executor on the plan p (c's own or, from a test's
// planner, another) once it is made.
func (c *call) begin(p *plan, start time.Time) *executor {
	e := &c.exec
	e.plan, e.start = p, start
	if p.decision != nil {
		if p.decision.Attempts == nil {
			p.decision.Attempts = c.records[:0]
		}
		e.base = len(p.decision.Attempts)
	}
	return e
}
