package cancelctx

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

type keyT struct{}

// counter is a Watcher that counts its calls.
type counter struct{ n atomic.Int32 }

func (c *counter) ContextDone() { c.n.Add(1) }

func ended(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}

// A parent's end reaches a child through value-only contexts, with the
// parent's error and cause, and runs the child's watchers once.
func TestParentEndsChild(t *testing.T) {
	root := New(context.Background())
	mid := context.WithValue(root, keyT{}, "v")
	child := New(mid)
	if child.link.on != root {
		t.Fatal("the child did not find its parent Ctx through WithValue")
	}
	if got := child.Value(keyT{}); got != "v" {
		t.Errorf("Value = %v, want the parent's", got)
	}
	var w counter
	var n Node
	if !child.Watch(&n, &w) {
		t.Fatal("Watch on a live Ctx reported false")
	}
	done := child.Done()
	errGone := errors.New("gone")
	root.Cancel(errGone)
	if !ended(child) || child.Err() != context.Canceled || child.Cause() != errGone {
		t.Errorf("child after the parent's end: ended %v, Err %v, Cause %v; want true, %v, %v", ended(child), child.Err(), child.Cause(), context.Canceled, errGone)
	}
	select {
	case <-done:
	default:
		t.Error("the Done channel taken before the end is not closed")
	}
	if w.n.Load() != 1 {
		t.Errorf("watcher ran %d times, want 1", w.n.Load())
	}
	root.Cancel(nil)
	child.Cancel(nil)
	if w.n.Load() != 1 || child.Cause() != errGone {
		t.Errorf("a second end changed things: watcher ran %d times, cause %v", w.n.Load(), child.Cause())
	}
	if child.Unwatch(&n) {
		t.Error("Unwatch after the end reported true")
	}
}

// A child's own end leaves its parent alone, and unties the child from
// it: the parent holds no watcher after.
func TestChildEndUnties(t *testing.T) {
	root := New(context.Background())
	for i := 0; i < 3; i++ {
		c := New(root)
		c.CancelErr(context.DeadlineExceeded, nil)
		if c.Err() != context.DeadlineExceeded || c.Cause() != context.DeadlineExceeded {
			t.Errorf("Err, Cause = %v, %v; want context.DeadlineExceeded twice", c.Err(), c.Cause())
		}
	}
	c := New(root)
	c.Release()
	if root.head != nil {
		t.Error("the parent still holds ended or released children")
	}
	if root.Err() != nil {
		t.Errorf("parent Err = %v, want nil", root.Err())
	}
	root.Cancel(nil)
	if c.Err() != nil {
		t.Error("a released child ended with its former parent")
	}
}

// Between a Ctx and its child, another canceller decides: WithoutCancel
// cuts the parent's end off, a WithCancel adds its own.
func TestCancellerBetween(t *testing.T) {
	t.Run("WithoutCancel", func(t *testing.T) {
		root := New(context.Background())
		c := New(context.WithValue(context.WithoutCancel(root), keyT{}, 1))
		if c.link.on != nil {
			t.Fatal("linked to a Ctx above a WithoutCancel")
		}
		root.Cancel(nil)
		if c.Err() != nil {
			t.Errorf("Err = %v through WithoutCancel, want nil", c.Err())
		}
		c.Cancel(nil)
	})
	t.Run("WithCancel", func(t *testing.T) {
		root := New(context.Background())
		mid, cancel := context.WithCancelCause(root)
		c := New(context.WithValue(mid, keyT{}, 1))
		if c.link.on != nil {
			t.Fatal("linked past a WithCancel to the Ctx above it")
		}
		errMid := errors.New("mid")
		cancel(errMid)
		waitEnded(t, c)
		if c.Cause() != errMid {
			t.Errorf("Cause = %v, want %v", c.Cause(), errMid)
		}
		if root.Err() != nil {
			t.Error("the child's parent's end reached the root")
		}
	})
	t.Run("root's end through WithCancel", func(t *testing.T) {
		root := New(context.Background())
		mid, cancel := context.WithCancel(root)
		defer cancel()
		c := New(mid)
		root.Cancel(nil)
		waitEnded(t, c)
	})
}

func waitEnded(t *testing.T, ctx context.Context) {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the context did not end")
	}
}

// A standard context derived directly from a Ctx ends with it, without
// a goroutine watching (it registers through AfterFunc), and its stop
// detaches it.
func TestStandardChild(t *testing.T) {
	root := New(context.Background())
	before := runtime.NumGoroutine()
	first, cancel := context.WithCancel(root)
	if got := runtime.NumGoroutine(); got != before {
		t.Errorf("goroutines %d after WithCancel, want %d", got, before)
	}
	cancel()
	if root.head != nil || first.Err() != context.Canceled {
		t.Error("the cancelled standard child is still attached")
	}
	child, cancel := context.WithTimeout(root, time.Hour)
	defer cancel()
	root.Cancel(nil)
	waitEnded(t, child)
	if child.Err() != context.Canceled {
		t.Errorf("Err = %v, want context.Canceled", child.Err())
	}
	ran := make(chan struct{})
	stop := context.AfterFunc(root, func() { close(ran) }) // ended: runs at once
	<-ran
	if stop() {
		t.Error("stop after the AfterFunc ran reported true")
	}
}

// A standard parent's end reaches a Ctx, and Release undoes the
// registration.
func TestStandardParent(t *testing.T) {
	parent, cancel := context.WithCancelCause(context.Background())
	c := New(parent)
	errBye := errors.New("bye")
	cancel(errBye)
	waitEnded(t, c)
	if c.Err() != context.Canceled || c.Cause() != errBye {
		t.Errorf("Err, Cause = %v, %v; want context.Canceled, %v", c.Err(), c.Cause(), errBye)
	}
	live, cancel1 := context.WithCancel(context.Background())
	c = New(live)
	c.Cancel(nil) // its own end releases its AfterFunc on live
	if c.stop() {
		t.Error("the AfterFunc on the parent was still registered after Cancel")
	}
	cancel1()
	dead, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if c = New(dead); c.Err() != context.Canceled {
		t.Errorf("Err under an ended parent = %v, want context.Canceled", c.Err())
	}
	if c = New(context.Background()); c.stop != nil || c.link.on != nil {
		t.Error("registered with a parent that never ends")
	}
}

// Watch on an ended Ctx runs the watcher at once; Unwatch stops a watcher
// that has not run.
func TestWatch(t *testing.T) {
	c := New(context.Background())
	var a, b, d counter
	var na, nb, nd Node
	c.Watch(&na, &a)
	c.Watch(&nb, &b)
	c.Watch(&nd, &d)
	if !c.Unwatch(&nb) {
		t.Fatal("Unwatch of an attached node reported false")
	}
	if c.Unwatch(&nb) {
		t.Fatal("a second Unwatch reported true")
	}
	c.Cancel(nil)
	if a.n.Load() != 1 || b.n.Load() != 0 || d.n.Load() != 1 {
		t.Errorf("watchers ran %d, %d, %d times; want 1, 0, 1", a.n.Load(), b.n.Load(), d.n.Load())
	}
	if c.Watch(&nb, &b) || b.n.Load() != 1 {
		t.Errorf("Watch on an ended Ctx: watcher ran %d times, want once, at once", b.n.Load())
	}
}

// A deadline is reported, the parent's if earlier, and Expire ends with
// context.DeadlineExceeded.
func TestDeadline(t *testing.T) {
	now := time.Now()
	parent, cancel := context.WithDeadline(context.Background(), now.Add(time.Hour))
	defer cancel()
	c := New(parent)
	c.SetDeadline(now.Add(time.Minute))
	if d, ok := c.Deadline(); !ok || !d.Equal(now.Add(time.Minute)) {
		t.Errorf("Deadline = %v, %v; want the earlier own one", d, ok)
	}
	c2 := New(parent)
	c2.SetDeadline(now.Add(2 * time.Hour))
	if d, ok := c2.Deadline(); !ok || !d.Equal(now.Add(time.Hour)) {
		t.Errorf("Deadline = %v, %v; want the parent's", d, ok)
	}
	c.Expire()
	if c.Err() != context.DeadlineExceeded || !errors.Is(context.Cause(c), context.DeadlineExceeded) {
		t.Errorf("Err = %v, Cause = %v; want context.DeadlineExceeded", c.Err(), context.Cause(c))
	}
	c2.Cancel(nil)
}

// The chain a request makes (server context, value-only scope, attempt,
// connection watch) costs no allocation beyond the Ctx values themselves
// and the root's Done channel, which From's check through the scope makes
// (as the standard library's parentCancelCtx does).
func TestLinksDoNotAllocate(t *testing.T) {
	var root, child Ctx
	var n Node
	var w counter
	scope := context.WithValue(&root, keyT{}, 1)
	allocs := testing.AllocsPerRun(100, func() {
		root.Init(context.Background())
		child.Init(scope)
		child.Watch(&n, &w)
		child.Unwatch(&n)
		child.Release()
		root.Cancel(nil)
	})
	if allocs != 1 {
		t.Errorf("allocs = %v, want 1 (the root's Done channel)", allocs)
	}
}

// Ends racing with watches, releases and each other lose no watcher: a
// node is either stopped by Unwatch or has its watcher run, never both,
// never neither. Run with -race.
func TestRaces(t *testing.T) {
	for i := 0; i < 200; i++ {
		root := New(context.Background())
		child := New(context.WithValue(root, keyT{}, i))
		const k = 4
		var ws [k]counter
		var ns [k]Node
		var stopped [k]bool
		var wg sync.WaitGroup
		for j := range k {
			child.Watch(&ns[j], &ws[j])
		}
		wg.Add(k + 2)
		go func() { defer wg.Done(); root.Cancel(nil) }()
		go func() { defer wg.Done(); child.Cancel(nil) }()
		for j := range k {
			go func() { defer wg.Done(); stopped[j] = child.Unwatch(&ns[j]) }()
		}
		wg.Wait()
		for j := range k {
			if ran := ws[j].n.Load() == 1; ran == stopped[j] {
				t.Fatalf("node %d: watcher ran %v, Unwatch stopped it %v", j, ran, stopped[j])
			}
		}
		if root.head != nil {
			t.Fatal("the root still holds its child")
		}
	}
}

// A Ctx fits the 128-byte size class: a request holds one, a waiting
// stream's attempt another.
func TestSize(t *testing.T) {
	if n := unsafe.Sizeof(Ctx{}); n > 128 {
		t.Errorf("Ctx is %d bytes, more than the 128-byte size class", n)
	}
}
