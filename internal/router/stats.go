package router

import (
	"math"
	"slices"
	"sync/atomic"
	"time"
)

// ttfbWindow is how many recent time-to-first-byte samples percentiles are
// computed over.
const ttfbWindow = 128

// atomicFloat is a float64 read and written atomically.
type atomicFloat struct{ bits atomic.Uint64 }

func (f *atomicFloat) Load() float64   { return math.Float64frombits(f.bits.Load()) }
func (f *atomicFloat) Store(v float64) { f.bits.Store(math.Float64bits(v)) }

// latencyStats is one deployment's latency record. It is guarded by the
// deployment's mutex; what Decide needs is published to atomics.
type latencyStats struct {
	ttfbSamples int64               // TTFB samples ever recorded
	ring        [ttfbWindow]float64 // the last samples, in arrival order (ms)
	sorted      [ttfbWindow]float64 // the same samples, ascending
	ttfbEWMA    float64             // ms
	tpsEWMA     float64             // output tokens per second
	tpsSamples  int64               // samples in tpsEWMA
	outEWMA     float64             // completion tokens
	outSamples  int64               // samples in outEWMA
}

// addTTFB records a TTFB sample (ms) and returns the window's size.
func (s *latencyStats) addTTFB(ms, alpha float64) int {
	n := int(min(s.ttfbSamples, ttfbWindow))
	slot := int(s.ttfbSamples % ttfbWindow)
	if n == ttfbWindow {
		old := s.ring[slot]
		i, _ := slices.BinarySearch(s.sorted[:n], old)
		copy(s.sorted[i:n-1], s.sorted[i+1:n])
		n--
	}
	s.ring[slot] = ms
	i, _ := slices.BinarySearch(s.sorted[:n], ms)
	copy(s.sorted[i+1:n+1], s.sorted[i:n])
	s.sorted[i] = ms
	n++
	if s.ttfbSamples == 0 {
		s.ttfbEWMA = ms
	} else {
		s.ttfbEWMA += alpha * (ms - s.ttfbEWMA)
	}
	s.ttfbSamples++
	return n
}

// quantile returns the q-quantile (nearest rank) of the TTFB window of n
// samples, in ms.
func (s *latencyStats) quantile(q float64, n int) float64 {
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(q*float64(n))) - 1
	rank = max(0, min(rank, n-1))
	return s.sorted[rank]
}

func ewma(cur *float64, samples *int64, v, alpha float64) {
	if *samples == 0 {
		*cur = v
	} else {
		*cur += alpha * (v - *cur)
	}
	*samples++
}

// StatsSnapshot is a deployment's live state, for decision records,
// metrics and the dashboard.
type StatsSnapshot struct {
	Deployment  string `json:"deployment"`
	Outstanding int    `json:"outstanding"`

	TTFBSamples     int64         `json:"ttfb_samples"`
	TTFB            time.Duration `json:"ttfb_ewma_ns"` // EWMA of time to first byte
	TTFBP50         time.Duration `json:"ttfb_p50_ns"`  // over the last 128 samples
	TTFBP90         time.Duration `json:"ttfb_p90_ns"`
	TTFBP99         time.Duration `json:"ttfb_p99_ns"`
	TokensPerSecond float64       `json:"tokens_per_second"` // EWMA; 0 without samples
	OutputTokens    float64       `json:"output_tokens"`     // EWMA of completion tokens; 0 without samples

	WindowRequests      int       `json:"window_requests"` // outcomes counted for health in the window
	WindowFailures      int       `json:"window_failures"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
	Circuit             string    `json:"circuit"` // "closed", "open" or "half_open"
	OpenUntil           time.Time `json:"open_until,omitzero"`
	Ejections           int       `json:"ejections"` // ejections in a row (reset by the next trip after MaxEjection of health)
	ProbesInFlight      int       `json:"probes_in_flight"`
	CoolingUntil        time.Time `json:"cooling_until,omitzero"`
}

// Circuit states, as StatsSnapshot reports them.
const (
	CircuitClosed   = "closed"
	CircuitOpen     = "open"
	CircuitHalfOpen = "half_open"
)

// Stats returns the named deployment's live state; the zero snapshot for
// unknown names.
func (r *Router) Stats(name string) StatsSnapshot {
	d := r.byName[name]
	if d == nil {
		return StatsSnapshot{}
	}
	now := r.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	st := &d.lat
	n := int(min(st.ttfbSamples, ttfbWindow))
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	s := StatsSnapshot{
		Deployment:          d.d.Name,
		Outstanding:         int(d.outstanding.Load()),
		TTFBSamples:         st.ttfbSamples,
		TTFB:                ms(st.ttfbEWMA),
		TTFBP50:             ms(st.quantile(0.5, n)),
		TTFBP90:             ms(st.quantile(0.9, n)),
		TTFBP99:             ms(st.quantile(0.99, n)),
		TokensPerSecond:     st.tpsEWMA,
		OutputTokens:        st.outEWMA,
		ConsecutiveFailures: d.h.consecutive,
		Ejections:           d.h.level,
		ProbesInFlight:      int(d.probing.Load()),
	}
	s.WindowRequests, s.WindowFailures = d.h.window.sum(now, r.cfg.Health.Window)
	switch ou := d.openUntil.Load(); {
	case ou == 0:
		s.Circuit = CircuitClosed
	case now.UnixNano() < ou:
		s.Circuit = CircuitOpen
		s.OpenUntil = time.Unix(0, ou)
	default:
		s.Circuit = CircuitHalfOpen
		s.OpenUntil = time.Unix(0, ou)
	}
	if cu := d.coolUntil.Load(); cu > now.UnixNano() {
		s.CoolingUntil = time.Unix(0, cu)
	}
	return s
}
