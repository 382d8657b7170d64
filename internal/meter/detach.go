package meter

import (
	"context"
	"time"

	"github.com/octomesh/octomesh/internal/cancelctx"
)

// detachedCtx is context.WithoutCancel's context, held in the
// reservation: the request's values without its cancellation, so that a
// client going away does not abort the ledger write. WithoutCancel's own
// cost an allocation per request.
type detachedCtx struct{ parent context.Context }

func (detachedCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (detachedCtx) Done() <-chan struct{}       { return nil }
func (detachedCtx) Err() error                  { return nil }

// Value answers the parent's values but not the key through which
// context.Cause finds a cancelled parent (WithoutCancel's does the same),
// so that the cause of a detached context is nil, as its Err is.
func (c *detachedCtx) Value(key any) any {
	if key == cancelctx.StdCancelKey {
		return nil
	}
	return c.parent.Value(key)
}

func (c *detachedCtx) String() string { return "meter.detached" }

// detach returns ctx without its cancellation, held in r (once: Settle
// and Release each run at most once per reservation, and only one of
// them). A request's context, a cancelctx.Ctx, is not asked for its Done
// channel, which it would make for this question alone.
func (r *Reservation) detach(ctx context.Context) context.Context {
	if cancelctx.From(ctx) == nil && ctx.Done() == nil {
		return ctx // nothing to detach from
	}
	r.detached = detachedCtx{ctx}
	return &r.detached
}
