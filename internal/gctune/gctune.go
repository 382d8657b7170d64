// Package gctune bounds the garbage collector's headroom: the garbage the
// heap may hold before the next cycle.
//
// With GOGC=100 (Go's default) the heap may grow to twice what the last
// cycle found live. That suits a small heap; for a gateway holding thousands
// of streams it doubles the memory each stream costs: at 2,000 waiting
// streams the live heap is ~45 MB and the heap grows to ~95 MB before a
// cycle. The tuner sets GOGC after every cycle so the headroom is at most a
// fixed number of bytes, and never below a floor percentage, which bounds
// the extra GC work. Below that size the runtime's default applies
// unchanged: a live heap smaller than the headroom keeps GOGC=100. At
// non-streaming saturation (8-12 MiB live in octomesh bench) the default
// 8 MiB headroom sets GOGC to about 65-95, a little more collection for a
// heap that is mostly short-lived garbage. It is the approach of Uber's GOGC tuner and TiDB's GC
// tuner, without the hard ceiling of GOMEMLIMIT, under which a heap that
// outgrows the limit makes the collector run back to back.
package gctune

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// Options configure a Tuner.
type Options struct {
	// Headroom is the most garbage, in bytes, the heap may hold above the
	// live heap before a cycle. 0 disables the tuner.
	Headroom int64
	// MinPercent is the lowest GOGC the tuner sets (default 25): a floor on
	// the headroom relative to the heap, so the collector's work per
	// allocated byte is at most 1/MinPercent of the live heap's scan cost
	// per cycle — four times the default's at 25.
	MinPercent int
	// MaxPercent is the highest GOGC the tuner sets (default: the GOGC in
	// effect when the tuner starts, 100 unless the environment says).
	MaxPercent int
}

// Tuner adjusts GOGC after each garbage collection.
type Tuner struct {
	opts    Options
	stopped atomic.Bool
	// set is debug.SetGCPercent; tests replace it.
	set func(int) int
	// read returns the heap figures and the GOGC in effect; tests replace
	// it. Called with mu held: the real one reuses its samples.
	read func() heap

	mu      sync.Mutex
	percent int  // last GOGC set, 0 before the first
	yielded bool // someone else set GOGC: it is theirs now
	cycles  int  // adjustments made (tests)
}

// heap is what the last cycle found and the GOGC in effect.
type heap struct {
	live, stacks, globals uint64
	gogc                  int
}

// Start runs a tuner until the returned stop is called; stop restores the
// GOGC that was in effect before, unless something else has set GOGC since
// the tuner did (debug.SetGCPercent): from then on GOGC is that caller's,
// and the tuner stops adjusting it, as it stands aside for GOGC in the
// environment. With opts.Headroom <= 0, or with the collector off (GOGC=off)
// or collecting constantly (GOGC=0), it does nothing.
func Start(opts Options) (stop func()) {
	before := newHeapReader().read().gogc
	if opts.Headroom <= 0 || before <= 0 {
		return func() {}
	}
	if opts.MaxPercent <= 0 {
		opts.MaxPercent = before
	}
	t := newTuner(opts, debug.SetGCPercent, newHeapReader().read)
	t.adjust()
	t.arm()
	return func() { t.stop(before) }
}

// stop ends the chain of cleanups and puts back before, if GOGC is still
// the tuner's.
func (t *Tuner) stop(before int) {
	t.stopped.Store(true)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.yielded || t.percent != 0 && t.read().gogc != t.percent {
		return
	}
	t.set(before)
}

func newTuner(opts Options, set func(int) int, read func() heap) *Tuner {
	if opts.MinPercent <= 0 {
		opts.MinPercent = 25
	}
	if opts.MaxPercent <= 0 {
		opts.MaxPercent = 100
	}
	opts.MinPercent = min(opts.MinPercent, opts.MaxPercent)
	return &Tuner{opts: opts, set: set, read: read}
}

// sentinel is garbage made on purpose: its cleanup runs once a cycle has
// found it unreachable, which is the tuner's cue that a cycle ended. It is
// larger than 16 bytes so it is not a tiny allocation, whose cleanups may
// never run.
type sentinel struct{ _ [32]byte }

// arm makes the next sentinel. The cleanup re-arms, so one runs per cycle.
// It re-arms before it adjusts. A sentinel made during a collection
// survives it, so one made after the adjustment could miss the next cycle
// when that cycle starts as soon as the adjustment is seen (as
// TestOneAdjustmentPerCycle starts one).
func (t *Tuner) arm() {
	runtime.AddCleanup(new(sentinel), func(t *Tuner) {
		if t.stopped.Load() {
			return
		}
		t.arm()
		t.adjust()
	}, t)
}

// adjust sets GOGC for the heap the last cycle found.
func (t *Tuner) adjust() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped.Load() {
		return
	}
	h := t.read()
	if t.percent != 0 && h.gogc != t.percent {
		// debug.SetGCPercent was called since the tuner set GOGC (a test
		// turning the collector off, say): overriding it at the next
		// cycle would undo that caller's choice.
		t.yielded = true
		t.stopped.Store(true)
		return
	}
	t.cycles++
	if p := Percent(t.opts, h.live+h.stacks+h.globals); p != t.percent {
		t.set(p)
		t.percent = p
	}
}

// Percent is the GOGC that keeps the headroom within opts for a heap
// whose next goal is computed from base bytes (live heap plus the stacks
// and globals the collector scans, as the runtime does since Go 1.18).
func Percent(opts Options, base uint64) int {
	if base == 0 {
		return opts.MaxPercent
	}
	// Capped so that ×100 cannot wrap: no heap is that large.
	p := min(uint64(opts.Headroom), math.MaxUint64/100) * 100 / base
	return int(max(uint64(opts.MinPercent), min(p, uint64(opts.MaxPercent))))
}

// heapReader reads the runtime's metrics into samples it keeps, so a
// cycle's adjustment allocates nothing.
type heapReader struct{ s [4]metrics.Sample }

func newHeapReader() *heapReader {
	r := new(heapReader)
	for i, name := range []string{"/gc/heap/live:bytes", "/gc/scan/stack:bytes", "/gc/scan/globals:bytes", "/gc/gogc:percent"} {
		r.s[i].Name = name
	}
	return r
}

// read returns what the last cycle found live and scanned (the terms of
// the runtime's heap goal, gcControllerState.commit in mgcpacer.go) and
// the GOGC in effect, without setting it as debug.SetGCPercent would.
func (r *heapReader) read() heap {
	metrics.Read(r.s[:])
	v := func(i int) uint64 {
		if r.s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return r.s[i].Value.Uint64()
	}
	// GOGC=off reads as the uint64 of int32(-1).
	return heap{live: v(0), stacks: v(1), globals: v(2), gogc: int(int64(v(3)))}
}
