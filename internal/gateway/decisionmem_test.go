package gateway

import (
	"runtime"
	"runtime/metrics"
	"testing"
)

// retention is what a full decision store keeps on the heap.
type retention struct {
	bytes   float64 // heap bytes per decision
	objects float64 // heap objects per decision: what GC marking visits
	scan    float64 // heap bytes per decision that GC marking must scan for pointers
}

// scannableHeap is the heap GC marking scanned in the last cycle.
func scannableHeap() int64 {
	s := []metrics.Sample{{Name: "/gc/scan/heap:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// measureRetention fills a store of capacity n with n decisions from src and
// measures, after GC, the heap it retains beyond what was live before.
func measureRetention(tb testing.TB, src *decisionSource, n int) retention {
	tb.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	scanBefore := scannableHeap()
	s := newDecisionStore(n)
	for i := range n {
		s.put(src.decision(tb, i))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	scanAfter := scannableHeap()
	runtime.KeepAlive(s)
	return retention{
		bytes:   float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n),
		objects: float64(int64(after.HeapObjects)-int64(before.HeapObjects)) / float64(n),
		scan:    float64(scanAfter-scanBefore) / float64(n),
	}
}

// BenchmarkDecisionStoreRetention reports the heap a store of the default
// capacity (20,000) retains per realistic decision, and what of it GC
// marking must visit and scan. Run with -benchtime=1x: each iteration
// fills a store.
func BenchmarkDecisionStoreRetention(b *testing.B) {
	for _, src := range decisionSources(b) {
		b.Run(src.name, func(b *testing.B) {
			var r retention
			for b.Loop() {
				r = measureRetention(b, src, 20_000)
			}
			b.ReportMetric(r.bytes, "B/decision")
			b.ReportMetric(r.objects, "objects/decision")
			b.ReportMetric(r.scan, "scan-B/decision")
		})
	}
}
