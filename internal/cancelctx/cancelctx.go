// Package cancelctx is a cancelable context.Context whose children of the
// same kind, and watchers, register with it without allocating.
//
// A request served by h1server, its gateway attempt and the upstream
// connection's watch form a chain of three cancellations per request. With
// the standard library's contexts each link costs a children map in the
// parent (two allocations), the parent's Done channel, and for a watch
// (context.AfterFunc) a context and a closure more: about 1.2 KB held per
// waiting stream. Here a link is a Node, embedded where its owner lives
// (the child Ctx, the connection), kept in an intrusive list: no
// allocation, and no Done channel unless someone asks for one.
//
// Lifecycle: Init (or New) ties a Ctx to its parent; Cancel ends it, and
// its parent's end ends it; after the end, Err and Cause answer and every
// watcher has run. Release unties a Ctx from its parent early, when its
// owner is done with it, so that a long-lived parent does not keep it.
//
// The standard library finds the nearest cancelCtx of a context through
// Value with its private key (context.Cause and propagateCancel do).
// A Ctx answers that key with itself, which is how From finds it through
// value-only contexts (WithValue, octomesh's scope) and knows that no
// other canceller (a WithCancel, a WithoutCancel) stands between: those
// answer the key themselves (and From checks Done channels for the rest). A standard context derived directly from a
// Ctx registers through its AfterFunc method (a few allocations, as
// before); one derived through a value-only context in between finds no
// cancelCtx and watches from a goroutine of its own, until either ends.
// (From, like the standard library, also checks Done channels: see it.)
//
// Two differences from the standard library's contexts: context.Cause of
// a Ctx (and of a standard context derived from one) is its Err, not the
// cause it was cancelled with, which its own Cause method reports; and
// Deadline reports a wall-clock time without a monotonic reading (the
// deadline is kept in nanoseconds), so a context derived from it follows
// a step of the wall clock. The Ctx's own timer (the caller's) does not.
package cancelctx

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Watcher is told when the Ctx it watches ends.
type Watcher interface {
	// ContextDone runs in the goroutine that ends the Ctx, with the Ctx's
	// lock held: it must be quick, must not block, and must not call the
	// Ctx's methods (its Unwatch would wait for itself).
	ContextDone()
}

// Node registers a Watcher with a Ctx. Embed it where the watcher lives:
// it is attached by Watch and detached by Unwatch or by the Ctx's end,
// and may then be attached again.
//
// A Ctx's list is singly linked, and Unwatch walks it: a Ctx has a
// watcher or two (a request's attempt, an attempt's connection), and a
// prev pointer in every Node would grow what embeds it (a connection).
type Node struct {
	next *Node
	on   *Ctx // the Ctx Watch was last given (set by its caller's goroutine)
	w    Watcher
}

// Ctx is the Ctx Watch was last given n, whether or not n is still
// attached to it; nil if none. For the goroutine that called Watch.
func (n *Node) Ctx() *Ctx { return n.on }

// Ctx is a cancelable context. Its zero value is not usable: see Init.
// Its methods are safe for concurrent use, except Init.
//
// It is 128 bytes (a size class; TestSize): a request's holds one, and
// a streaming attempt's is held while the stream waits.
type Ctx struct {
	parent   context.Context
	deadline int64 // its own (SetDeadline, unix nanoseconds), or 0

	mu    sync.Mutex
	state atomic.Int32  // live, or why it ended (Err): cause is set then
	done  chan struct{} // under mu: made by Done, closed by the end
	cause error
	head  *Node // the attached watchers

	// link is c's registration with its parent Ctx (link.on:
	// From(parent)), or stop, with a parent of another kind, its
	// context.AfterFunc's.
	link Node
	stop func() bool
}

// Ctx states: why it ended, which Err reports.
const (
	live int32 = iota
	canceled
	deadlineExceeded
)

// closedchan is the Done channel of a Ctx that ended before anyone asked.
var closedchan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// New returns a Ctx under parent.
func New(parent context.Context) *Ctx {
	c := new(Ctx)
	c.Init(parent)
	return c
}

// Init makes c, which may be embedded in its owner's memory, a new context
// under parent: ended when parent ends (at once if it has ended), or by
// Cancel. c must not be in use: a Ctx that others may still hold (a
// goroutine left behind by its request) must not be initialised again,
// for they would see it live again.
func (c *Ctx) Init(parent context.Context) {
	*c = Ctx{parent: parent}
	if p := From(parent); p != nil {
		p.Watch(&c.link, (*link)(c)) // ends c at once if p has ended
		return
	}
	done := parent.Done()
	if done == nil {
		return // never cancelled
	}
	select {
	case <-done:
		c.end(parent.Err(), context.Cause(parent))
		return
	default:
	}
	c.stop = context.AfterFunc(parent, c.parentEnded)
}

// From returns the Ctx whose end ends ctx: ctx itself, or the nearest
// Ctx above it through value-only contexts; nil if ctx has another
// canceller nearer, or none.
//
// As the standard library's parentCancelCtx does, it checks that ctx's
// Done channel is the Ctx's: a context type that passes Value on but ends
// on its own (its own Done), or never (net's values-only context), stands
// between them, and linking past it would lose its end or add the Ctx's.
// Asking makes the Ctx's Done channel, once per Ctx.
func From(ctx context.Context) *Ctx {
	if c, ok := ctx.(*Ctx); ok {
		return c
	}
	c, _ := ctx.Value(StdCancelKey).(*Ctx)
	if c == nil || ctx.Done() != c.Done() {
		return nil
	}
	return c
}

// StdCancelKey is the key through which the standard library looks up a
// context's nearest cancelCtx: whatever context.Cause of an ended context
// asks for, found once by asking. A context that cuts cancellation off
// (meter's detached one, as context.WithoutCancel's does) answers it with
// nil, so that neither the standard library nor From looks past it.
var StdCancelKey = func() any {
	p := &keyProbe{Context: context.Background()}
	_ = context.Cause(p)
	if p.key == nil {
		panic("cancelctx: context.Cause asked for no key")
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

// parentEnded is the AfterFunc of a parent of another kind.
func (c *Ctx) parentEnded() { c.end(c.parent.Err(), context.Cause(c.parent)) }

// link is a Ctx as the Watcher of its parent Ctx (a type of its own, so
// that Ctx has no ContextDone method for others to call).
type link Ctx

// ContextDone ends c as its parent Ctx ended: the parent has set its err
// and cause (under its lock, or before Watch found it ended).
func (l *link) ContextDone() {
	c := (*Ctx)(l)
	c.end(c.link.on.Err(), c.link.on.cause)
}

// Cancel ends c with context.Canceled, and cause as its cause (nil:
// context.Canceled). Only the first end counts.
func (c *Ctx) Cancel(cause error) { c.CancelErr(context.Canceled, cause) }

// CancelErr ends c with err (context.Canceled or context.DeadlineExceeded,
// as Err must answer) and cause (nil: err), and unties it from its
// parent. Only the first end counts.
func (c *Ctx) CancelErr(err, cause error) {
	c.end(err, cause)
	c.Release()
}

// end ends c, if it has not ended: closes Done and runs the watchers.
func (c *Ctx) end(err, cause error) {
	if cause == nil {
		cause = err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state.Load() != live {
		return
	}
	c.cause = cause
	why := canceled
	if err == context.DeadlineExceeded {
		why = deadlineExceeded
	}
	c.state.Store(why)
	if c.done != nil {
		close(c.done)
	}
	// The lock is held throughout: until Unwatch can take it and report
	// false, no owner takes its Node back to attach it elsewhere.
	for n := c.head; n != nil; {
		next := n.next
		n.next = nil
		n.w.ContextDone()
		n = next
	}
	c.head = nil
}

// Release unties c from its parent, without ending it: the parent no
// longer holds c, and c no longer follows the parent. For a Ctx whose
// owner is done with it (after Cancel it is done already).
func (c *Ctx) Release() {
	if p := c.link.on; p != nil {
		p.Unwatch(&c.link)
	}
	if c.stop != nil {
		c.stop()
	}
}

// Watch attaches n to c with w as its watcher: w.ContextDone runs when c
// ends, unless Unwatch detaches n first. If c has ended, w.ContextDone
// runs now, in this goroutine, and Watch reports false. n must not be
// attached.
func (c *Ctx) Watch(n *Node, w Watcher) bool {
	n.on = c
	c.mu.Lock()
	if c.state.Load() != live {
		c.mu.Unlock()
		w.ContextDone()
		return false
	}
	n.next, n.w = c.head, w
	c.head = n
	c.mu.Unlock()
	return true
}

// Unwatch detaches n from c, and reports whether it did: false when n was
// not attached to c, in particular when c's end detached it (its watcher
// then has run, or is running in the goroutine that ended c).
func (c *Ctx) Unwatch(n *Node) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p := &c.head; *p != nil; p = &(*p).next {
		if *p == n {
			*p, n.next = n.next, nil
			return true
		}
	}
	return false
}

// SetDeadline makes c end with context.DeadlineExceeded at t, if that is
// before its parent's deadline, which Deadline then reports. The caller
// runs the timer (AfterFunc(c.Expire) or its own): c only reports t.
// Before c is shared.
func (c *Ctx) SetDeadline(t time.Time) {
	if pd, ok := c.parent.Deadline(); !ok || t.Before(pd) {
		c.deadline = t.UnixNano()
	}
}

// Expire ends c with context.DeadlineExceeded, as its deadline's timer.
func (c *Ctx) Expire() { c.CancelErr(context.DeadlineExceeded, nil) }

// Deadline reports c's deadline: its own, or its parent's.
func (c *Ctx) Deadline() (time.Time, bool) {
	if c.deadline != 0 {
		return time.Unix(0, c.deadline), true
	}
	return c.parent.Deadline()
}

// Done returns a channel closed when c ends, made at the first call.
func (c *Ctx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		if c.state.Load() != live {
			return closedchan
		}
		c.done = make(chan struct{})
	}
	return c.done
}

// Err is nil until c ends, then why it ended: context.DeadlineExceeded
// if it ended with that error, otherwise context.Canceled.
func (c *Ctx) Err() error {
	switch c.state.Load() {
	case canceled:
		return context.Canceled
	case deadlineExceeded:
		return context.DeadlineExceeded
	}
	return nil
}

// Cause is nil until c ends, then the cause it ended with (as
// context.Cause of a WithCancelCause context would report).
func (c *Ctx) Cause() error {
	if c.state.Load() == live {
		return nil
	}
	return c.cause
}

// Value answers the standard library's cancelCtx key with c (see the
// package doc), and other keys with the parent's values.
func (c *Ctx) Value(key any) any {
	if key == StdCancelKey {
		return c
	}
	return c.parent.Value(key)
}

// AfterFunc arranges for f to run in its own goroutine after c ends, as
// context.AfterFunc does; stop detaches it and reports whether it did.
// The standard library's contexts derived directly from c register
// through it.
func (c *Ctx) AfterFunc(f func()) (stop func() bool) {
	a := &afterFunc{f: f}
	c.Watch(&a.n, a)
	return func() bool { return c.Unwatch(&a.n) }
}

type afterFunc struct {
	n Node
	f func()
}

func (a *afterFunc) ContextDone() { go a.f() }

func (c *Ctx) String() string { return "cancelctx.Ctx" }
