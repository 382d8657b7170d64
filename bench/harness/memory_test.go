package harness

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octomesh/octomesh/bench/procstat"
)

// TestMemoryBreakdownAddsUp: each kind is its growth per connection, and
// the kinds add up to the RSS's growth.
func TestMemoryBreakdownAddsUp(t *testing.T) {
	const MiB = 1 << 20
	// objects, free, unused, released, stacks, total; RSS, anon, file,
	// shmem; allocations (unused here).
	base := memSample{rt: []uint64{4 * MiB, 3 * MiB, 1 * MiB, 4 * MiB, 1 * MiB, 22 * MiB,
		40 * MiB, 20 * MiB, 19 * MiB, 1 * MiB, 0, 0}}
	peak := memSample{at: 1500 * time.Millisecond, rt: []uint64{44 * MiB, 9 * MiB, 5 * MiB, 2 * MiB, 17 * MiB, 110 * MiB,
		140 * MiB, 116 * MiB, 22 * MiB, 2 * MiB, 0, 0}}
	b := breakdownOf(base, peak, 1024)
	p := b.PerStream
	// Per connection, in KB: a MiB over 1,024 connections is 1 KB.
	want := map[string][2]float64{
		"heap objects": {p.HeapObjects, 40},
		"heap free":    {p.HeapFree, 10},
		"stacks":       {p.Stacks, 16},
		"runtime":      {p.Runtime, (110 - 2 - 44 - 9 - 5 - 17) - (22 - 4 - 4 - 3 - 1 - 1)},
		"outside Go":   {p.OutsideGo, (116 - 108) - (20 - 18)},
		"file":         {p.File, 4},
		"total":        {p.Total, 100},
	}
	for name, v := range want {
		if math.Abs(v[0]-v[1]) > 1e-9 {
			t.Errorf("%s = %v KB, want %v", name, v[0], v[1])
		}
	}
	if sum := p.HeapObjects + p.HeapFree + p.Stacks + p.Runtime + p.OutsideGo + p.File; math.Abs(sum-p.Total) > 1e-9 {
		t.Errorf("the kinds add up to %v KB, the total is %v", sum, p.Total)
	}
	if b.RSSMB != 140 || b.AtS != 1.5 {
		t.Errorf("RSS %v MB at %v s, want 140 at 1.5", b.RSSMB, b.AtS)
	}
	line := b.line("OctoMesh")
	for _, s := range []string{"(140.0 MB, 1.5 s after", ": 100.0 KB, of which", "Go heap objects 40.0", "goroutine stacks 16.0", "file-backed pages 4.0."} {
		if !strings.Contains(line, s) {
			t.Errorf("line lacks %q:\n%s", s, line)
		}
	}
}

// TestMemorySamplerKeepsThePeak samples this test process while it grows
// by 64 MiB: the breakdown is taken at the grown RSS, with the runtime's
// gauges and the process's memory scraped then (not the base's, nor its
// own read of /proc), and the sampler stops.
func TestMemorySamplerKeepsThePeak(t *testing.T) {
	var scrapes atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := uint64(scrapes.Add(1))
		// Objects grow by a MiB a scrape, so the kept scrape shows.
		fmt.Fprintf(w, "# TYPE go_heap_objects_bytes gauge\ngo_heap_objects_bytes %d\ngo_heap_free_bytes 0\ngo_heap_unused_bytes 0\ngo_heap_released_bytes 0\ngo_stacks_bytes 0\ngo_memory_total_bytes %d\n", n<<20, n<<20)
		// The process's memory, as OctoMesh's /metrics reads it: all of
		// the RSS as anonymous, and shared memory growing by a MiB a
		// scrape, so the test can tell that the split uses these.
		p, _ := procstat.Read(os.Getpid())
		fmt.Fprintf(w, "process_resident_memory_bytes %d\nprocess_resident_anon_bytes %d\nprocess_resident_file_bytes 0\nprocess_resident_shmem_bytes %d\n", p.RSS+int64(n<<20), p.RSS, n<<20)
		// Each scrape "allocates" 100 objects and 1,000 bytes.
		fmt.Fprintf(w, "go_heap_allocs_objects_total %d\ngo_heap_allocs_bytes_total %d\n", n*100, n*1000)
	}))
	defer srv.Close()
	s := sampleMemory(context.Background(), os.Getpid(), strings.TrimPrefix(srv.URL, "http://"))
	if !s.ok {
		t.Fatal("no base")
	}
	grow := make([]byte, 64<<20)
	for i := range grow {
		grow[i] = 1 // touch every page
	}
	time.Sleep(5 * memoryInterval)
	b := s.result(1)
	after := scrapes.Load()
	time.Sleep(3 * memoryInterval)
	if scrapes.Load() != after {
		t.Error("the sampler scraped after result")
	}
	if b == nil {
		t.Fatal("no breakdown")
	}
	if b.PerStream.Total < 60<<10 {
		t.Errorf("the RSS grew by %.0f KB, want about 64 MiB", b.PerStream.Total)
	}
	if b.PerStream.HeapObjects < 1024 {
		t.Errorf("heap objects grew by %.0f KB: the kept gauges are the base's", b.PerStream.HeapObjects)
	}
	// A scrape's cost is measured at the start, and the scrapes during
	// the growth are counted.
	if s.costObjects != 100 || s.costBytes != 1000 {
		t.Errorf("a scrape costs %d objects, %d bytes; want 100, 1000", s.costObjects, s.costBytes)
	}
	objects, bytes := s.scrapeCost(time.Time{}, time.Now())
	if objects == 0 || objects%100 != 0 || bytes != objects*10 {
		t.Errorf("scrapeCost = %d objects, %d bytes: want a whole number of scrapes", objects, bytes)
	}
	if o, _ := s.scrapeCost(time.Now(), time.Now().Add(time.Hour)); o != 0 {
		t.Errorf("scrapeCost after the sampling = %d objects, want 0", o)
	}
	if b.PerStream.File < 1024 {
		t.Errorf("file-backed and shared pages grew by %.0f KB: the split did not use the scraped process memory", b.PerStream.File)
	}
	grow[len(grow)-1] = 2 // keep grow alive through the sampling
}
