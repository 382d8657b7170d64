package router

import (
	"sync"
	"sync/atomic"

	"github.com/octomesh/octomesh"
)

// deployment is one catalogue entry and its live state. Fields read by
// Decide are atomics; the rest is guarded by mu, which only outcomes and
// half-open probe claims take.
type deployment struct {
	d      octomesh.Deployment // immutable copy
	idx    int
	chat   bool    // serves chat (not an embedding model)
	weight float64 // load-balancing weight, ≥ 1
	prior  float64 // static quality prior

	outstanding atomic.Int64
	coolUntil   atomic.Int64 // unix ns; no attempts before it
	openUntil   atomic.Int64 // unix ns; 0: circuit closed; in the past: half-open
	probing     atomic.Int32 // half-open probes in flight
	level       atomic.Int32 // published ejection level

	ttfbN     atomic.Int64  // samples in the TTFB window
	ttfbEWMA  atomicFloat   // ms
	tps       atomicFloat   // tokens per second; 0: no samples
	outTokens atomicFloat   // completion tokens; 0: no samples
	quantiles []atomicFloat // ms, at Router.quantile

	mu  sync.Mutex
	lat latencyStats
	h   healthState
}

func newDeployment(src octomesh.Deployment, idx int, cfg *Config) *deployment {
	d := &deployment{d: src, idx: idx, chat: !src.Capabilities.Embeddings, weight: float64(max(src.Weight, 1)), prior: cfg.DefaultQuality}
	if q, ok := cfg.QualityPriors[src.Name]; ok {
		d.prior = q
	}
	return d
}

// publishLatency copies the latency statistics Decide reads to atomics.
// The caller holds d.mu.
func (d *deployment) publishLatency(qs []float64) {
	n := int(min(d.lat.ttfbSamples, ttfbWindow))
	d.ttfbN.Store(int64(n))
	d.ttfbEWMA.Store(d.lat.ttfbEWMA)
	for i, q := range qs {
		d.quantiles[i].Store(d.lat.quantile(q, n))
	}
	if d.lat.tpsSamples > 0 {
		d.tps.Store(d.lat.tpsEWMA)
	}
	if d.lat.outSamples > 0 {
		d.outTokens.Store(max(d.lat.outEWMA, 1))
	}
}
