package telemetry

import (
	"testing"
	"time"
)

// BenchmarkObserveRequestSerial is BenchmarkObserveRequest on one
// goroutine: the cost of recording one finished request, without
// contention on the shared counters.
func BenchmarkObserveRequestSerial(b *testing.B) {
	m := NewMetrics()
	r := RequestObservation{Route: "chat", Model: "openai/gpt-4o-mini", Provider: "openai", Status: 200, Stream: true,
		Latency: 800 * time.Millisecond, TTFT: 120 * time.Millisecond, PromptTokens: 100, CompletionTokens: 50, Cost: 45_000}
	m.ObserveRequest(r)
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveRequest(r)
	}
}
