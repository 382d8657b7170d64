package limittest

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octomesh/octomesh/internal/limit"
)

const ms = time.Millisecond

func allow(t *testing.T, c limit.Counters, checks ...limit.RateCheck) (bool, []limit.RateResult) {
	t.Helper()
	ok, res, err := c.Allow(t.Context(), checks)
	if err != nil {
		t.Fatalf("Allow(%v): %v", checks, err)
	}
	if len(res) != len(checks) {
		t.Fatalf("Allow(%v) returned %d results, want %d", checks, len(res), len(checks))
	}
	return ok, res
}

func charge(t *testing.T, c limit.Counters, checks ...limit.RateCheck) {
	t.Helper()
	if err := c.Charge(t.Context(), checks); err != nil {
		t.Fatalf("Charge(%v): %v", checks, err)
	}
}

func wantAllow(t *testing.T, c limit.Counters, wantOK bool, want []limit.RateResult, checks ...limit.RateCheck) {
	t.Helper()
	ok, res := allow(t, c, checks...)
	if ok != wantOK || !slices.Equal(res, want) {
		t.Errorf("Allow(%v) = %v, %+v; want %v, %+v", checks, ok, res, wantOK, want)
	}
}

// step is one Allow of n units after moving the clock.
type step struct {
	advance time.Duration
	n       int64
	ok      bool
	want    limit.RateResult
}

func runSteps(t *testing.T, c limit.Counters, clk *Clock, key string, r limit.Rate, steps []step) {
	t.Helper()
	for i, s := range steps {
		clk.Advance(s.advance)
		ok, res := allow(t, c, limit.RateCheck{Key: key, Rate: r, N: s.n})
		if ok != s.ok || res[0] != s.want {
			t.Errorf("step %d (+%v, n=%d): got %v, %+v; want %v, %+v", i, s.advance, s.n, ok, res[0], s.ok, s.want)
		}
	}
}

func testRateBurst(t *testing.T, f Factory) {
	c, clk := fake(t, f)
	r := limit.Rate{Limit: 10, Period: time.Second, Burst: 5} // T = 100ms, τ = 500ms
	res := func(rem int64, reset, retry time.Duration) limit.RateResult {
		return limit.RateResult{Limit: 10, Remaining: rem, ResetAfter: reset, RetryAfter: retry}
	}
	runSteps(t, c, clk, "k", r, []step{
		{0, 1, true, res(4, 100*ms, 0)},
		{0, 1, true, res(3, 200*ms, 0)},
		{0, 1, true, res(2, 300*ms, 0)},
		{0, 1, true, res(1, 400*ms, 0)},
		{0, 1, true, res(0, 500*ms, 0)},
		{0, 1, false, res(0, 500*ms, 100*ms)}, // the burst is spent
		{99 * ms, 1, false, res(0, 401*ms, 1*ms)},
		{1 * ms, 1, true, res(0, 500*ms, 0)}, // exactly one emission interval later
		{250 * ms, 2, true, res(0, 450*ms, 0)},
		{0, 1, false, res(0, 450*ms, 50*ms)},
		{0, 0, true, res(0, 450*ms, 0)},                // n = 0 reads the state
		{10 * time.Second, 3, true, res(2, 300*ms, 0)}, // full again
		{0, 6, false, res(2, 300*ms, limit.Never)},     // more than the burst
		{0, 3, false, res(2, 300*ms, 100*ms)},
		{50 * ms, 3, false, res(2, 250*ms, 50*ms)},
		{50 * ms, 3, true, res(0, 500*ms, 0)},
	})
}

func testRateDefaultBurst(t *testing.T, f Factory) {
	c, clk := fake(t, f)
	r := limit.Rate{Limit: 3, Period: 3 * time.Second} // burst = limit = 3, T = 1s
	res := func(rem int64, reset, retry time.Duration) limit.RateResult {
		return limit.RateResult{Limit: 3, Remaining: rem, ResetAfter: reset, RetryAfter: retry}
	}
	runSteps(t, c, clk, "k", r, []step{
		{0, 3, true, res(0, 3*time.Second, 0)},
		{0, 1, false, res(0, 3*time.Second, time.Second)},
		{time.Second, 1, true, res(0, 3*time.Second, 0)},
		{3 * time.Second, 1, true, res(2, time.Second, 0)},
		{0, 4, false, res(2, time.Second, limit.Never)},
	})
}

// testRateFractional checks rates whose emission interval is not a whole
// number of nanoseconds or microseconds: no unit may be lost or gained.
func testRateFractional(t *testing.T, f Factory) {
	c, clk := fake(t, f)
	seven := limit.Rate{Limit: 7, Period: time.Second} // T = 142857142.857…ns
	if ok, res := allow(t, c, limit.RateCheck{Key: "seven", Rate: seven, N: 7}); !ok || res[0].Remaining != 0 {
		t.Fatalf("a full burst of 7: %v, %+v", ok, res)
	}
	ok, res := allow(t, c, limit.RateCheck{Key: "seven", Rate: seven, N: 1})
	if ok || res[0].RetryAfter < 142857142 || res[0].RetryAfter > 142858*time.Microsecond {
		t.Errorf("after the burst: %v, %+v; want refused, RetryAfter 142.857ms (±1µs)", ok, res)
	}
	clk.Advance(time.Second)
	for i := range 7 {
		ok, res := allow(t, c, limit.RateCheck{Key: "seven", Rate: seven, N: 1})
		if !ok || res[0].Remaining != int64(6-i) {
			t.Errorf("single take %d: %v, %+v; want allowed, Remaining %d", i, ok, res, 6-i)
		}
	}
	if ok, _ := allow(t, c, limit.RateCheck{Key: "seven", Rate: seven, N: 1}); ok {
		t.Errorf("an eighth unit within a second was allowed")
	}

	// 150M tokens per minute: T = 0.4µs, below the microsecond.
	big := limit.Rate{Limit: 150_000_000, Period: time.Minute, Burst: 10_000}
	for i := range 10 {
		ok, res := allow(t, c, limit.RateCheck{Key: "big", Rate: big, N: 1000})
		if want := int64(9000 - 1000*i); !ok || res[0].Remaining != want {
			t.Errorf("take %d of 1000 tokens: %v, %+v; want allowed, Remaining %d", i, ok, res, want)
		}
	}
	wantAllow(t, c, false, []limit.RateResult{{Limit: 150_000_000, ResetAfter: 4 * time.Millisecond, RetryAfter: 400 * time.Microsecond}},
		limit.RateCheck{Key: "big", Rate: big, N: 1000})
	clk.Advance(400 * time.Microsecond)
	wantAllow(t, c, true, []limit.RateResult{{Limit: 150_000_000, ResetAfter: 4 * time.Millisecond}},
		limit.RateCheck{Key: "big", Rate: big, N: 1000})
}

func testRateAllOrNothing(t *testing.T, f Factory) {
	c, _ := fake(t, f)
	r := limit.Rate{Limit: 10, Period: time.Second, Burst: 5}
	other := limit.Rate{Limit: 100, Period: time.Minute} // T = 600ms, burst 100
	full := limit.RateResult{Limit: 10, Remaining: 5}
	wantAllow(t, c, true, []limit.RateResult{{Limit: 10, ResetAfter: 500 * ms}}, limit.RateCheck{Key: "b", Rate: r, N: 5})

	// b is empty: the call is refused and a, c and d keep every unit.
	wantAllow(t, c, false, []limit.RateResult{
		full,
		{Limit: 10, ResetAfter: 500 * ms, RetryAfter: 100 * ms},
		full,
		{Limit: 100, Remaining: 100},
	}, limit.RateCheck{Key: "a", Rate: r, N: 2}, limit.RateCheck{Key: "b", Rate: r, N: 1},
		limit.RateCheck{Key: "c", Rate: r, N: 1}, limit.RateCheck{Key: "d", Rate: other, N: 7})
	wantAllow(t, c, true, []limit.RateResult{{Limit: 10, ResetAfter: 500 * ms}}, limit.RateCheck{Key: "a", Rate: r, N: 5})
	wantAllow(t, c, true, []limit.RateResult{{Limit: 100, Remaining: 100, ResetAfter: 0}}, limit.RateCheck{Key: "d", Rate: other, N: 0})

	// Every check has room: all take.
	wantAllow(t, c, true, []limit.RateResult{
		{Limit: 10, Remaining: 2, ResetAfter: 300 * ms},
		{Limit: 100, Remaining: 93, ResetAfter: 4200 * ms},
	}, limit.RateCheck{Key: "c", Rate: r, N: 3}, limit.RateCheck{Key: "d", Rate: other, N: 7})

	// Two refuse: both say when.
	wantAllow(t, c, false, []limit.RateResult{
		{Limit: 10, ResetAfter: 500 * ms, RetryAfter: 100 * ms},
		{Limit: 10, Remaining: 2, ResetAfter: 300 * ms, RetryAfter: 100 * ms},
		{Limit: 100, Remaining: 93, ResetAfter: 4200 * ms},
	}, limit.RateCheck{Key: "a", Rate: r, N: 1}, limit.RateCheck{Key: "c", Rate: r, N: 3},
		limit.RateCheck{Key: "d", Rate: other, N: 1})

	// Many checks at once, the last refusing.
	var many []limit.RateCheck
	for i := range 12 {
		many = append(many, limit.RateCheck{Key: fmt.Sprintf("many:%d", i), Rate: r, N: 1})
	}
	many[11].N = 6
	if ok, res := allow(t, c, many...); ok || res[0] != full || res[11].RetryAfter != limit.Never {
		t.Errorf("12 checks, the last over its burst: %v, %+v", ok, res)
	}
	many[11].N = 5
	if ok, res := allow(t, c, many...); !ok || res[0].Remaining != 4 || res[11].Remaining != 0 {
		t.Errorf("12 checks with room: %v, %+v", ok, res)
	}

	if ok, res := allow(t, c); !ok || len(res) != 0 {
		t.Errorf("Allow() with no checks = %v, %v; want true, []", ok, res)
	}
}

func testRateCharge(t *testing.T, f Factory) {
	c, clk := fake(t, f)
	r := limit.Rate{Limit: 10, Period: time.Second, Burst: 5}
	k := func(n int64) limit.RateCheck { return limit.RateCheck{Key: "k", Rate: r, N: n} }
	res := func(rem int64, reset, retry time.Duration) []limit.RateResult {
		return []limit.RateResult{{Limit: 10, Remaining: rem, ResetAfter: reset, RetryAfter: retry}}
	}
	wantAllow(t, c, true, res(3, 200*ms, 0), k(2))
	charge(t, c, k(4)) // 6 taken of 5: in debt by one unit
	wantAllow(t, c, false, res(0, 600*ms, 100*ms), k(0))
	wantAllow(t, c, false, res(0, 600*ms, 200*ms), k(1))
	charge(t, c, k(-3)) // give three back
	wantAllow(t, c, true, res(1, 400*ms, 0), k(1))
	charge(t, c, k(-100)) // cannot fill past full
	wantAllow(t, c, true, res(5, 0, 0), k(0))
	wantAllow(t, c, true, res(0, 500*ms, 0), k(5))

	// A negative charge on an unknown bucket leaves it full, no fuller.
	charge(t, c, limit.RateCheck{Key: "m", Rate: r, N: -5})
	wantAllow(t, c, false, []limit.RateResult{{Limit: 10, Remaining: 5, RetryAfter: limit.Never}}, limit.RateCheck{Key: "m", Rate: r, N: 6})

	// Several buckets at once; a deep debt is waited out.
	charge(t, c, limit.RateCheck{Key: "x", Rate: r, N: 2}, limit.RateCheck{Key: "y", Rate: r, N: 15})
	wantAllow(t, c, true, []limit.RateResult{{Limit: 10, Remaining: 3, ResetAfter: 200 * ms}}, limit.RateCheck{Key: "x", Rate: r})
	wantAllow(t, c, false, []limit.RateResult{{Limit: 10, ResetAfter: 1500 * ms, RetryAfter: 1100 * ms}}, limit.RateCheck{Key: "y", Rate: r, N: 1})
	clk.Advance(1100 * ms)
	wantAllow(t, c, true, []limit.RateResult{{Limit: 10, ResetAfter: 500 * ms}}, limit.RateCheck{Key: "y", Rate: r, N: 1})
	if err := c.Charge(t.Context(), nil); err != nil {
		t.Errorf("Charge(nil) = %v", err)
	}
}

func testRateInvalid(t *testing.T, f Factory) {
	c, _ := fake(t, f)
	r := limit.Rate{Limit: 10, Period: time.Second}
	bad := map[string][]limit.RateCheck{
		"empty key":      {{Key: "", Rate: r, N: 1}},
		"zero limit":     {{Key: "k", Rate: limit.Rate{Period: time.Second}, N: 1}},
		"zero period":    {{Key: "k", Rate: limit.Rate{Limit: 10}, N: 1}},
		"negative burst": {{Key: "k", Rate: limit.Rate{Limit: 10, Period: time.Second, Burst: -1}, N: 1}},
		"huge limit":     {{Key: "k", Rate: limit.Rate{Limit: limit.MaxAmount + 1, Period: time.Second}, N: 1}},
		"negative n":     {{Key: "k", Rate: r, N: -1}},
		"repeated key":   {{Key: "k", Rate: r, N: 1}, {Key: "j", Rate: r}, {Key: "k", Rate: r, N: 1}},
	}
	for name, checks := range bad {
		_, _, err := c.Allow(t.Context(), checks)
		wantInvalid(t, "Allow with "+name, err)
		if name != "negative n" {
			wantInvalid(t, "Charge with "+name, c.Charge(t.Context(), checks))
		}
	}
	// Nothing was taken by the refused calls.
	wantAllow(t, c, true, []limit.RateResult{{Limit: 10, Remaining: 10}}, limit.RateCheck{Key: "k", Rate: r})
}

// testRateUnderLoadSimulated: 32 goroutines hammer a 6000/min bucket for a
// simulated minute, the clock moving 5ms after every attempt. GCRA admits
// exactly the burst plus one unit per emission interval: 100 + 6000. A
// non-atomic check-then-take would admit more.
func testRateUnderLoadSimulated(t *testing.T, f Factory) {
	c, clk := fake(t, f)
	r := limit.Rate{Limit: 6000, Period: time.Minute, Burst: 100}
	end := Start.Add(time.Minute)
	var admitted, attempts atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Go(func() {
			try := func() bool {
				ok, _, err := c.Allow(t.Context(), []limit.RateCheck{{Key: "hot", Rate: r, N: 1}})
				if err != nil {
					errs <- err
					return false
				}
				attempts.Add(1)
				if ok {
					admitted.Add(1)
				}
				return true
			}
			for clk.Now().Before(end) {
				if !try() {
					return
				}
				clk.advanceUpTo(5*ms, end)
			}
			try() // a last attempt at the end, for the final emission
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Allow: %v", err)
	}
	if got, want := admitted.Load(), int64(100+6000); got != want {
		t.Errorf("admitted %d of %d attempts in a simulated minute; want exactly %d (burst 100 + 6000/min)", got, attempts.Load(), want)
	}
}

// testRateUnderLoadRealTime: 32 goroutines hammer a 1000/s bucket with a
// burst of 1000 for 3 real seconds on the implementation's own clock (Redis:
// the server's). GCRA admits the burst plus one per millisecond between the
// first call and the last: about 4000.
//
// The span the implementation's clock saw is bounded by what the test saw:
// at least from the end of the first call to the start of the last, at most
// from the start of the first to the end of the last. The admissions are
// checked against those bounds rather than against the nominal 3 s, so that
// a busy machine, which delays the goroutines' start or the last reply,
// cannot fail a correct limiter (the old check failed once on a machine
// loaded by other benchmarks, never in CI).
//
// Units are lost only when nobody asks for them for longer than the burst
// lasts (the bucket fills and overflows): the one-second burst keeps a
// stall of the whole process (or the Redis server) on a busy machine from
// counting against the counters.
func testRateUnderLoadRealTime(t *testing.T, f Factory) {
	if testing.Short() {
		t.Skip("real-time test skipped in -short mode")
	}
	c := f(t, nil)
	r := limit.Rate{Limit: 60_000, Period: time.Minute, Burst: 1000}
	const window = 3 * time.Second
	var admitted, attempts, last, maxGap atomic.Int64
	// The first call's start and end, the last call's start and end
	// (unix nanoseconds): the bounds of the span the limiter's clock saw.
	var firstStart, firstEnd, lastStart, lastEnd atomic.Int64
	firstEnd.Store(math.MaxInt64)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	start := time.Now()
	stop := start.Add(window)
	last.Store(start.UnixNano())
	for range 32 {
		wg.Go(func() {
			for {
				begin := time.Now()
				if !begin.Before(stop) {
					return
				}
				firstStart.CompareAndSwap(0, begin.UnixNano())
				ok, _, err := c.Allow(t.Context(), []limit.RateCheck{{Key: "hot", Rate: r, N: 1}})
				if err != nil {
					errs <- err
					return
				}
				attempts.Add(1)
				if ok {
					admitted.Add(1)
				}
				now := time.Now().UnixNano()
				storeMin(&firstEnd, now)
				storeMax(&lastStart, begin.UnixNano())
				storeMax(&lastEnd, now)
				storeMax(&maxGap, now-last.Swap(now))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		t.Fatalf("Allow: %v", err)
	}
	got := admitted.Load()
	// One unit a millisecond, whole units only.
	least := 1000 + (lastStart.Load()-firstEnd.Load())/int64(time.Millisecond) - 1
	most := 1000 + (lastEnd.Load()-firstStart.Load())/int64(time.Millisecond) + 1
	t.Logf("admitted %d of %d attempts in %v, longest pause between calls %v (want %d to %d)",
		got, attempts.Load(), elapsed, time.Duration(maxGap.Load()), least, most)
	if got > most {
		t.Errorf("admitted %d: more than the burst plus the rate allow over the calls' span (%d)", got, most)
	}
	// A pause longer than the burst lasts (one second) loses units: the
	// bucket was full and overflowed. Then only the ceiling holds.
	if got < least && maxGap.Load() < int64(time.Second) {
		t.Errorf("admitted %d: fewer than the burst plus the rate over the calls' span (%d)", got, least)
	}
	if span := time.Duration(lastStart.Load() - firstEnd.Load()); span < window*9/10 {
		t.Errorf("the calls spanned %v of the %v window", span, window)
	}
	if attempts.Load() <= got {
		t.Errorf("%d attempts, %d admitted: the limit was never reached", attempts.Load(), got)
	}
}

// storeMin sets m to v if v is smaller.
func storeMin(m *atomic.Int64, v int64) {
	for {
		cur := m.Load()
		if v >= cur || m.CompareAndSwap(cur, v) {
			return
		}
	}
}

// storeMax sets m to v if v is larger.
func storeMax(m *atomic.Int64, v int64) {
	for {
		cur := m.Load()
		if v <= cur || m.CompareAndSwap(cur, v) {
			return
		}
	}
}
