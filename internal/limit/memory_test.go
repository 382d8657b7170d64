package limit_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/octomesh/octomesh/internal/limit"
	"github.com/octomesh/octomesh/internal/limit/limittest"
)

func TestMemory(t *testing.T) {
	limittest.Run(t, func(t *testing.T, now func() time.Time) limit.Counters {
		return limit.NewMemory(now)
	})
}

// AllowInto decides as Allow does, writing the results into the caller's
// slice (over whatever it held) instead of a new one.
func TestMemoryAllowInto(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	a, b := limit.NewMemory(now), limit.NewMemory(now)
	checks := []limit.RateCheck{
		{Key: "k", Rate: limit.Rate{Limit: 3, Period: time.Minute}, N: 1},
		{Key: "t", Rate: limit.Rate{Limit: 100, Period: time.Minute}, N: 40},
	}
	res := make([]limit.RateResult, 4)
	for i := range 5 {
		for j := range res {
			res[j] = limit.RateResult{Limit: -1, Remaining: -1, ResetAfter: -1, RetryAfter: -1} // stale
		}
		okA, want, errA := a.Allow(ctx, checks)
		okB, errB := b.AllowInto(ctx, checks, res)
		if okA != okB || errA != nil || errB != nil {
			t.Fatalf("call %d: Allow %v %v, AllowInto %v %v", i, okA, errA, okB, errB)
		}
		if diff := cmp.Diff(want, res[:len(checks)]); diff != "" {
			t.Fatalf("call %d: results (-Allow +AllowInto):\n%s", i, diff)
		}
	}
	if _, err := b.AllowInto(ctx, checks, res[:1]); err == nil {
		t.Error("AllowInto with room for fewer results than checks: no error")
	}
}
