// Package limit holds OctoMesh's shared counters: GCRA rate limits
// (requests and tokens per minute, per key and per organisation) and budget
// accounts with reservations. Counters is the interface; Memory serves one
// node and Redis serves a cluster (atomic Lua scripts), and both pass the
// same conformance suite (limittest).
//
// Amounts are plain int64 units: nano-dollars for budgets, requests or
// tokens for rates. The package knows nothing of requests or prices; the
// metering layer (internal/meter) decides what to reserve and settle.
//
// Rules shared by every implementation (the conformance suite checks them):
//
//   - Invalid arguments (an empty key or reservation id, a key twice in one
//     call, a Rate with Limit or Period ≤ 0 or Burst < 0, a negative N in
//     Allow, a negative Reserve amount, Settle actual or Account TTL, a
//     reservation ttl ≤ 0, or any amount, N, delta, Limit or Burst beyond
//     ±MaxAmount) return an *octomesh.Error with code EINVALID and change
//     nothing. Memory returns no other error.
//   - A backend failure (Redis unreachable, a timeout, a cancelled context)
//     returns an *octomesh.Error with code EUNAVAILABLE whose cause (Unwrap)
//     is the backend's error. The outcome of a call that failed that way is
//     unknown: it may have been applied. Every mutating method is safe to
//     retry with the same arguments except Adjust and Charge: Reserve
//     replaces its own earlier reservation, Settle is idempotent per id,
//     Release of a dropped reservation does nothing, Seed only ever seeds
//     once. A caller giving up after a failed Reserve should Release the id
//     (best effort) or let the reservation lapse at its ttl.
//   - Time comes from one clock per backend: Memory's process (monotonic),
//     Redis's server (TIME), never the callers', unless WithClock says
//     otherwise (tests).
//   - A reservation id is the caller's (e.g. request id + attempt); Reserve
//     under an id already reserved on an account replaces that
//     reservation's amount (the old amount does not count against the new
//     one), so a retried Reserve never holds budget twice. Release does not
//     mark the id settled: a later Settle of a released id still spends.
//   - A settled id is remembered for a while (see WithSettledTTL, default
//     DefaultSettledTTL): a repeat Settle within that time adds nothing to
//     any account, even naming more accounts than the first; a repeat after
//     it spends again. Each Reserve is settled once: an account on which
//     the id was reserved again since spends again. (A repeat naming none
//     of the first Settle's accounts is unspecified: pass the same list.)
//   - Accounts are created by their first Reserve, Settle, Adjust or Seed;
//     so the metering layer must Seed an account from the ledger before it
//     reserves on it, or Seed will find a counter and report false.
package limit

import (
	"context"
	"errors"
	"time"
)

// Rate is a limit of Limit units per Period, allowing bursts of up to Burst
// units (Burst 0 means Limit: a full period's worth may be taken at once).
type Rate struct {
	Limit  int64
	Period time.Duration
	Burst  int64
}

// RateCheck asks to take N units from the bucket Key at Rate. In Allow, N
// may be 0 to read a bucket's state; such a check is refused only while the
// bucket is in debt (see Charge). A bucket is identified by Key alone: use
// the same Rate for a key on every call (a changed Rate applies from the
// next call on, to the bucket's current level).
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
	// allowed; 0 when allowed, and 0 for a check of a refused call that
	// had room itself. It is Never for a check whose N exceeds the
	// rate's burst, which no amount of waiting allows.
	RetryAfter time.Duration
}

// Never is the RetryAfter of a check that can never be allowed, because it
// asks for more units than the bucket holds when full (N > Burst).
const Never time.Duration = -1

// MaxAmount bounds every amount, N, Limit and Burst (2^53, about nine
// million dollars in nano-dollars): Redis's Lua scripts compute in float64,
// exact for integers up to 2^53. Spent counters themselves may grow past it
// (they are added exactly); only comparisons with a Limit are then rounded
// to the nearest float64, an error of a few units at most.
const MaxAmount int64 = 1 << 53

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

// AllowerInto is implemented by Counters that can write Allow's results
// into the caller's slice instead of a new one, saving an allocation per
// admitted request. res must have room for a result per check; its first
// len(checks) elements are overwritten.
type AllowerInto interface {
	AllowInto(ctx context.Context, checks []RateCheck, res []RateResult) (allowed bool, err error)
}

// errShortResults is AllowInto's error for a res shorter than checks.
var errShortResults = errors.New("limit: AllowInto: fewer results than checks")

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
	// adds nothing the second time (see the package doc for how long that
	// is remembered).
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
