package cancelctx

import (
	"context"
	"testing"
	"time"
)

// ownDone forwards Value to its parent (so the cancelCtx key reaches a Ctx
// above it) but has a cancellation of its own: a context type the standard
// library guards against in parentCancelCtx by comparing Done channels.
type ownDone struct {
	context.Context
	done chan struct{}
}

func (o *ownDone) Done() <-chan struct{} { return o.done }
func (o *ownDone) Err() error {
	select {
	case <-o.done:
		return context.Canceled
	default:
		return nil
	}
}

// valuesOnly is net's onlyValuesCtx (withUnexpiredValuesPreserved): never
// cancelled, no deadline, but the values (every key) of another context.
type valuesOnly struct {
	context.Context // Background
	vals            context.Context
}

func (v *valuesOnly) Value(key any) any { return v.vals.Value(key) }

// A Ctx under a context that ends by itself and forwards Value ends when
// that context ends, as a context.WithCancel under it does.
func TestFromStopsAtANearerCanceller(t *testing.T) {
	req := New(context.Background())
	defer req.Cancel(nil)
	oc := &ownDone{Context: req, done: make(chan struct{})}
	child := New(oc)
	std, cancel := context.WithCancel(oc)
	defer cancel()
	close(oc.done)
	select {
	case <-std.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the standard child did not end either")
	}
	select {
	case <-child.Done():
	case <-time.After(time.Second):
		t.Fatalf("cancelctx child of a cancelled context is live (linked to %p, the Ctx above it); context.WithCancel's child ended", child.link.on)
	}
}

// A Ctx under a context that is never cancelled (but forwards Value) is
// not ended by a Ctx further up, as a context.WithCancel under it is not.
func TestFromStopsAtANonCanceller(t *testing.T) {
	req := New(context.Background())
	vo := &valuesOnly{Context: context.Background(), vals: req}
	child := New(vo)
	std, cancel := context.WithCancel(vo)
	defer cancel()
	req.Cancel(nil)
	if std.Err() != nil {
		t.Fatalf("standard child ended: %v", std.Err())
	}
	if child.Err() != nil {
		t.Fatalf("cancelctx child of a never-cancelled context ended with the Ctx above it: %v (context.WithCancel's child: %v)", child.Err(), std.Err())
	}
}
