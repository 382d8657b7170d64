package limittest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octomesh/octomesh/internal/limit"
)

// The property test: goroutines run random interleavings of reserve,
// settle, release, adjust (top-ups) and balance against shared accounts,
// each call stamped with a global sequence number before it starts and
// after it returns. A checker then replays the history against a model of
// the accounts. A call takes effect at some instant between its stamps, so
// for each call the model bounds spent+reserved of each account over that
// interval from below (only what surely happened before and surely still
// held) and from above (all that may have happened). It requires that:
//
//   - an admitted reservation had room on every hard account even at the
//     lower bound (otherwise it was admitted without room);
//   - a refused one had no room at the upper bound on the account it
//     names, which must be hard, and that no earlier hard account surely
//     lacked room;
//   - spent+reserved ≤ limit on hard accounts at every instant between
//     calls (at the lower bound) and in every Balance (every actual ≤ its
//     reservation and every Adjust a top-up, so only a wrong admission
//     could break it), and every Balance lies within the bounds;
//   - at the end, with every reservation ended, reserved is 0 and spent is
//     exactly the seed plus the settled actuals plus the adjustments.

const (
	propSeeds   = 25
	propWorkers = 8
	propSteps   = 40
	propMaxAmt  = 3000
)

func testProperty(t *testing.T, f Factory) {
	c, _ := fake(t, f)
	for seed := range uint64(propSeeds) {
		for _, p := range runProperty(t.Context(), c, seed) {
			t.Errorf("seed %d: %s", seed, p)
		}
		if t.Failed() {
			return
		}
	}
}

type opKind int

const (
	opReserve opKind = iota
	opSettle
	opRelease
	opAdjust
	opBalance
)

// propOp is one call in a history.
type propOp struct {
	kind       opKind
	id         string
	accts      []int // indexes into the history's accounts
	amount     int64 // reserve: amount; settle: actual; adjust: delta
	refused    int   // reserve: the result
	spent, res int64 // balance: the result
	start, end int64 // sequence stamps
}

type history struct {
	accts []limit.Account
	base  []int64 // each account's seeded spent
	ops   []propOp
}

// runProperty runs one seeded history on c and returns what the checker
// found wrong with it.
func runProperty(ctx context.Context, c limit.Counters, seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, 0))
	h := &history{}
	for i, lim := range []int64{10_000, 20_000, 40_000, 5_000} {
		a := limit.Account{Key: fmt.Sprintf("prop:%d:%d", seed, i), Limit: lim, Hard: i < 3, TTL: time.Hour}
		base := rng.Int64N(lim / 2)
		if ok, err := c.Seed(ctx, a, base); err != nil || !ok {
			return []string{fmt.Sprintf("Seed(%s) = %v, %v", a.Key, ok, err)}
		}
		h.accts = append(h.accts, a)
		h.base = append(h.base, base)
	}
	var seq atomic.Int64
	perWorker := make([][]propOp, propWorkers)
	var mu sync.Mutex
	var errs []string
	together(propWorkers, func(g int) {
		w := worker{c: c, h: h, seq: &seq, rng: rand.New(rand.NewPCG(seed, uint64(g)+1))}
		for i := range propSteps {
			w.step(ctx, fmt.Sprintf("p%d-%d-%d", seed, g, i))
		}
		for len(w.held) > 0 {
			w.end(ctx, 0)
		}
		perWorker[g] = w.ops
		if w.err != nil {
			mu.Lock()
			errs = append(errs, w.err.Error())
			mu.Unlock()
		}
	})
	if len(errs) > 0 {
		return errs
	}
	for _, ops := range perWorker {
		h.ops = append(h.ops, ops...)
	}
	problems := h.check()
	for i, a := range h.accts {
		spent, reserved, err := c.Balance(ctx, a)
		if err != nil {
			return append(problems, fmt.Sprintf("Balance: %v", err))
		}
		if want := h.finalSpent(i); spent != want || reserved != 0 {
			problems = append(problems, fmt.Sprintf("%s at the end = spent %d, reserved %d; want %d, 0", a.Key, spent, reserved, want))
		}
	}
	return problems
}

// worker is one goroutine of a history.
type worker struct {
	c    limit.Counters
	h    *history
	seq  *atomic.Int64
	rng  *rand.Rand
	held []propOp // admitted reservations not yet ended
	ops  []propOp
	err  error
}

func (w *worker) accounts(idx []int) []limit.Account {
	as := make([]limit.Account, len(idx))
	for i, j := range idx {
		as[i] = w.h.accts[j]
	}
	return as
}

// record stamps and runs call, which fills op's results, and keeps op.
func (w *worker) record(op *propOp, call func() error) {
	op.start = w.seq.Add(1)
	err := call()
	op.end = w.seq.Add(1)
	if err != nil && w.err == nil {
		w.err = err
	}
	w.ops = append(w.ops, *op)
}

func (w *worker) step(ctx context.Context, id string) {
	switch r := w.rng.IntN(10); {
	case r < 5:
		perm := w.rng.Perm(len(w.h.accts))
		op := propOp{kind: opReserve, id: id, accts: perm[:1+w.rng.IntN(len(perm))], amount: w.rng.Int64N(propMaxAmt + 1)}
		w.record(&op, func() (err error) {
			op.refused, err = w.c.Reserve(ctx, id, w.accounts(op.accts), op.amount, time.Hour)
			return err
		})
		if op.refused == -1 {
			w.held = append(w.held, op)
		}
	case r < 8 && len(w.held) > 0:
		w.end(ctx, r)
	case r < 9:
		a := w.rng.IntN(len(w.h.accts))
		delta := -w.rng.Int64N(2000)
		w.record(&propOp{kind: opAdjust, accts: []int{a}, amount: delta}, func() error {
			return w.c.Adjust(ctx, w.h.accts[a], delta)
		})
	default:
		a := w.rng.IntN(len(w.h.accts))
		op := propOp{kind: opBalance, accts: []int{a}}
		w.record(&op, func() (err error) {
			op.spent, op.res, err = w.c.Balance(ctx, w.h.accts[a])
			return err
		})
	}
}

// end settles (r < 7) or releases a random held reservation.
func (w *worker) end(ctx context.Context, r int) {
	i := w.rng.IntN(len(w.held))
	res := w.held[i]
	w.held = append(w.held[:i], w.held[i+1:]...)
	if r < 7 && w.rng.IntN(4) > 0 {
		actual := w.rng.Int64N(res.amount + 1)
		w.record(&propOp{kind: opSettle, id: res.id, accts: res.accts, amount: actual}, func() error {
			return w.c.Settle(ctx, res.id, w.accounts(res.accts), actual)
		})
		return
	}
	w.record(&propOp{kind: opRelease, id: res.id, accts: res.accts}, func() error {
		return w.c.Release(ctx, res.id, w.accounts(res.accts))
	})
}

func has(idx []int, a int) bool {
	for _, i := range idx {
		if i == a {
			return true
		}
	}
	return false
}

// finalSpent is what account a must have spent once every call is done.
func (h *history) finalSpent(a int) int64 {
	s := h.base[a]
	for _, op := range h.ops {
		if (op.kind == opSettle || op.kind == opAdjust) && has(op.accts, a) {
			s += op.amount
		}
	}
	return s
}

// bounds returns lower and upper bounds of account a's spent+reserved at
// the instant the call self took effect, counting every call but self.
// byAcct lists the calls touching each account.
func (h *history) bounds(a int, self *propOp, ends map[string]*propOp, byAcct [][]int) (lo, hi int64) {
	lo, hi = h.base[a], h.base[a]
	for _, i := range byAcct[a] {
		op := &h.ops[i]
		if op == self {
			continue
		}
		switch op.kind {
		case opReserve:
			if op.refused != -1 {
				continue
			}
			end := ends[op.id]
			var final int64 // what it leaves once ended: the actual, or 0 if released
			if end != nil && end.kind == opSettle {
				final = end.amount
			}
			endedBefore := end != nil && end.end < self.start // surely ended before self
			heldThrough := end == nil || end.start > self.end // surely not ended before self
			switch {
			case op.start > self.end: // surely after self: counts nothing
			case endedBefore:
				hi += final
			default:
				hi += max(op.amount, final)
			}
			if op.end < self.start { // surely reserved before self
				switch {
				case heldThrough:
					lo += op.amount
				case endedBefore:
					lo += final
				default:
					lo += min(op.amount, final)
				}
			}
		case opAdjust:
			switch {
			case op.end < self.start:
				lo += op.amount
				hi += op.amount
			case op.start < self.end:
				lo += min(op.amount, 0)
				hi += max(op.amount, 0)
			}
		}
	}
	return lo, hi
}

// check returns the history's violations of the model.
func (h *history) check() (problems []string) {
	ends := make(map[string]*propOp)
	for i := range h.ops {
		if op := &h.ops[i]; op.kind == opSettle || op.kind == opRelease {
			ends[op.id] = op
		}
	}
	byAcct := make([][]int, len(h.accts))
	for i, op := range h.ops {
		for _, a := range op.accts {
			byAcct[a] = append(byAcct[a], i)
		}
	}
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for i := range h.ops {
		op := &h.ops[i]
		switch op.kind {
		case opReserve:
			for p, a := range op.accts {
				acct := h.accts[a]
				if !acct.Hard {
					if op.refused == p {
						fail("reserve %s was refused by soft account %s", op.id, acct.Key)
					}
					continue
				}
				lo, hi := h.bounds(a, op, ends, byAcct)
				switch {
				case op.refused == -1 || p < op.refused:
					if lo+op.amount > acct.Limit {
						fail("reserve %s of %d passed %s though spent+reserved was at least %d of %d (refused=%d)",
							op.id, op.amount, acct.Key, lo, acct.Limit, op.refused)
					}
				case p == op.refused:
					if hi+op.amount <= acct.Limit {
						fail("reserve %s of %d was refused by %s though spent+reserved was at most %d of %d",
							op.id, op.amount, acct.Key, hi, acct.Limit)
					}
				}
			}
			if op.refused < -1 || op.refused >= len(op.accts) {
				fail("reserve %s returned refused=%d for %d accounts", op.id, op.refused, len(op.accts))
			}
		case opBalance:
			a := op.accts[0]
			lo, hi := h.bounds(a, op, ends, byAcct)
			if used := op.spent + op.res; used < lo || used > hi {
				fail("Balance(%s) = %d+%d, outside the possible [%d, %d]", h.accts[a].Key, op.spent, op.res, lo, hi)
			}
			if h.accts[a].Hard && op.spent+op.res > h.accts[a].Limit {
				fail("Balance(%s) = %d+%d over the hard limit %d", h.accts[a].Key, op.spent, op.res, h.accts[a].Limit)
			}
			if op.res < 0 {
				fail("Balance(%s) reserved %d < 0", h.accts[a].Key, op.res)
			}
		}
	}
	// Between any two calls, spent+reserved of a hard account must be
	// within its limit; the lower bound there counts what surely happened.
	// (This catches admissions that overlap in time, which the per-call
	// bounds above cannot order.) Only admissions raise it: look just after
	// each.
	for a, acct := range h.accts {
		if !acct.Hard {
			continue
		}
		for _, i := range byAcct[a] {
			if op := &h.ops[i]; op.kind != opReserve || op.refused != -1 {
				continue
			}
			after := h.ops[i].end + 1
			probe := propOp{start: after, end: after}
			if lo, _ := h.bounds(a, &probe, ends, byAcct); lo > acct.Limit {
				fail("spent+reserved of %s was surely at least %d at stamp %d, over the hard limit %d", acct.Key, lo, after, acct.Limit)
				break
			}
		}
	}
	return problems
}
