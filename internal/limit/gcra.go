package limit

import (
	"math"
	"time"
)

// GCRA (the generic cell rate algorithm) keeps one number per bucket: its
// theoretical arrival time (TAT), the time at which the bucket will be full
// again. Taking n units moves the TAT n·T later, where T = Period/Limit is
// the emission interval; a take is allowed while the TAT stays within
// τ = Burst·T of now. Remaining, ResetAfter and RetryAfter all follow from
// d = TAT − now, the bucket's "time until full".
//
// T is rarely a whole number of nanoseconds (7 per second, 100M tokens per
// minute), so the arithmetic is in float64 relative to now, where it is
// accurate to far below a nanosecond; the TAT itself is kept as whole
// nanoseconds plus a fraction. Redis does the same in microseconds.

// gcraEpsilon absorbs float64 rounding when a take lands exactly on τ (in
// nanoseconds: a picosecond).
const gcraEpsilon = 1e-3

// maxAhead caps how far a bucket's TAT may run ahead of now (its debt),
// so that huge Charges cannot overflow: about 36 years.
const maxAhead = float64(1 << 60)

type gcra struct {
	t, tau float64 // emission interval and tolerance, nanoseconds
	burst  int64
}

func newGCRA(r Rate) gcra {
	burst := r.Burst
	if burst == 0 {
		burst = r.Limit
	}
	t := float64(r.Period) / float64(r.Limit)
	return gcra{t: t, tau: float64(burst) * t, burst: burst}
}

// take returns the bucket's time-until-full after taking n units from a
// bucket whose time-until-full is d (d ≥ 0), clamped to [0, maxAhead].
func (g gcra) take(d float64, n int64) float64 {
	need := d + float64(n)*g.t
	return min(max(need, 0), maxAhead)
}

// fits reports whether a bucket may reach time-until-full need.
func (g gcra) fits(need float64) bool { return need <= g.tau+gcraEpsilon }

// result is the RateResult for a bucket whose time-until-full is d; retry
// is the caller's RetryAfter.
func (g gcra) result(limit int64, d float64, retry time.Duration) RateResult {
	rem := int64(math.Floor((g.tau-d)/g.t + 1e-9))
	return RateResult{
		Limit:      limit,
		Remaining:  max(rem, 0),
		ResetAfter: time.Duration(math.Ceil(d)),
		RetryAfter: retry,
	}
}

// retryAfter is how long until a take that would reach need fits.
func (g gcra) retryAfter(need float64, n int64) time.Duration {
	if n > g.burst {
		return Never
	}
	return time.Duration(max(math.Ceil(need-g.tau), 1))
}

// bucket is one GCRA bucket: its TAT is tat + frac nanoseconds.
type bucket struct {
	tat  int64
	frac float64
}

// ahead returns the bucket's time-until-full at now, ≥ 0.
func (b *bucket) ahead(now int64) float64 {
	if b == nil {
		return 0
	}
	return max(float64(b.tat-now)+b.frac, 0)
}

// set makes the bucket's time-until-full d at now.
func (b *bucket) set(now int64, d float64) {
	w := math.Floor(d)
	b.tat = now + int64(w)
	b.frac = d - w
}
