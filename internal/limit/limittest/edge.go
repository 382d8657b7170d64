package limittest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/octomesh/octomesh/internal/limit"
)

// The budget edge (issue 7): 64 concurrent requests, each reserving R at
// the edge of two hard budgets and settling an actual cost. Rounds run
// until no reservation fits. Each round starts all 64 Reserves at once, so
// an implementation whose check and reservation are not one atomic step
// admits more than fit (the package's own test shows the suite catching
// such an implementation). Each round checks, exactly:
//
//   - the number admitted is the number that fit: floor(room/R) on the
//     tighter budget, capped at 64; fewer means a reservation was refused
//     while spent+reserved+R ≤ limit, more means overspending;
//   - every refusal names the first budget without room;
//   - every account (the soft one too) holds exactly n·R mid-round, and
//     after settling its spent grew by exactly the sum of actuals.
//
// Finally spent ≤ limit when every actual ≤ R. When actuals may exceed R,
// overspend is bounded by the excess of the reservations in flight at
// once; with at most 64 in flight, each over by R/64, that is one
// reservation: spent ≤ limit + R.

const (
	edgeR       = 10_000
	edgeLimitA  = 10_000_000
	edgeLimitB  = 5_000_000
	edgeWorkers = 64
)

func testEdge64(t *testing.T, f Factory) {
	c, _ := fake(t, f)
	for _, p := range runEdge(t.Context(), c, false) {
		t.Error(p)
	}
}

func testEdge64Over(t *testing.T, f Factory) {
	c, _ := fake(t, f)
	for _, p := range runEdge(t.Context(), c, true) {
		t.Error(p)
	}
}

// runEdge runs the edge test and returns what went wrong.
func runEdge(ctx context.Context, c limit.Counters, over bool) (problems []string) {
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	a := limit.Account{Key: "edge:a", Limit: edgeLimitA, Hard: true, TTL: time.Hour}
	b := limit.Account{Key: "edge:b", Limit: edgeLimitB, Hard: true}
	s := limit.Account{Key: "edge:soft", Limit: 1}
	all := []limit.Account{a, b, s}
	roomA, roomB := int64(10*edgeR+edgeR/2), int64(7*edgeR+edgeR/2)
	actual := func(round, g int) int64 { return edgeR/2 + int64(g*379+round*101)%(edgeR/2) } // ≤ R
	maxOver := int64(0)
	if over {
		roomA, roomB = 10*edgeR, 7*edgeR // B exactly at the limit after 7
		actual = func(int, int) int64 { return edgeR + edgeR/64 }
		maxOver = edgeR
	}
	for _, x := range []struct {
		acct  limit.Account
		spent int64
	}{{a, edgeLimitA - roomA}, {b, edgeLimitB - roomB}, {s, 0}} {
		if ok, err := c.Seed(ctx, x.acct, x.spent); err != nil || !ok {
			return []string{fmt.Sprintf("Seed(%s) = %v, %v", x.acct.Key, ok, err)}
		}
	}
	balance := func(acct limit.Account) (int64, int64) {
		sp, r, err := c.Balance(ctx, acct)
		if err != nil {
			fail("Balance(%s): %v", acct.Key, err)
		}
		return sp, r
	}
	fits := func(limit, spent int64) int64 { return max(limit-spent, 0) / edgeR }

	admittedTotal := 0
	for round := 0; round < 20; round++ {
		spent := make([]int64, len(all))
		for i, acct := range all {
			var r int64
			if spent[i], r = balance(acct); r != 0 {
				fail("round %d: %s holds %d at the start, want 0", round, acct.Key, r)
			}
		}
		fitA, fitB := fits(edgeLimitA, spent[0]), fits(edgeLimitB, spent[1])
		want := min(edgeWorkers, fitA, fitB)
		wantIndex := 1
		if fitA == want {
			wantIndex = 0
		}

		refused := make([]int, edgeWorkers)
		errs := make([]error, edgeWorkers)
		id := func(g int) string { return fmt.Sprintf("edge-%d-%d", round, g) }
		together(edgeWorkers, func(g int) {
			refused[g], errs[g] = c.Reserve(ctx, id(g), all, edgeR, time.Minute)
		})
		n := int64(0)
		for g := range edgeWorkers {
			switch {
			case errs[g] != nil:
				fail("round %d: Reserve: %v", round, errs[g])
			case refused[g] == -1:
				n++
			case refused[g] != wantIndex:
				fail("round %d: a refusal named account %d, want %d (the first without room)", round, refused[g], wantIndex)
			}
		}
		if n != want {
			fail("round %d: admitted %d of %d concurrent reservations of %d; want exactly %d (room %d on a, %d on b)",
				round, n, edgeWorkers, edgeR, want, edgeLimitA-spent[0], edgeLimitB-spent[1])
		}
		for i, acct := range all {
			if sp, r := balance(acct); sp != spent[i] || r != n*edgeR {
				fail("round %d: %s mid-round = spent %d, reserved %d; want %d, %d", round, acct.Key, sp, r, spent[i], n*edgeR)
			}
		}

		var sum int64
		for g := range edgeWorkers {
			if refused[g] == -1 && errs[g] == nil {
				sum += actual(round, g)
			}
		}
		together(edgeWorkers, func(g int) {
			var err error
			if refused[g] == -1 && errs[g] == nil {
				err = c.Settle(ctx, id(g), all, actual(round, g))
			} else {
				err = c.Release(ctx, id(g), all) // nothing held: does nothing
			}
			if err != nil {
				errs[g] = err
			}
		})
		for _, err := range errs {
			if err != nil {
				fail("round %d: %v", round, err)
			}
		}
		for i, acct := range all {
			if sp, r := balance(acct); sp != spent[i]+sum || r != 0 {
				fail("round %d: %s after settling = spent %d, reserved %d; want %d, 0", round, acct.Key, sp, r, spent[i]+sum)
			}
		}
		if len(problems) > 0 || n == 0 {
			break
		}
		admittedTotal += int(n)
	}
	if admittedTotal == 0 {
		fail("no reservation was ever admitted")
	}
	for _, acct := range all[:2] {
		if sp, _ := balance(acct); sp > acct.Limit+maxOver {
			fail("%s spent %d, over its limit %d by %d; at most %d allowed", acct.Key, sp, acct.Limit, sp-acct.Limit, maxOver)
		}
	}
	return problems
}

// together runs fn(0..n-1) on n goroutines released at the same moment
// and waits for them.
func together(n int, fn func(g int)) {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for g := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			fn(g)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
}
