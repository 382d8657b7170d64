package gateway

import (
	"fmt"
	"testing"

	"github.com/octomesh/octomesh"
)

// routedDecisions returns n decisions from src with distinct ids.
func routedDecisions(b *testing.B, src *decisionSource, n int) []*octomesh.Decision {
	decs := make([]*octomesh.Decision, n)
	for i := range decs {
		decs[i] = src.decision(b, i)
	}
	return decs
}

// BenchmarkDecisionStorePut is the store's cost on every request: a put
// that evicts the oldest decision.
func BenchmarkDecisionStorePut(b *testing.B) {
	for _, src := range decisionSources(b) {
		b.Run(src.name, func(b *testing.B) {
			decs := routedDecisions(b, src, 4096)
			s := newDecisionStore(1024)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s.put(decs[i%len(decs)])
				i++
			}
		})
	}
}

// BenchmarkDecisionStorePutParallel is BenchmarkDecisionStorePut from all Ps.
func BenchmarkDecisionStorePutParallel(b *testing.B) {
	src := decisionSources(b)[0]
	decs := routedDecisions(b, src, 4096)
	s := newDecisionStore(1024)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			s.put(decs[i%len(decs)])
			i++
		}
	})
}

// BenchmarkDecisionStoreGet is GET /v1/routing/decisions/{id}'s lookup.
func BenchmarkDecisionStoreGet(b *testing.B) {
	for _, src := range decisionSources(b) {
		b.Run(src.name, func(b *testing.B) {
			decs := routedDecisions(b, src, 1024)
			s := newDecisionStore(1024)
			for _, d := range decs {
				s.put(d)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				d := decs[i%len(decs)]
				if _, ok := s.get(d.RequestID, d.OrgID); !ok {
					b.Fatal(fmt.Sprint("lost ", d.RequestID))
				}
				i++
			}
		})
	}
}
