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
	if key == causeKey {
		return nil
	}
	return c.parent.Value(key)
}

func (c *detachedCtx) String() string { return "meter.detached" }

// causeKey is the key context.Cause looks up: whatever it asks an ended
// context for, found once by asking. (Cause asks nothing of a live one:
// a probe that was live found no key, and the detached context passed
// the key on, so that cancelctx.From found the request's context above
// it.)
var causeKey = func() any {
	p := &keyProbe{Context: context.Background()}
	_ = context.Cause(p)
	if p.key == nil {
		panic("meter: context.Cause asked for no key")
	}
	return p.key
}()

// keyProbe is an ended context that notes the key it is asked for.
type keyProbe struct {
	context.Context
	key any
}

func (p *keyProbe) Err() error        { return context.Canceled }
func (p *keyProbe) Value(key any) any { p.key = key; return nil }

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
