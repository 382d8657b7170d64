package limittest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh/internal/limit"
)

// nonAtomic is a deliberately broken Counters: Reserve checks the room with
// Balance and then reserves in a separate step. The suite must catch it.
type nonAtomic struct{ limit.Counters }

func (n nonAtomic) Reserve(ctx context.Context, id string, accts []limit.Account, amount int64, ttl time.Duration) (int, error) {
	for i, a := range accts {
		if !a.Hard {
			continue
		}
		s, r, err := n.Balance(ctx, a)
		if err != nil {
			return -1, err
		}
		if s+r+amount > a.Limit {
			return i, nil
		}
	}
	time.Sleep(time.Millisecond) // the window another request slips through
	soft := make([]limit.Account, len(accts))
	for i, a := range accts {
		a.Hard = false
		soft[i] = a
	}
	return n.Counters.Reserve(ctx, id, soft, amount, ttl)
}

func TestEdgeCatchesNonAtomicReserve(t *testing.T) {
	clk := NewClock(Start)
	problems := runEdge(t.Context(), nonAtomic{limit.NewMemory(clk.Now)}, false)
	if !hasProblem(problems, "admitted") {
		t.Errorf("the edge test passed a non-atomic Reserve; problems: %q", problems)
	}
	// The same test passes the real thing.
	if problems := runEdge(t.Context(), limit.NewMemory(NewClock(Start).Now), false); len(problems) > 0 {
		t.Errorf("Memory: %q", problems)
	}
}

func TestPropertyCatchesNonAtomicReserve(t *testing.T) {
	c := nonAtomic{limit.NewMemory(NewClock(Start).Now)}
	var problems []string
	for seed := range uint64(10) {
		problems = append(problems, runProperty(t.Context(), c, seed)...)
	}
	if !hasProblem(problems, "over the hard limit") {
		t.Errorf("the property test passed a non-atomic Reserve; problems: %q", problems)
	}
}

func hasProblem(problems []string, word string) bool {
	for _, p := range problems {
		if strings.Contains(p, word) {
			return true
		}
	}
	return false
}

// TestCheckerBounds checks the history checker on histories written by
// hand: it must flag what cannot be linearised and accept what can.
func TestCheckerBounds(t *testing.T) {
	acct := limit.Account{Key: "a", Limit: 100, Hard: true}
	res := func(id string, amount int64, refused int, start, end int64) propOp {
		return propOp{kind: opReserve, id: id, accts: []int{0}, amount: amount, refused: refused, start: start, end: end}
	}
	settleOp := func(id string, actual, start, end int64) propOp {
		return propOp{kind: opSettle, id: id, accts: []int{0}, amount: actual, start: start, end: end}
	}
	balance := func(spent, reserved, start, end int64) propOp {
		return propOp{kind: opBalance, accts: []int{0}, spent: spent, res: reserved, start: start, end: end}
	}
	tests := []struct {
		name string
		ops  []propOp
		want string // a word of the expected problem; "" for none
	}{
		{"admitted without room", []propOp{res("x", 60, -1, 1, 2), res("y", 60, -1, 3, 4)}, "passed"},
		{"overlapping admissions without room", []propOp{res("x", 60, -1, 1, 4), res("y", 60, -1, 2, 3)}, "surely"},
		{"overlapping admissions ended in time", []propOp{res("x", 60, -1, 1, 4), res("y", 60, -1, 2, 3), settleOp("y", 10, 3, 5)}, ""},
		{"refused with room", []propOp{res("x", 60, -1, 1, 2), settleOp("x", 10, 3, 4), res("y", 80, 0, 5, 6)}, "refused"},
		{"refusal racing a settle is fine", []propOp{res("x", 60, -1, 1, 2), settleOp("x", 10, 3, 6), res("y", 80, 0, 4, 5)}, ""},
		{"refusal racing a reserve is fine", []propOp{res("x", 60, -1, 1, 4), res("y", 60, 0, 2, 3)}, ""},
		{"balance in range", []propOp{res("x", 60, -1, 1, 2), settleOp("x", 10, 3, 6), balance(0, 60, 4, 5)}, ""},
		{"balance out of range", []propOp{res("x", 60, -1, 1, 2), settleOp("x", 10, 3, 4), balance(0, 60, 5, 6)}, "outside"},
		{"balance over the limit", []propOp{balance(101, 0, 1, 2)}, "over the hard limit"},
		{"bad refusal index", []propOp{res("x", 60, 1, 1, 2)}, "returned refused=1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &history{accts: []limit.Account{acct}, base: []int64{0}, ops: tc.ops}
			if tc.name == "balance over the limit" {
				h.base[0] = 101 // so that the balance is consistent, only over the limit
			}
			problems := h.check()
			switch {
			case tc.want == "" && len(problems) > 0:
				t.Errorf("problems %q, want none", problems)
			case tc.want != "" && !hasProblem(problems, tc.want):
				t.Errorf("problems %q, want one saying %q", problems, tc.want)
			}
		})
	}
}
