package router

import (
	"math"
	"sync/atomic"
	"time"
)

// microToken is the budget's unit: a millionth of an attempt.
const microToken = 1_000_000

// budget is a lock-free retry (or hedge) budget: a token bucket that each
// admitted request fills by ratio and each extra attempt drains by one, capped
// at burst; plus a minimum rate, as a generic cell rate algorithm (GCRA), that
// is always available.
type budget struct {
	ratio     int64 // micro-tokens per admitted request
	burst     int64 // micro-tokens at most
	tokens    atomic.Int64
	interval  int64 // ns between minimum-rate tokens; 0: no minimum
	tolerance int64 // ns of minimum-rate burst
	tat       atomic.Int64
}

func (b *budget) init(c BudgetConfig) {
	b.ratio = int64(math.Round(c.Ratio * microToken))
	b.burst = int64(math.Round(c.Burst * microToken))
	if c.MinPerSecond > 0 {
		b.interval = int64(float64(time.Second) / c.MinPerSecond)
		b.tolerance = b.interval * int64(max(math.Ceil(c.MinPerSecond), 1)-1)
	}
}

func (b *budget) deposit() {
	if b.ratio == 0 {
		return
	}
	for {
		cur := b.tokens.Load()
		if cur >= b.burst {
			return
		}
		if b.tokens.CompareAndSwap(cur, min(cur+b.ratio, b.burst)) {
			return
		}
	}
}

func (b *budget) take(now int64) bool {
	for {
		cur := b.tokens.Load()
		if cur < microToken {
			break
		}
		if b.tokens.CompareAndSwap(cur, cur-microToken) {
			return true
		}
	}
	if b.interval == 0 {
		return false
	}
	for {
		tat := b.tat.Load()
		start := max(tat, now)
		if start-now > b.tolerance {
			return false
		}
		if b.tat.CompareAndSwap(tat, start+b.interval) {
			return true
		}
	}
}

// Admit counts one client request: it funds the retry budget by
// RetryBudget.Ratio and the hedge budget by HedgeBudget.Ratio. Call it once
// per client request (not per attempt, and not for explain-only decisions).
func (r *Router) Admit() {
	r.retry.deposit()
	r.hedge.deposit()
}

// AllowRetry reports whether one more upstream attempt (after a request's
// first) fits the retry budget, and if so spends it. Across all requests,
// retries stay under RetryBudget.Ratio × admitted requests plus
// RetryBudget.MinPerSecond per second. The per-request cap is
// Plan.MaxAttempts.
func (r *Router) AllowRetry() bool { return r.retry.take(r.now().UnixNano()) }

// AllowHedge reports whether a hedged attempt fits the hedge budget, and if
// so spends it.
func (r *Router) AllowHedge() bool { return r.hedge.take(r.now().UnixNano()) }
