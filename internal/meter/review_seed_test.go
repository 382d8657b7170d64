package meter_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/meter"
	"github.com/octomesh/octomesh/internal/sqlite"
)

// flakyStore is the SQLite store with its spend queries failing while down
// is set (the database is unreachable).
type flakyStore struct {
	*sqlite.DB
	down atomic.Bool
}

func (s *flakyStore) SpendSince(ctx context.Context, orgID string, scope octomesh.BudgetScope, subject string, since time.Time) (octomesh.Money, error) {
	if s.down.Load() {
		return 0, errors.New("dial tcp: connection refused")
	}
	return s.DB.SpendSince(ctx, orgID, scope, subject, since)
}

func (s *flakyStore) Balance(ctx context.Context, orgID string) (octomesh.Money, error) {
	if s.down.Load() {
		return 0, errors.New("dial tcp: connection refused")
	}
	return s.DB.Balance(ctx, orgID)
}

// While the database is briefly down, an organisation whose budget and
// credit counters are already seeded keeps being served from the counters:
// the periodic re-seed from the ledger is best effort. It used to refuse
// every request (503) once SeedRefresh had passed.
func TestReviewSeededCountersServeThroughADatabaseOutage(t *testing.T) {
	r := newRig(t, meter.Options{})
	ctx := context.Background()
	st := &flakyStore{DB: r.db}
	m := meter.New(meter.Options{Counters: r.count, Ledger: r.w, Store: st, Now: r.now.Now, SeedRefresh: time.Minute})
	if err := r.db.CreateBudget(ctx, &octomesh.Budget{ID: "bud", OrgID: "org_a", Scope: octomesh.ScopeOrg, Period: octomesh.PeriodTotal, Limit: 1000, Hard: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.db.AppendEntries(ctx, []octomesh.LedgerEntry{{Kind: octomesh.EntryTopUp, OrgID: "org_a", RequestID: "topup_1", Cost: -1000, Start: r.now.Now()}}); err != nil {
		t.Fatal(err)
	}
	p := principal("org_a", "key_1")
	p.Org.Prepaid = true
	res, err := m.Reserve(ctx, p, nil, "req_1", 600)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Settle(ctx, []octomesh.LedgerEntry{usage("req_1", 600, r.now.Now())}); err != nil {
		t.Fatal(err)
	}
	st.down.Store(true)
	r.now.Add(2 * time.Minute) // past SeedRefresh: the meter would re-seed now
	res, err = m.Reserve(ctx, p, nil, "req_2", 300)
	if err != nil {
		t.Fatalf("seeded counters, database down: %v, want admitted", err)
	}
	res.Release(ctx)
	// The counters still hold the budget: 600 spent, so 401 more is refused.
	if _, err := m.Reserve(ctx, p, nil, "req_3", 401); code(err) != octomesh.EBUDGET {
		t.Fatalf("600 of 1000 spent, 401 more: %v, want budget_exceeded", err)
	}
	// A budget never seeded still fails closed while its spend is unknown.
	if err := r.db.CreateBudget(ctx, &octomesh.Budget{ID: "bud_key", OrgID: "org_a", Scope: octomesh.ScopeKey, Subject: "key_2", Period: octomesh.PeriodTotal, Limit: 1000, Hard: true}); err != nil {
		t.Fatal(err)
	}
	if err := m.LoadBudgets(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Reserve(ctx, principal("org_a", "key_2"), nil, "req_4", 1); code(err) != octomesh.EUNAVAILABLE {
		t.Fatalf("unseeded hard budget, database down: %v, want unavailable", err)
	}
}
