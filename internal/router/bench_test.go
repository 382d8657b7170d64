package router

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
)

// benchRouter has 12 chat deployments in one group with varied prices and
// live statistics.
func benchRouter(b *testing.B, strategy string) *Router {
	b.Helper()
	var deps []octomesh.Deployment
	for i := range 12 {
		deps = append(deps, dep(fmt.Sprintf("prov%d/model-%d", i%4, i), groups("g"), weight(1+i%3),
			price(fmt.Sprintf("0.%d", i+1), fmt.Sprintf("%d", i+1))))
	}
	r, err := New(Config{
		Deployments: deps,
		Groups:      []GroupConfig{{Name: "g", Strategy: strategy, Hedge: true}},
		Rand:        rand.Float64,
	})
	if err != nil {
		b.Fatal(err)
	}
	for i, d := range deps {
		for k := range 50 {
			ttfb := time.Duration(100+10*i+k) * time.Millisecond
			r.Begin(d.Name).End(Outcome{TTFB: ttfb, Duration: ttfb + time.Second, OutputTokens: 200})
		}
	}
	return r
}

func benchRequest(model string) *octomesh.ChatRequest {
	return &octomesh.ChatRequest{
		Model: model,
		Messages: []octomesh.Message{
			{Role: octomesh.RoleSystem, Content: octomesh.TextContent("You are a helpful assistant.")},
			{Role: octomesh.RoleUser, Content: octomesh.TextContent("Summarise the plot of Hamlet in three sentences.")},
		},
		MaxTokens: ptr(300),
	}
}

// BenchmarkDecide12Candidates measures one routing decision over 12
// eligible candidates (allocations are the returned Plan and Decision).
func BenchmarkDecide12Candidates(b *testing.B) {
	cases := []struct {
		name, model, strategy string
		opts                  octomesh.RouteOptions
	}{
		{"auto/cheapest", "auto", StrategyWeighted, octomesh.RouteOptions{Objective: octomesh.ObjectiveCheapest}},
		{"auto/weighted", "auto", StrategyWeighted, octomesh.RouteOptions{Objective: octomesh.ObjectiveWeighted, ZeroRetention: true, Regions: []string{"us"}}},
		{"group/weighted", "g", StrategyWeighted, octomesh.RouteOptions{}},
		{"group/p2c", "g", StrategyLeastOutstanding, octomesh.RouteOptions{}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			r := benchRouter(b, c.strategy)
			req := benchRequest(c.model)
			key := KeyScope{}
			b.ReportAllocs()
			cpu := startCPU(b)
			for b.Loop() {
				p, err := r.Decide(req, c.opts, key)
				if err != nil || len(p.Attempts) != 12 {
					b.Fatalf("Decide: %v", err)
				}
			}
			cpu.report(b)
		})
	}
}

// BenchmarkDecideParallel measures decisions from all Ps at once.
func BenchmarkDecideParallel(b *testing.B) {
	r := benchRouter(b, StrategyLeastOutstanding)
	req := benchRequest("g")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.Decide(req, octomesh.RouteOptions{}, KeyScope{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkBeginEnd measures the bookkeeping of one attempt.
func BenchmarkBeginEnd(b *testing.B) {
	r := benchRouter(b, StrategyWeighted)
	o := Outcome{TTFB: 150 * time.Millisecond, Duration: 2 * time.Second, OutputTokens: 200}
	b.ReportAllocs()
	cpu := startCPU(b)
	for b.Loop() {
		r.Begin("prov1/model-5").End(o)
	}
	cpu.report(b)
}

// BenchmarkBeginEndParallel measures attempt bookkeeping from all Ps,
// spread over the deployments.
func BenchmarkBeginEndParallel(b *testing.B) {
	r := benchRouter(b, StrategyWeighted)
	names := []string{}
	for _, d := range r.Deployments() {
		names = append(names, d.Name)
	}
	o := Outcome{TTFB: 150 * time.Millisecond, Duration: 2 * time.Second, OutputTokens: 200}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(len(names))
		for pb.Next() {
			r.Begin(names[i%len(names)]).End(o)
			i++
		}
	})
}

// cpuMeter reports the process CPU time per operation ("cpu-ns/op") beside
// the wall-clock ns/op, which is inflated on a loaded machine. It includes
// the garbage collector's work.
type cpuMeter struct{ start time.Duration }

func startCPU(b *testing.B) cpuMeter {
	b.Helper()
	return cpuMeter{processCPU()}
}

func (m cpuMeter) report(b *testing.B) {
	b.Helper()
	if used := processCPU() - m.start; used > 0 && b.N > 0 {
		b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
