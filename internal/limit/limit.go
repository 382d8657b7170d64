// Package limit holds OctoMesh's shared counters: GCRA rate limits
// (requests and tokens per minute, per key and per organisation) and budget
// accounts with reservations. Counters is the interface; Memory serves one
// node and Redis serves a cluster (atomic Lua scripts), and both pass the
// same conformance suite (limittest).
//
// Amounts are plain int64 units: nano-dollars for budgets, requests or
// tokens for rates. The package knows nothing of requests or prices; the
// metering layer (internal/meter) decides what to reserve and settle.
package limit

import (
	"context"
	"time"
)

// Rate is a limit of Limit units per Period, allowing bursts of up to Burst
// units (Burst 0 means Limit: a full period's worth may be taken at once).
type Rate struct {
	Limit  int64
	Period time.Duration
	Burst  int64
}

// RateCheck asks to take N units from the bucket Key at Rate.
type RateCheck struct {
	Key  string
	Rate Rate
	N    int64
}

// RateResult is the state of one bucket after a check, for the
// x-ratelimit-* headers.
type RateResult struct {
	Limit      int64         // the rate's limit per period
	Remaining  int64         // units that could be taken right now
	ResetAfter time.Duration // until the bucket is full again
	// RetryAfter is, for a refused check, how long until it would be
	// allowed; 0 when allowed.
	RetryAfter time.Duration
}

// Account is one budget counter: a budget in one period window, or an
// organisation's prepaid credit. A reservation succeeds only while
// spent + reserved + amount ≤ Limit on every hard account it touches.
type Account struct {
	Key   string // unique per budget and window, e.g. "b:<budget>:<window start>"
	Limit int64
	Hard  bool // false: counted but never refusing (a soft budget)
	// TTL is how long the counter is kept after its last change (0:
	// forever). Day and month windows use a TTL past their end.
	TTL time.Duration
}

// Counters are the shared counters. Implementations are safe for concurrent
// use; every method is atomic with respect to the others, across all
// processes sharing the implementation's backend.
type Counters interface {
	// Allow applies the checks all-or-nothing with GCRA: if every bucket
	// can take its N units, all take them and allowed is true; otherwise
	// none changes and allowed is false. The results are in checks' order.
	Allow(ctx context.Context, checks []RateCheck) (allowed bool, res []RateResult, err error)
	// Charge takes N units from each bucket without checking (N may be
	// negative to give units back), e.g. to correct a tokens-per-minute
	// check once actual usage is known. A bucket may go into debt, which
	// later checks must wait out.
	Charge(ctx context.Context, checks []RateCheck) error

	// Reserve reserves amount on every account, all-or-nothing, under the
	// reservation id. It returns refused = -1 on success, or the index of
	// the first hard account that has no room (nothing is then reserved).
	// A reservation not settled or released within ttl is dropped, so a
	// crashed node cannot hold budget forever.
	Reserve(ctx context.Context, id string, accts []Account, amount int64, ttl time.Duration) (refused int, err error)
	// Settle ends reservation id: actual is added to each account's spent
	// (even if it exceeds the reservation, and even if the reservation has
	// expired) and the reservation is dropped. Settling the same id twice
	// adds nothing the second time.
	Settle(ctx context.Context, id string, accts []Account, actual int64) error
	// Release drops reservation id without spending anything.
	Release(ctx context.Context, id string, accts []Account) error
	// Adjust adds delta to an account's spent outside any reservation (a
	// top-up of prepaid credit is a negative delta).
	Adjust(ctx context.Context, acct Account, delta int64) error
	// Seed sets an account's spent to spent if the account has no counter
	// yet (its first use since the backend started), and reports whether
	// it did. The metering layer seeds from the ledger.
	Seed(ctx context.Context, acct Account, spent int64) (bool, error)
	// Balance returns an account's spent and currently reserved amounts.
	Balance(ctx context.Context, acct Account) (spent, reserved int64, err error)
}
