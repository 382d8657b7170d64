package gctune

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"testing"
	"time"
)

const mib = 1 << 20

func TestPercentBoundsTheHeadroom(t *testing.T) {
	o := Options{Headroom: 16 * mib, MinPercent: 25, MaxPercent: 100}
	for _, c := range []struct {
		base uint64
		want int
	}{
		{0, 100},        // nothing measured yet: Go's default
		{8 * mib, 100},  // a small heap keeps GOGC=100: headroom 8 MiB
		{16 * mib, 100}, // exactly the headroom
		{32 * mib, 50},  // 16 of 32 MiB
		{64 * mib, 25},  // 16 of 64 MiB
		{640 * mib, 25}, // the floor: at most 4x the default's GC work
		{20 * mib, 80},  // 16 of 20 MiB
		{100 * mib, 25}, // 16% would be under the floor
		{48 * mib, 33},  // rounds down: the headroom stays within 16 MiB
		{1 << 40, 25},   // no overflow for huge heaps
		{1, 100},        // nor for tiny ones
		{17 * mib, 94},  // just above the headroom
		{1 << 30, 25},   // 1 GiB
	} {
		if got := Percent(o, c.base); got != c.want {
			t.Errorf("Percent(%d MiB) = %d, want %d", c.base/mib, got, c.want)
		}
	}
}

// A headroom larger than any heap (a config's 4 EiB) is Go's default, not
// a wrapped product under the floor.
func TestPercentOfAHugeHeadroom(t *testing.T) {
	o := Options{Headroom: 1 << 62, MinPercent: 25, MaxPercent: 100}
	if got := Percent(o, 64*mib); got != 100 {
		t.Errorf("Percent(64 MiB) with 4 EiB of headroom = %d, want 100", got)
	}
	o.Headroom = math.MaxInt64
	if got := Percent(o, 1<<40); got != 100 {
		t.Errorf("Percent(1 TiB) with MaxInt64 of headroom = %d, want 100", got)
	}
}

func TestPercentRespectsARaisedCeiling(t *testing.T) {
	// GOGC=200 in effect when the tuner started: small heaps keep it.
	o := Options{Headroom: 16 * mib, MinPercent: 25, MaxPercent: 200}
	if got := Percent(o, 4*mib); got != 200 {
		t.Errorf("Percent(4 MiB) = %d, want 200", got)
	}
	if got := Percent(o, 32*mib); got != 50 {
		t.Errorf("Percent(32 MiB) = %d, want 50", got)
	}
}

// fakeRuntime stands for the runtime's GOGC and heap figures.
type fakeRuntime struct {
	gogc int
	h    heap
	sets []int
}

func (f *fakeRuntime) set(p int) int {
	old := f.gogc
	f.gogc = p
	f.sets = append(f.sets, p)
	return old
}

func (f *fakeRuntime) read() heap {
	h := f.h
	h.gogc = f.gogc
	return h
}

func (f *fakeRuntime) tuner(o Options) *Tuner { return newTuner(o, f.set, f.read) }

func TestAdjustSetsOnlyOnChange(t *testing.T) {
	f := &fakeRuntime{gogc: 100}
	tu := f.tuner(Options{Headroom: 16 * mib})
	heapOf := func(base uint64) { f.h = heap{live: base - mib, stacks: mib / 2, globals: mib / 2} }
	heapOf(8 * mib)
	tu.adjust()
	tu.adjust()
	heapOf(64 * mib)
	tu.adjust()
	heapOf(32 * mib)
	tu.adjust()
	tu.adjust()
	if want := []int{100, 25, 50}; !slices.Equal(f.sets, want) {
		t.Fatalf("SetGCPercent calls %v, want %v", f.sets, want)
	}
	// Stacks and globals count: the runtime's goal includes them.
	f = &fakeRuntime{gogc: 100, h: heap{live: 16 * mib, stacks: 12 * mib, globals: 4 * mib}}
	f.tuner(Options{Headroom: 16 * mib}).adjust()
	if !slices.Equal(f.sets, []int{50}) {
		t.Fatalf("with 16 MiB live, 12 MiB stacks and 4 MiB globals: SetGCPercent calls %v, want [50]", f.sets)
	}
}

// Once something else sets GOGC (a test turning the collector off to count
// what a structure holds, a second tuner), the tuner leaves it alone: it
// neither overrides it at the next cycle nor "restores" over it at stop.
func TestAnotherSetterTakesGOGCOver(t *testing.T) {
	f := &fakeRuntime{gogc: 100, h: heap{live: 256 * mib}}
	tu := f.tuner(Options{Headroom: 16 * mib})
	tu.adjust()
	if f.gogc != 25 {
		t.Fatalf("GOGC %d, want 25 for 256 MiB live", f.gogc)
	}
	f.gogc = -1 // debug.SetGCPercent(-1) elsewhere
	f.h.live = 32 * mib
	tu.adjust()
	tu.adjust()
	if f.gogc != -1 {
		t.Errorf("the tuner overrode another caller's GOGC=off with %d", f.gogc)
	}
	tu.stop(100)
	if f.gogc != -1 {
		t.Errorf("stop set GOGC %d over another caller's GOGC=off", f.gogc)
	}

	// Without a cycle in between, stop still sees the change.
	f = &fakeRuntime{gogc: 100, h: heap{live: 256 * mib}}
	tu = f.tuner(Options{Headroom: 16 * mib})
	tu.adjust()
	f.gogc = 200
	tu.stop(100)
	if f.gogc != 200 {
		t.Errorf("stop set GOGC %d over another caller's 200", f.gogc)
	}
	// Left alone, stop puts back what was in effect.
	f = &fakeRuntime{gogc: 100, h: heap{live: 256 * mib}}
	tu = f.tuner(Options{Headroom: 16 * mib})
	tu.adjust()
	tu.stop(100)
	if f.gogc != 100 {
		t.Errorf("after stop GOGC is %d, want 100", f.gogc)
	}
}

// A cycle's reading reuses its samples: the tuner costs no allocation per
// collection.
func TestReadAllocatesNothing(t *testing.T) {
	runtime.GC() // the live heap is 0 before the first cycle
	r := newHeapReader()
	if n := testing.AllocsPerRun(100, func() { r.read() }); n != 0 {
		t.Errorf("read: %.0f allocations, want 0", n)
	}
	if h := r.read(); h.gogc != currentPercent() || h.live == 0 || h.globals == 0 {
		t.Errorf("read %+v: want the live heap, the globals and GOGC %d", h, currentPercent())
	}
}

func currentPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestStartFollowsTheLiveHeap runs the real tuner: a large live heap lowers
// GOGC after the next collections, freeing it restores Go's default, and
// stop puts back what was in effect before.
func TestStartFollowsTheLiveHeap(t *testing.T) {
	before := currentPercent()
	defer debug.SetGCPercent(before)
	debug.SetGCPercent(100)
	stop := Start(Options{Headroom: 16 * mib})
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()
	waitFor := func(what string, ok func(int) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			runtime.GC()
			// Cleanups run on their own goroutine after the cycle.
			time.Sleep(5 * time.Millisecond)
			if p := currentPercent(); ok(p) {
				return
			} else if time.Now().After(deadline) {
				t.Fatalf("%s: GOGC is %d", what, p)
			}
		}
	}
	live := make([][]byte, 0, 256)
	for range 256 { // 256 MiB live: far over the headroom
		b := make([]byte, mib)
		b[0] = 1
		live = append(live, b)
	}
	waitFor("with 256 MiB live", func(p int) bool { return p == 25 })
	runtime.KeepAlive(live)
	live = nil
	waitFor("once the heap is freed", func(p int) bool { return p == 100 })

	debug.SetGCPercent(100)
	stop()
	stopped = true
	if p := currentPercent(); p != 100 {
		t.Errorf("after stop GOGC is %d, want the 100 in effect before Start", p)
	}
	// A stopped tuner no longer adjusts.
	keep := make([][]byte, 0, 128)
	for range 128 {
		keep = append(keep, make([]byte, mib))
	}
	for range 3 {
		runtime.GC()
	}
	time.Sleep(20 * time.Millisecond)
	if p := currentPercent(); p != 100 {
		t.Errorf("a stopped tuner set GOGC to %d", p)
	}
	runtime.KeepAlive(keep)
}

func TestStartIsANoOpWhenOffOrWithGOGCOff(t *testing.T) {
	before := currentPercent()
	defer debug.SetGCPercent(before)
	debug.SetGCPercent(100)
	Start(Options{})()
	if p := currentPercent(); p != 100 {
		t.Errorf("Headroom 0 changed GOGC to %d", p)
	}
	// GOGC=0 (collect constantly) is someone's deliberate choice too.
	debug.SetGCPercent(0)
	stop0 := Start(Options{Headroom: 16 * mib})
	if p := currentPercent(); p != 0 {
		t.Errorf("with GOGC=0, Start set GOGC to %d", p)
	}
	stop0()
	debug.SetGCPercent(-1)
	stop := Start(Options{Headroom: 16 * mib})
	if p := currentPercent(); p != -1 {
		t.Errorf("with the collector off, Start set GOGC to %d", p)
	}
	stop()
	if p := currentPercent(); p != -1 {
		t.Errorf("with the collector off, stop set GOGC to %d", p)
	}
}

// The chain of sentinels survives: each collection ends with one more
// adjustment (at most one: collections the runtime starts on its own
// count too), for as many cycles as run, and stop ends the chain.
func TestOneAdjustmentPerCycle(t *testing.T) {
	f := &fakeRuntime{gogc: 100}
	tu := newTuner(Options{Headroom: 16 * mib}, f.set, f.read)
	gcs := func() uint64 {
		s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	cycles := func() int {
		tu.mu.Lock()
		defer tu.mu.Unlock()
		return tu.cycles
	}
	first := gcs()
	tu.arm()
	for i := 1; i <= 20; i++ {
		runtime.GC() // returns once the cycle is swept: the sentinel's cleanup is queued
		deadline := time.Now().Add(10 * time.Second)
		for cycles() < i && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if n, ran := cycles(), gcs()-first; n < i || uint64(n) > ran {
			t.Fatalf("after %d collections: %d adjustments", ran, n)
		}
	}
	tu.stop(100)
	n := cycles()
	for range 3 {
		runtime.GC()
	}
	time.Sleep(20 * time.Millisecond)
	if m := cycles(); m != n {
		t.Errorf("after stop: %d adjustments, want the %d before", m, n)
	}
}
