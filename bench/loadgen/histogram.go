package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: each power-of-two range of values
// is split into 2^(subBits-1) equal buckets, so a recorded value is known to
// within 1/2^(subBits-1) (0.8%) of itself.
const subBits = 8

const (
	subCount = 1 << subBits
	subHalf  = subCount / 2
	nBuckets = (64-subBits+1)*subHalf + subHalf
)

// Histogram records durations in log-linear buckets, as HdrHistogram does:
// exact below 2^subBits ns, and within 0.8% above, over the whole int64
// range, in a fixed 60 KB. It is not safe for concurrent use: give each
// worker its own and Merge them.
type Histogram struct {
	counts   [nBuckets]uint64
	n        uint64
	min, max int64
	sum      float64
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram { return &Histogram{min: math.MaxInt64} }

// bucket returns the index of the bucket holding v (v ≥ 0).
func bucket(v uint64) int {
	e := bits.Len64(v) - subBits // how far v must shift to fit subBits bits
	if e <= 0 {
		return int(v)
	}
	return e*subHalf + int(v>>uint(e))
}

// bounds returns the smallest and largest values of bucket i.
func bounds(i int) (lo, hi uint64) {
	if i < subCount {
		return uint64(i), uint64(i)
	}
	e := i/subHalf - 1
	sub := uint64(i - e*subHalf)
	return sub << uint(e), (sub+1)<<uint(e) - 1
}

// Record adds one duration; negative durations count as 0.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[bucket(uint64(v))]++
	h.n++
	h.sum += float64(v)
	if v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
}

// Merge adds every value recorded in o.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Count returns the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n }

// Min returns the smallest recorded value, 0 when empty.
func (h *Histogram) Min() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.min)
}

// Max returns the largest recorded value.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean returns the mean of the recorded values.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// Percentile returns the value at or below which p percent (0-100) of the
// recorded values lie: the highest value of the bucket holding the value of
// rank ceil(p/100·count), capped at the largest value recorded (so
// Percentile(100) is Max). It returns 0 for an empty histogram.
func (h *Histogram) Percentile(p float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(p / 100 * float64(h.n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			_, hi := bounds(i)
			return time.Duration(min(int64(hi), h.max))
		}
	}
	return time.Duration(h.max)
}
