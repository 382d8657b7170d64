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
// unchanged, so small, busy heaps (non-streaming saturation) keep GOGC=100
// and pay nothing. It is the approach of Uber's GOGC tuner and TiDB's GC
// tuner, without the hard ceiling of GOMEMLIMIT, under which a heap that
// outgrows the limit makes the collector run back to back.
package gctune

import (
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
	// read fills the heap figures; tests replace it.
	read func() (live, stacks, globals uint64)

	mu      sync.Mutex
	percent int // last GOGC set, 0 before the first
	cycles  int // adjustments made (tests)
}

// Start runs a tuner until the returned stop is called; stop restores the
// GOGC that was in effect before. With opts.Headroom <= 0, or with the
// collector off (GOGC=off), it does nothing.
func Start(opts Options) (stop func()) {
	// SetGCPercent is the only getter: read, then put back.
	before := debug.SetGCPercent(100)
	debug.SetGCPercent(before)
	if opts.Headroom <= 0 || before < 0 {
		return func() {}
	}
	if opts.MaxPercent <= 0 {
		opts.MaxPercent = before
	}
	t := newTuner(opts, debug.SetGCPercent, readHeap)
	t.adjust()
	t.arm()
	return func() {
		t.stopped.Store(true)
		t.mu.Lock()
		defer t.mu.Unlock()
		t.set(before)
	}
}

func newTuner(opts Options, set func(int) int, read func() (uint64, uint64, uint64)) *Tuner {
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
func (t *Tuner) arm() {
	runtime.AddCleanup(new(sentinel), func(t *Tuner) {
		if t.stopped.Load() {
			return
		}
		t.adjust()
		t.arm()
	}, t)
}

// adjust sets GOGC for the heap the last cycle found.
func (t *Tuner) adjust() {
	live, stacks, globals := t.read()
	p := Percent(t.opts, live+stacks+globals)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped.Load() {
		return
	}
	t.cycles++
	if p != t.percent {
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
	p := uint64(opts.Headroom) * 100 / base
	return int(max(uint64(opts.MinPercent), min(p, uint64(opts.MaxPercent))))
}

var heapMetrics = []string{"/gc/heap/live:bytes", "/gc/scan/stack:bytes", "/gc/scan/globals:bytes"}

// readHeap reads what the last cycle found live and what it scanned.
func readHeap() (live, stacks, globals uint64) {
	s := make([]metrics.Sample, len(heapMetrics))
	for i, name := range heapMetrics {
		s[i].Name = name
	}
	metrics.Read(s)
	v := func(i int) uint64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return s[i].Value.Uint64()
	}
	return v(0), v(1), v(2)
}
