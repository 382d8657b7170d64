package meter_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/limit"
	"github.com/octomesh/octomesh/internal/meter"
)

// TestCreditAcrossNodes: two meters (two nodes) share counters and the
// database. A top-up through node A applies on A at once and on B within
// CreditRefresh, and is counted exactly once however the nodes seed.
func TestCreditAcrossNodes(t *testing.T) {
	a := newRig(t, meter.Options{CreditRefresh: 5 * time.Second})
	b := meter.New(meter.Options{Counters: a.count, Ledger: a.w, Store: a.db, Now: a.now.Now, CreditRefresh: 5 * time.Second})
	ctx := context.Background()
	p := principal("org_a", "key_1")
	p.Org.Prepaid = true
	topUp := func(ref string, amount octomesh.Money, between func()) {
		t.Helper()
		if _, err := a.db.AppendEntries(ctx, []octomesh.LedgerEntry{{Kind: octomesh.EntryTopUp, OrgID: "org_a", RequestID: ref, Cost: -amount, Start: a.now.Now(), End: a.now.Now()}}); err != nil {
			t.Fatal(err)
		}
		between()
		if err := a.m.Credit(ctx, "org_a", amount); err != nil {
			t.Fatal(err)
		}
	}
	// Node B's first request seeds the credit counter between the top-up's
	// ledger write and its Credit call: the top-up must still count once.
	topUp("t1", 500, func() {
		res, err := b.Reserve(ctx, p, nil, "seed_b", 100)
		if err != nil {
			t.Fatal(err)
		}
		res.Release(ctx)
	})
	if _, err := a.m.Reserve(ctx, p, nil, "r0", 501); err == nil {
		t.Fatal("node A admitted 501 against 500 of credit: the top-up was counted twice")
	}
	topUp("t2", 300, func() {}) // 800 credited in all
	if _, err := a.m.Reserve(ctx, p, nil, "ra", 801); err == nil {
		t.Fatal("node A admitted 801 against 800 of credit: the top-up was counted twice")
	}
	res, err := a.m.Reserve(ctx, p, nil, "ra2", 800)
	if err != nil {
		t.Fatalf("node A, 800 of 800: %v", err)
	}
	res.Release(ctx)
	if _, err := b.Reserve(ctx, p, nil, "rb", 501); err == nil {
		t.Fatal("node B used the top-up before its refresh: fine only if it read it, which it did not")
	}
	a.now.Add(5 * time.Second)
	if res, err := b.Reserve(ctx, p, nil, "rb2", 800); err != nil {
		t.Fatalf("node B after the refresh, 800 of 800: %v", err)
	} else {
		res.Release(ctx)
	}
}

// flakySettle fails the first Settle, as a Redis blip would.
type flakySettle struct {
	limit.Counters
	fails atomic.Int64
}

func (f *flakySettle) Settle(ctx context.Context, id string, accts []limit.Account, actual int64) error {
	if f.fails.Add(1) == 1 {
		return errors.New("redis: i/o timeout")
	}
	return f.Counters.Settle(ctx, id, accts, actual)
}

// TestSettleRetried: a Settle that fails is retried, so the budget still
// counts the spend.
func TestSettleRetried(t *testing.T) {
	c := &clock{t: time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)}
	counters := &flakySettle{Counters: limit.NewMemory(c.Now, limit.WithClock(c.Now))}
	r := newRig(t, meter.Options{Counters: counters})
	ctx := context.Background()
	r.budget(t, octomesh.Budget{ID: "bud", OrgID: "org_a", Scope: octomesh.ScopeOrg, Period: octomesh.PeriodTotal, Limit: 1000, Hard: true})
	p := principal("org_a", "key_1")
	res, err := r.m.Reserve(ctx, p, nil, "req_1", 600)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Settle(ctx, []octomesh.LedgerEntry{usage("req_1", 600, r.now.Now())}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		spent, reserved, _ := counters.Balance(ctx, limit.Account{Key: "b:bud", Limit: 1000, Hard: true})
		if spent == 600 && reserved == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a failed settle: spent %d reserved %d, want 600 and 0", spent, reserved)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := r.m.Reserve(ctx, p, nil, "req_2", 401); octomesh.ErrorCodeOf(err) != octomesh.EBUDGET {
		t.Errorf("600 spent, 401 more: %v", err)
	}
}

// TestCounterLostCatchesUp: when the counter backend loses a budget's
// counter (a Redis restart) and a reservation recreates it from zero, the
// next refresh raises it to the ledger's spend, so the budget holds again.
func TestCounterLostCatchesUp(t *testing.T) {
	swap := &swappable{}
	r := newRig(t, meter.Options{Counters: swap, SeedRefresh: time.Minute})
	c := r.now
	swap.Counters = limit.NewMemory(c.Now, limit.WithClock(c.Now))
	ctx := context.Background()
	r.budget(t, octomesh.Budget{ID: "bud", OrgID: "org_a", Scope: octomesh.ScopeOrg, Period: octomesh.PeriodTotal, Limit: 1000, Hard: true})
	p := principal("org_a", "key_1")
	res, err := r.m.Reserve(ctx, p, nil, "req_1", 900)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Settle(ctx, []octomesh.LedgerEntry{usage("req_1", 900, c.Now())}); err != nil {
		t.Fatal(err)
	}
	// The backend restarts empty; the next request recreates the counter at 0.
	swap.Counters = limit.NewMemory(c.Now, limit.WithClock(c.Now))
	res, err = r.m.Reserve(ctx, p, nil, "req_2", 50)
	if err != nil {
		t.Fatal(err)
	}
	res.Release(ctx)
	c.Add(time.Minute) // the refresh raises the counter to the ledger's 900
	if _, err := r.m.Reserve(ctx, p, nil, "req_3", 101); octomesh.ErrorCodeOf(err) != octomesh.EBUDGET {
		t.Fatalf("900 spent per the ledger, 101 more: %v", err)
	}
	if _, err := r.m.Reserve(ctx, p, nil, "req_4", 100); err != nil {
		t.Fatalf("900 spent, 100 more: %v", err)
	}
}

type swappable struct{ limit.Counters }
