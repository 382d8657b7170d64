package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octomesh/octomesh/internal/fakeupstream"
)

// BenchmarkFailureStorm drives `octomesh serve` over loopback HTTP with a
// group of three deployments (fake OpenAI upstreams), one of which fails,
// and reports what the clients saw:
//
//	success_%      requests answered 200
//	p50_ms, p99_ms client latency (the whole plain request)
//	attempts/req   upstream attempts per request (from x-octomesh-route)
//	upstream/req   requests the fakes received per client request
//
// Scenarios: all healthy (the reference), one deployment down (every
// request to it 503s) or flaky (every second one does), with the default
// routing settings (retry budget 20% + 5/s, circuit after 5 consecutive
// failures or a 50% error rate over 20 requests, 10s ejection, weighted
// load balancing), and one down with circuit breaking disabled, to show
// what the breaker saves. Requests come from 8 concurrent clients. The
// figures are for a storm that starts with the benchmark; run enough
// requests for a stable p99:
//
//	go test -run '^$' -bench FailureStorm -benchtime 3000x ./cmd/octomesh/
func BenchmarkFailureStorm(b *testing.B) {
	const defaults = `
  groups:
    - name: storm
`
	const noBreaker = `
  health:
    consecutive_failures: 1000000
    error_rate: 1
    min_requests: 1000000
  groups:
    - name: storm
`
	for _, sc := range []struct {
		name     string
		fraction float64 // of storm/a's requests that fail
		routing  string
	}{
		{"healthy", 0, defaults},
		{"one-down", 1, defaults},
		{"one-flaky-50pct", 0.5, defaults},
		{"one-down-no-breaker", 1, noBreaker},
	} {
		b.Run(sc.name, func(b *testing.B) {
			fleet := []rsModel{
				{name: "storm/a", kind: fakeupstream.OpenAI, groups: "[storm]", input: "0.15", output: "0.60"},
				{name: "storm/b", kind: fakeupstream.OpenAI, groups: "[storm]", input: "0.15", output: "0.60"},
				{name: "storm/c", kind: fakeupstream.OpenAI, groups: "[storm]", input: "0.15", output: "0.60"},
			}
			rs := startRS(b, fleet, rsRouting{raw: sc.routing})
			if sc.fraction > 0 {
				rs.fake("storm/a").FailFraction(sc.fraction, http.StatusServiceUnavailable)
			}
			body, _ := json.Marshal(chatBody("storm", "what is the capital of France", false))
			res := runStorm(b, rs, body, 8)
			upstream := 0
			for _, n := range rs.counts() {
				upstream += n
			}
			n := float64(b.N)
			b.ReportMetric(100*float64(res.ok)/n, "success_%")
			b.ReportMetric(res.percentile(0.50), "p50_ms")
			b.ReportMetric(res.percentile(0.99), "p99_ms")
			b.ReportMetric(float64(res.attempts)/n, "attempts/req")
			b.ReportMetric(float64(upstream)/n, "upstream/req")
		})
	}
}

// stormResult is what the clients of one storm saw.
type stormResult struct {
	ok        int
	attempts  int
	latencies []time.Duration
}

// percentile returns the q-quantile of the latencies in milliseconds.
func (r *stormResult) percentile(q float64) float64 {
	if len(r.latencies) == 0 {
		return 0
	}
	slices.Sort(r.latencies)
	i := min(int(q*float64(len(r.latencies))), len(r.latencies)-1)
	return float64(r.latencies[i]) / float64(time.Millisecond)
}

// runStorm sends b.N copies of body to /v1/chat/completions from
// concurrency clients and collects the outcomes.
func runStorm(b *testing.B, rs *rsServer, body []byte, concurrency int) *stormResult {
	b.Helper()
	var next atomic.Int64
	var mu sync.Mutex
	res := &stormResult{latencies: make([]time.Duration, 0, b.N)}
	var failed atomic.Value // the first transport error
	var wg sync.WaitGroup
	b.ResetTimer()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, rs.URL+"/v1/chat/completions", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+rs.AdminKey)
				req.Header.Set("Content-Type", "application/json")
				start := time.Now()
				resp, err := rs.client.Do(req)
				if err != nil {
					cancel()
					failed.CompareAndSwap(nil, err)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				cancel()
				d := time.Since(start)
				attempts := 0
				if route := resp.Header.Get("X-Octomesh-Route"); route != "" {
					attempts = strings.Count(route, ">") + 1
				}
				mu.Lock()
				res.latencies = append(res.latencies, d)
				res.attempts += attempts
				if resp.StatusCode == http.StatusOK {
					res.ok++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(fmt.Errorf("transport error during the storm: %w", err))
	}
	return res
}
