package gctune

import (
	"runtime"
	"runtime/debug"
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
	} {
		if got := Percent(o, c.base); got != c.want {
			t.Errorf("Percent(%d MiB) = %d, want %d", c.base/mib, got, c.want)
		}
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

func TestAdjustSetsOnlyOnChange(t *testing.T) {
	var sets []int
	var base uint64 = 8 * mib
	tu := newTuner(Options{Headroom: 16 * mib}, func(p int) int { sets = append(sets, p); return 0 },
		func() (uint64, uint64, uint64) { return base - mib, mib / 2, mib / 2 })
	tu.adjust()
	tu.adjust()
	base = 64 * mib
	tu.adjust()
	base = 32 * mib
	tu.adjust()
	tu.adjust()
	want := []int{100, 25, 50}
	if len(sets) != len(want) {
		t.Fatalf("SetGCPercent calls %v, want %v", sets, want)
	}
	for i := range want {
		if sets[i] != want[i] {
			t.Fatalf("SetGCPercent calls %v, want %v", sets, want)
		}
	}
	// Stacks and globals count: the runtime's goal includes them.
	sets = nil
	tu = newTuner(Options{Headroom: 16 * mib}, func(p int) int { sets = append(sets, p); return 0 },
		func() (uint64, uint64, uint64) { return 16 * mib, 12 * mib, 4 * mib })
	tu.adjust()
	if len(sets) != 1 || sets[0] != 50 {
		t.Fatalf("with 16 MiB live, 12 MiB stacks and 4 MiB globals: SetGCPercent calls %v, want [50]", sets)
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
