package meter

import (
	"context"
	"errors"
	"testing"

	"github.com/octomesh/octomesh/internal/cancelctx"
)

// The context Settle and Release work in keeps the request's values and
// drops its cancellation, as context.WithoutCancel's does: Err, Done and
// Cause all say it is live while its parent is cancelled with a cause.
func TestDetach(t *testing.T) {
	type key struct{}
	parent, cancel := context.WithCancelCause(context.WithValue(context.Background(), key{}, "v"))
	cancel(errors.New("client gone"))
	var r Reservation
	ctx := r.detach(parent)
	if ctx.Err() != nil || ctx.Done() != nil {
		t.Errorf("Err, Done = %v, %v; want nil, nil", ctx.Err(), ctx.Done())
	}
	if got := context.Cause(ctx); got != nil {
		t.Errorf("Cause = %v, want nil", got)
	}
	if _, ok := ctx.Deadline(); ok {
		t.Error("the detached context has a deadline")
	}
	if got := ctx.Value(key{}); got != "v" {
		t.Errorf("Value = %v, want the parent's", got)
	}
	child, stop := context.WithCancel(ctx)
	defer stop()
	if child.Err() != nil {
		t.Errorf("a child of the detached context is cancelled: %v", child.Err())
	}
	if want := context.WithoutCancel(parent); context.Cause(want) != context.Cause(ctx) {
		t.Errorf("Cause differs from WithoutCancel's: %v, %v", context.Cause(want), context.Cause(ctx))
	}
}

// A context that cannot be cancelled is used as it is.
func TestDetachUncancellable(t *testing.T) {
	var r Reservation
	bg := context.Background()
	if got := r.detach(bg); got != bg {
		t.Errorf("detach(Background) = %v, want it unchanged", got)
	}
}

// A request's context (a cancelctx.Ctx, under a value) is detached as any
// other, without its Done channel being made.
func TestDetachRequestContext(t *testing.T) {
	type key struct{}
	req := cancelctx.New(context.Background())
	var r Reservation
	ctx := r.detach(context.WithValue(req, key{}, 1))
	req.Cancel(nil)
	if ctx.Err() != nil || ctx.Value(key{}) != 1 {
		t.Errorf("Err, Value = %v, %v; want nil, 1", ctx.Err(), ctx.Value(key{}))
	}
	if c := cancelctx.From(ctx); c != nil {
		t.Error("cancelctx.From finds the request's context above the detached one")
	}
	if c := cancelctx.New(ctx); c.Err() != nil {
		t.Errorf("a context under the detached one ended with the request: %v", c.Err())
	}
	var live cancelctx.Ctx
	if n := testing.AllocsPerRun(10, func() { live.Init(context.Background()); r.detach(&live) }); n != 0 {
		t.Errorf("detach allocates %v times, want 0", n)
	}
}
