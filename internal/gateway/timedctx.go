package gateway

import (
	"context"
	"time"

	"github.com/octomesh/octomesh/internal/cancelctx"
)

// timedCtx is a non-streaming upstream call's context: a cancelctx.Ctx
// that ends with context.DeadlineExceeded when the call's timeout passes,
// as a context.WithTimeout's would. It costs one allocation for itself and
// two for its timer; a WithTimeout under the request's context cost five
// or more (its timerCtx, the timer and its closure, the cancel closure,
// and the parent's children map and Done channel), and the upstream
// watch's context.AfterFunc on it three more.
type timedCtx struct {
	cancelctx.Ctx
	timer *time.Timer
}

// withTimeout starts a call's context under parent, ending d from now
// (d <= 0: only with parent, or stop). The caller must call stop.
func withTimeout(parent context.Context, d time.Duration) *timedCtx {
	c := new(timedCtx)
	c.Init(parent)
	if d > 0 {
		c.SetDeadline(time.Now().Add(d))
		c.timer = time.AfterFunc(d, c.Expire)
	}
	return c
}

// stop ends the call's context and its timer: the call is over.
func (c *timedCtx) stop() {
	if c.timer != nil {
		c.timer.Stop()
	}
	c.Cancel(nil)
}
