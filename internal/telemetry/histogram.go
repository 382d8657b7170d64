package telemetry

import (
	"sync/atomic"
	"time"
)

// histogram counts durations into buckets with atomics. It records each
// bucket's own count (not cumulative) and the sum in microseconds, an
// integer, so that it never loses an observation to float rounding and takes
// 58 years of summed request time to overflow.
type histogram struct {
	bounds    []time.Duration // inclusive upper bounds, ascending; shared, read-only
	counts    []atomic.Uint64 // len(bounds)+1; the last is the +Inf bucket
	sumMicros atomic.Uint64
}

func newHistogram(bounds []time.Duration) *histogram {
	return &histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
}

// observe records d (negative durations count as 0).
func (h *histogram) observe(d time.Duration) {
	if d < 0 {
		d = 0
	}
	i := 0
	for i < len(h.bounds) && d > h.bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumMicros.Add(uint64((d + time.Microsecond/2) / time.Microsecond))
}

// read returns the cumulative bucket counts (the last is +Inf, which is also
// the total count) and the sum in microseconds. Under concurrent observation
// the sum may lag the counts by the observations in flight.
func (h *histogram) read() (cumulative []uint64, sumMicros uint64) {
	cumulative = make([]uint64, len(h.counts))
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
		cumulative[i] = n
	}
	return cumulative, h.sumMicros.Load()
}

// total returns the histogram's observation count.
func (h *histogram) total() uint64 {
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return n
}
