// Package limittest is the conformance suite that every limit.Counters
// passes: exact GCRA results, all-or-nothing checks and reservations, rates
// held under concurrent load, budget exactness at the edge of a limit with
// 64 concurrent requests, and a property test of random interleavings
// against a model.
//
// An implementation's test calls Run with a Factory:
//
//	func TestCounters(t *testing.T) {
//		limittest.Run(t, func(t *testing.T, now func() time.Time) limit.Counters {
//			return limit.NewMemory(now)
//		})
//	}
package limittest

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/limit"
)

// Factory returns fresh, empty counters for one test, cleaned up by the
// factory (t.Cleanup). When now is non-nil the counters must read time only
// from it (the suite moves it by hand); when now is nil they use their own
// real clock (the suite then sleeps and measures real time).
type Factory func(t *testing.T, now func() time.Time) limit.Counters

// Run runs the whole suite. It takes about ten seconds, most of it in the
// two real-time tests.
func Run(t *testing.T, newCounters Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, Factory)
	}{
		{"RateBurst", testRateBurst},
		{"RateDefaultBurst", testRateDefaultBurst},
		{"RateFractional", testRateFractional},
		{"RateAllOrNothing", testRateAllOrNothing},
		{"RateCharge", testRateCharge},
		{"RateInvalid", testRateInvalid},
		{"RateUnderLoadSimulated", testRateUnderLoadSimulated},
		{"RateUnderLoadRealTime", testRateUnderLoadRealTime},
		{"ReserveSettleRelease", testReserveSettleRelease},
		{"RefusalIndex", testRefusalIndex},
		{"SoftNeverRefuses", testSoftNeverRefuses},
		{"SettleAboveReservation", testSettleAboveReservation},
		{"SettleAfterExpiry", testSettleAfterExpiry},
		{"DoubleSettle", testDoubleSettle},
		{"ReserveAgainReplaces", testReserveAgainReplaces},
		{"SeedOnce", testSeedOnce},
		{"PrepaidTopUp", testPrepaidTopUp},
		{"AccountTTL", testAccountTTL},
		{"ReservationExpires", testReservationExpires},
		{"ReservationExpiresRealTime", testReservationExpiresRealTime},
		{"BudgetInvalid", testBudgetInvalid},
		{"Edge64", testEdge64},
		{"Edge64ActualAboveReservation", testEdge64Over},
		{"Property", testProperty},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newCounters) })
	}
}

// Start is where a Clock starts: a whole microsecond, so that Redis
// (microseconds) and Memory (nanoseconds) compute the same exact values.
var Start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Clock is a hand-moved clock, safe for concurrent use.
type Clock struct{ ns atomic.Int64 }

// NewClock returns a Clock at t.
func NewClock(t time.Time) *Clock {
	c := &Clock{}
	c.ns.Store(t.UnixNano())
	return c
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

// Advance moves the clock d forward.
func (c *Clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// advanceUpTo moves the clock d forward, but not past limit.
func (c *Clock) advanceUpTo(d time.Duration, limit time.Time) {
	for {
		cur := c.ns.Load()
		next := min(cur+int64(d), limit.UnixNano())
		if next <= cur || c.ns.CompareAndSwap(cur, next) {
			return
		}
	}
}

// fake returns counters on a fresh Clock at Start.
func fake(t *testing.T, f Factory) (limit.Counters, *Clock) {
	clk := NewClock(Start)
	return f(t, clk.Now), clk
}

// wantInvalid fails unless err is an *octomesh.Error with code EINVALID.
func wantInvalid(t *testing.T, what string, err error) {
	t.Helper()
	var e *octomesh.Error
	if !errors.As(err, &e) || e.Code != octomesh.EINVALID {
		t.Errorf("%s: err = %v, want an *octomesh.Error with code %s", what, err, octomesh.EINVALID)
	}
}
