package harness

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/octomesh/octomesh/bench/procstat"
)

// MemoryBreakdown says where OctoMesh's memory went in a memory scenario:
// at the highest RSS sampled, each kind's growth over the process before
// the load, per connection (per stream in streams2000). The kinds add up
// to the sampled RSS's growth; the peak the scenario reports (VmHWM) can
// fall between two samples and be a little higher.
type MemoryBreakdown struct {
	IntervalMS int     `json:"interval_ms"`
	AtS        float64 `json:"at_s"`   // when, counted from the warm-up's start
	RSSMB      float64 `json:"rss_mb"` // the highest RSS sampled
	PerStream  struct {
		Total float64 `json:"total_kb"`
		// HeapObjects is the Go heap's objects: what the streams hold and
		// the garbage not yet collected (the collector's headroom).
		HeapObjects float64 `json:"heap_objects_kb"`
		// HeapFree is heap the runtime keeps from the operating system:
		// pages free since a collection and room unused inside spans.
		HeapFree float64 `json:"heap_free_kb"`
		// Stacks is goroutine stacks, in use or cached for reuse.
		Stacks float64 `json:"stacks_kb"`
		// Runtime is the rest of the Go runtime's resident memory: the
		// collector's metadata, span structures, buffers.
		Runtime float64 `json:"runtime_kb"`
		// OutsideGo is anonymous memory the Go runtime did not map:
		// SQLite's heap (modernc's C library allocates its own).
		OutsideGo float64 `json:"outside_go_kb"`
		// File is file-backed and shared pages: the binary's code as it is
		// first run, SQLite's WAL index.
		File float64 `json:"file_kb"`
	} `json:"per_stream"`
}

// memoryInterval is how often a memory scenario reads OctoMesh's RSS.
const memoryInterval = 100 * time.Millisecond

// runtimeNames are the gauges of OctoMesh's /metrics a sample reads, in
// the order memSample.rt holds them (the i* constants): the Go runtime's,
// then the process's resident memory, which /metrics reads right after
// them, so that both describe the same moment (/proc read apart from the
// scrape was milliseconds off in a burst, and the split put the
// difference outside Go).
var runtimeNames = []string{"go_heap_objects_bytes", "go_heap_free_bytes", "go_heap_unused_bytes",
	"go_heap_released_bytes", "go_stacks_bytes", "go_memory_total_bytes",
	"process_resident_memory_bytes", "process_resident_anon_bytes", "process_resident_file_bytes", "process_resident_shmem_bytes",
	"go_heap_allocs_objects_total", "go_heap_allocs_bytes_total"}

const (
	iObjects = iota
	iFree
	iUnused
	iReleased
	iStacks
	iTotal
	iRSS
	iAnon
	iFile
	iShmem
	iAllocObjects
	iAllocBytes
)

type memSample struct {
	at time.Duration
	rt []uint64 // runtimeNames' values
}

func (s memSample) rss() int64 { return int64(s.rt[iRSS]) }

// kinds splits s into the breakdown's kinds, in bytes: heap objects, heap
// free, stacks, runtime, outside Go, file. They add up to the RSS.
func (s memSample) kinds() [6]float64 {
	r := s.rt
	resident := float64(r[iTotal]) - float64(r[iReleased])
	return [6]float64{
		float64(r[iObjects]),
		float64(r[iFree] + r[iUnused]),
		float64(r[iStacks]),
		resident - float64(r[iObjects]+r[iFree]+r[iUnused]+r[iStacks]),
		float64(r[iAnon]) - resident,
		float64(r[iFile] + r[iShmem]),
	}
}

// memSampler reads a process's memory every memoryInterval and keeps the
// reading with the highest RSS, with the runtime's gauges scraped at that
// moment. It scrapes only on a new highest RSS, a MiB or more above the
// last scraped one, and each scrape's own allocations (measured once at
// the start: costObjects, costBytes) are taken out of the scenario's
// allocations per request (scrapeCost).
type memSampler struct {
	pid   int
	addr  string
	start time.Time
	stop  chan struct{}
	done  chan struct{}
	halt  sync.Once

	mu                     sync.Mutex
	base, peak             memSample
	ok                     bool
	scrapes                []time.Time // when each scrape during the load began
	costObjects, costBytes uint64
}

// rescrapeAbove is how far RSS must rise above the last scraped peak
// before the sampler scrapes again.
const rescrapeAbove = 1 << 20

// sampleMemory reads the base now and samples until stopped.
func sampleMemory(ctx context.Context, pid int, addr string) *memSampler {
	s := &memSampler{pid: pid, addr: addr, start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	base, ok := s.read(ctx)
	if !ok {
		close(s.done)
		return s
	}
	s.base, s.peak, s.ok = base, base, true
	// One more scrape at idle: the allocations between the two are one
	// scrape's (the first one's rendering).
	if again, ok := s.read(ctx); ok {
		s.costObjects, s.costBytes = again.rt[iAllocObjects]-base.rt[iAllocObjects], again.rt[iAllocBytes]-base.rt[iAllocBytes]
	}
	go s.loop(ctx)
	return s
}

// scrapeCost returns the allocations of the scrapes that began between
// from and to.
func (s *memSampler) scrapeCost(from, to time.Time) (objects, bytes uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n uint64
	for _, t := range s.scrapes {
		if !t.Before(from) && t.Before(to) {
			n++
		}
	}
	return n * s.costObjects, n * s.costBytes
}

func (s *memSampler) read(ctx context.Context) (memSample, bool) {
	rt, ok := scrapeValues(ctx, s.addr, runtimeNames)
	return memSample{at: time.Since(s.start), rt: rt}, ok
}

func (s *memSampler) loop(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(memoryInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// /proc is cheap to read; the scrape waits for a new high.
		now, err := procstat.Read(s.pid)
		if err != nil || now.RSS < s.peak.rss()+rescrapeAbove {
			continue
		}
		began := time.Now()
		smp, ok := s.read(ctx)
		s.mu.Lock()
		s.scrapes = append(s.scrapes, began)
		if ok && smp.rss() >= s.peak.rss() {
			s.peak = smp
		}
		s.mu.Unlock()
	}
}

// result stops the sampler and returns the breakdown per connection, or
// nil when the base could not be read.
func (s *memSampler) result(connections int) *MemoryBreakdown {
	s.end()
	if !s.ok || connections <= 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return breakdownOf(s.base, s.peak, connections)
}

// end stops the sampler and waits for it; later calls do nothing.
func (s *memSampler) end() {
	s.halt.Do(func() { close(s.stop) })
	<-s.done
}

func breakdownOf(base, peak memSample, connections int) *MemoryBreakdown {
	b := &MemoryBreakdown{IntervalMS: int(memoryInterval / time.Millisecond), AtS: peak.at.Seconds(), RSSMB: mb(peak.rss())}
	k0, k1 := base.kinds(), peak.kinds()
	var per [6]float64
	for i := range per {
		per[i] = (k1[i] - k0[i]) / 1024 / float64(connections)
	}
	p := &b.PerStream
	p.HeapObjects, p.HeapFree, p.Stacks, p.Runtime, p.OutsideGo, p.File = per[0], per[1], per[2], per[3], per[4], per[5]
	p.Total = float64(peak.rss()-base.rss()) / 1024 / float64(connections)
	return b
}

// line renders b for the scenario's notes.
func (b *MemoryBreakdown) line(target string) string {
	p := b.PerStream
	return fmt.Sprintf("%s memory per stream at its highest RSS sampled every %d ms (%.1f MB, %.1f s after the warm-up began): %.1f KB, of which "+
		"Go heap objects %.1f, Go heap free or fragmented %.1f, goroutine stacks %.1f, the rest of the Go runtime %.1f, outside Go (SQLite's C heap) %.1f, file-backed pages %.1f.",
		target, b.IntervalMS, b.RSSMB, b.AtS, p.Total, p.HeapObjects, p.HeapFree, p.Stacks, p.Runtime, p.OutsideGo, p.File)
}
