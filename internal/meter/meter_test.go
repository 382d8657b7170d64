package meter_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/ledger"
	"github.com/octomesh/octomesh/internal/limit"
	"github.com/octomesh/octomesh/internal/meter"
	"github.com/octomesh/octomesh/internal/sqlite"
)

// rig is a meter over a real SQLite store, the real group-commit ledger
// writer and in-memory counters.
type rig struct {
	m     *meter.Meter
	db    *sqlite.DB
	w     *ledger.Writer
	now   *clock
	count limit.Counters
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newRig(t testing.TB, o meter.Options) *rig {
	t.Helper()
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "m.db"), sqlite.WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, org := range []string{"org_a", "org_b"} {
		if err := db.CreateOrg(ctx, &octomesh.Org{ID: org, Name: org}, &octomesh.User{ID: "usr_" + org, Name: "Owner"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	w, err := ledger.NewWriter(db, ledger.Options{SpoolDir: filepath.Join(t.TempDir(), "spool")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(context.Background()) })
	if o.Counters == nil {
		o.Counters = limit.NewMemory(c.Now, limit.WithClock(c.Now))
	}
	o.Ledger, o.Store, o.Now = w, db, c.Now
	return &rig{m: meter.New(o), db: db, w: w, now: c, count: o.Counters}
}

func (r *rig) budget(t testing.TB, b octomesh.Budget) {
	t.Helper()
	if err := r.db.CreateBudget(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	r.m.BudgetsChanged(b.OrgID)
}

func principal(org, key string) *octomesh.Principal {
	return &octomesh.Principal{OrgID: org, KeyID: key, UserID: "usr_1", Project: "proj_1", Role: octomesh.RoleMember}
}

func usage(id string, cost octomesh.Money, at time.Time) octomesh.LedgerEntry {
	return octomesh.LedgerEntry{Kind: octomesh.EntryUsage, RequestID: id, Attempt: 1, Deployment: "m", Provider: "p",
		PromptTokens: 10, CompletionTokens: 5, Cost: cost, Outcome: "ok", Start: at, End: at}
}

func code(err error) octomesh.ErrorCode { return octomesh.ErrorCodeOf(err) }

func TestRateLimitsAndHeaders(t *testing.T) {
	r := newRig(t, meter.Options{KeyRPM: 3})
	ctx := context.Background()
	p := principal("org_a", "key_1")
	for i := 0; i < 3; i++ {
		a, err := r.m.Admit(ctx, p, 100)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if a.Requests == nil || a.Requests.Limit != 3 || a.Requests.Remaining != int64(2-i) {
			t.Fatalf("request %d: requests state %+v, want limit 3 remaining %d", i, a.Requests, 2-i)
		}
		if a.Tokens != nil {
			t.Fatalf("no token limit is set, but state %+v", a.Tokens)
		}
	}
	a, err := r.m.Admit(ctx, p, 100)
	var oe *octomesh.Error
	if !errors.As(err, &oe) || oe.Code != octomesh.ERATELIMITED || oe.RetryAfter != 20*time.Second {
		t.Fatalf("4th request: %v (retry after %v), want rate_limited after 20s", err, oe)
	}
	if !strings.Contains(oe.Message, "this API key's limit of 3 requests per minute") || a.Requests.Remaining != 0 {
		t.Errorf("message %q, remaining %d", oe.Message, a.Requests.Remaining)
	}
	// Another key of the same org is not limited by key_1's limit.
	if _, err := r.m.Admit(ctx, principal("org_a", "key_2"), 100); err != nil {
		t.Errorf("key_2: %v", err)
	}
	r.now.Add(20 * time.Second)
	if _, err := r.m.Admit(ctx, p, 100); err != nil {
		t.Errorf("after 20s: %v", err)
	}
}

func TestTokenLimitsCorrectedByUsage(t *testing.T) {
	r := newRig(t, meter.Options{OrgTPM: 1000})
	ctx := context.Background()
	p := principal("org_a", "key_1")
	// Admitted with 600 (prompt + max_tokens), but used only 100.
	a, err := r.m.Admit(ctx, p, 600)
	if err != nil || a.Tokens.Remaining != 400 {
		t.Fatalf("admit: %v %+v", err, a.Tokens)
	}
	res, err := r.m.Reserve(ctx, p, a, "req_1", 0)
	if err != nil {
		t.Fatal(err)
	}
	e := usage("req_1", 10, r.now.Now())
	e.PromptTokens, e.CompletionTokens = 60, 40
	if err := res.Settle(ctx, []octomesh.LedgerEntry{e}); err != nil {
		t.Fatal(err)
	}
	// 900 remain: the 500 unused tokens came back.
	a, err = r.m.Admit(ctx, p, 900)
	if err != nil || a.Tokens.Remaining != 0 {
		t.Fatalf("after correction: %v %+v", err, a.Tokens)
	}
	// A request larger than the whole limit waits for a full bucket rather than forever.
	r.now.Add(time.Minute)
	if _, err := r.m.Admit(ctx, p, 5000); err != nil {
		t.Errorf("oversized request with a full bucket: %v", err)
	}
}

func TestBudgetsApplyByScope(t *testing.T) {
	r := newRig(t, meter.Options{})
	ctx := context.Background()
	for _, b := range []octomesh.Budget{
		{ID: "bud_org", OrgID: "org_a", Scope: octomesh.ScopeOrg, Period: octomesh.PeriodMonth, Limit: 100, Hard: true},
		{ID: "bud_key", OrgID: "org_a", Scope: octomesh.ScopeKey, Subject: "key_1", Period: octomesh.PeriodDay, Limit: 50, Hard: true},
		{ID: "bud_user", OrgID: "org_a", Scope: octomesh.ScopeUser, Subject: "usr_2", Period: octomesh.PeriodDay, Limit: 30, Hard: true},
		{ID: "bud_proj", OrgID: "org_a", Scope: octomesh.ScopeProject, Subject: "proj_9", Period: octomesh.PeriodTotal, Limit: 20, Hard: true},
		{ID: "bud_team", OrgID: "org_a", Scope: octomesh.ScopeKey, Subject: "key_team", Period: octomesh.PeriodTotal, Limit: 10, Hard: true, Name: "team"},
		{ID: "bud_other", OrgID: "org_b", Scope: octomesh.ScopeOrg, Period: octomesh.PeriodTotal, Limit: 1, Hard: true},
	} {
		r.budget(t, b)
	}
	for _, tc := range []struct {
		name   string
		p      *octomesh.Principal
		amount octomesh.Money
		want   string // "" admits; else the budget named in the refusal
	}{
		{"org budget", principal("org_a", "key_9"), 101, "bud_org"},
		{"within org budget", principal("org_a", "key_9"), 100, ""},
		{"key budget", principal("org_a", "key_1"), 51, "bud_key"},
		{"user budget", &octomesh.Principal{OrgID: "org_a", KeyID: "key_9", UserID: "usr_2"}, 31, "bud_user"},
		{"project budget", &octomesh.Principal{OrgID: "org_a", KeyID: "key_9", Project: "proj_9"}, 21, "bud_proj"},
		// A key that belongs to a team (lists the team's budget) is held to it too.
		{"budget listed by the key", &octomesh.Principal{OrgID: "org_a", KeyID: "key_9", Scopes: octomesh.KeyScopes{Budgets: []string{"bud_team"}}}, 11, `"team"`},
		{"other org's budget does not apply", principal("org_b", "key_b"), 1, ""},
		{"other org's budget applies to it", principal("org_b", "key_b"), 2, "bud_other"},
	} {
		res, err := r.m.Reserve(ctx, tc.p, nil, "req_"+strings.ReplaceAll(tc.name, " ", "_"), tc.amount)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			res.Release(ctx)
			continue
		}
		if code(err) != octomesh.EBUDGET || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want budget_exceeded naming %s", tc.name, err, tc.want)
		}
	}
}

func TestReserveSettleRelease(t *testing.T) {
	r := newRig(t, meter.Options{})
	ctx := context.Background()
	r.budget(t, octomesh.Budget{ID: "bud", OrgID: "org_a", Scope: octomesh.ScopeOrg, Period: octomesh.PeriodDay, Limit: 1000, Hard: true})
	p := principal("org_a", "key_1")
	r1, err := r.m.Reserve(ctx, p, nil, "req_1", 600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.m.Reserve(ctx, p, nil, "req_2", 401); code(err) != octomesh.EBUDGET {
		t.Fatalf("600 held, 401 more: %v", err)
	}
	// Settling 250 of the 600 frees the rest.
	if err := r1.Settle(ctx, []octomesh.LedgerEntry{usage("req_1", 250, r.now.Now())}); err != nil {
		t.Fatal(err)
	}
	r2, err := r.m.Reserve(ctx, p, nil, "req_2", 750)
	if err != nil {
		t.Fatalf("250 spent, 750 more: %v", err)
	}
	r2.Release(ctx)
	r2.Release(ctx) // a second end is a no-op
	if err := r2.Settle(ctx, []octomesh.LedgerEntry{usage("req_2", 999, r.now.Now())}); err != nil {
		t.Fatal(err)
	}
	spent, err := r.db.SpendSince(ctx, "org_a", octomesh.ScopeOrg, "", time.Time{})
	if err != nil || spent != 250 {
		t.Fatalf("ledger spend = %v %v, want 250 (a settle after release writes nothing)", spent, err)
	}
	// The ledger entry carries the principal's identity.
	es, _ := r.db.Entries(ctx, "org_a", octomesh.EntryFilter{})
	if len(es) != 1 || es[0].KeyID != "key_1" || es[0].UserID != "usr_1" || es[0].Project != "proj_1" || es[0].Cost != 250 {
		t.Fatalf("entries = %+v", es)
	}
	// A new day starts a new window.
	r.now.Add(24 * time.Hour)
	if _, err := r.m.Reserve(ctx, p, nil, "req_3", 1000); err != nil {
		t.Errorf("next day: %v", err)
	}
}

func TestBudgetSeededFromLedger(t *testing.T) {
	r := newRig(t, meter.Options{})
	ctx := context.Background()
	// Spend recorded before this meter started (e.g. by an earlier run).
	if _, err := r.db.AppendEntries(ctx, []octomesh.LedgerEntry{
		func() octomesh.LedgerEntry {
			e := usage("old_1", 700, r.now.Now().Add(-time.Hour))
			e.OrgID = "org_a"
			return e
		}(),
		func() octomesh.LedgerEntry {
			e := usage("old_2", 900, r.now.Now().AddDate(0, 0, -1))
			e.OrgID = "org_a"
			return e
		}(),
	}); err != nil {
		t.Fatal(err)
	}
	r.budget(t, octomesh.Budget{ID: "bud", OrgID: "org_a", Scope: octomesh.ScopeOrg, Period: octomesh.PeriodDay, Limit: 1000, Hard: true})
	p := principal("org_a", "key_1")
	if _, err := r.m.Reserve(ctx, p, nil, "req_1", 301); code(err) != octomesh.EBUDGET {
		t.Fatalf("700 spent today, 301 more: %v", err)
	}
	if _, err := r.m.Reserve(ctx, p, nil, "req_2", 300); err != nil {
		t.Fatalf("700 spent today (yesterday's 900 not counted), 300 more: %v", err)
	}
}

func TestPrepaidCredit(t *testing.T) {
	r := newRig(t, meter.Options{})
	ctx := context.Background()
	p := principal("org_a", "key_1")
	p.Org.Prepaid = true
	if _, err := r.m.Reserve(ctx, p, nil, "req_0", 1); code(err) != octomesh.EBUDGET || !strings.Contains(err.Error(), "insufficient prepaid credit: $0.00 available") {
		t.Fatalf("no credit: %v", err)
	}
	topUp := func(ref string, amount octomesh.Money) {
		t.Helper()
		if _, err := r.db.AppendEntries(ctx, []octomesh.LedgerEntry{{Kind: octomesh.EntryTopUp, OrgID: "org_a", RequestID: ref, Cost: -amount, Start: r.now.Now(), End: r.now.Now()}}); err != nil {
			t.Fatal(err)
		}
		if err := r.m.Credit(ctx, "org_a", amount); err != nil {
			t.Fatal(err)
		}
	}
	topUp("topup_1", 1000)
	res, err := r.m.Reserve(ctx, p, nil, "req_1", 800)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Settle(ctx, []octomesh.LedgerEntry{usage("req_1", 700, r.now.Now())}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.m.Reserve(ctx, p, nil, "req_2", 301); code(err) != octomesh.EBUDGET {
		t.Fatalf("300 left, 301 asked: %v", err)
	}
	topUp("topup_2", 1) // the counter exists now: the top-up adjusts it at once
	if _, err := r.m.Reserve(ctx, p, nil, "req_3", 301); err != nil {
		t.Fatalf("301 left after a top-up, 301 asked: %v", err)
	}
	if bal, _ := r.db.Balance(ctx, "org_a"); bal != 301 {
		t.Errorf("ledger balance = %d, want 301", bal)
	}
}

// TestEdgeOf64Concurrent drives 64 concurrent requests through Reserve
// and Settle at the edge of a hard budget with a real ledger: the ledger's
// spend never exceeds the budget, and requests are refused only when
// spent + held reservations leave no room.
func TestEdgeOf64Concurrent(t *testing.T) {
	r := newRig(t, meter.Options{})
	ctx := context.Background()
	const limitNano, reserve, actual = 10_000, 300, 250
	r.budget(t, octomesh.Budget{ID: "bud", OrgID: "org_a", Scope: octomesh.ScopeOrg, Period: octomesh.PeriodTotal, Limit: limitNano, Hard: true})
	p := principal("org_a", "key_1")
	var admitted, refused atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 64; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				id := fmt.Sprintf("req_%d_%d", g, i)
				res, err := r.m.Reserve(ctx, p, nil, id, reserve)
				if err != nil {
					if code(err) != octomesh.EBUDGET {
						t.Errorf("%s: %v", id, err)
					}
					refused.Add(1)
					continue
				}
				admitted.Add(1)
				if err := res.Settle(ctx, []octomesh.LedgerEntry{usage(id, actual, r.now.Now())}); err != nil {
					t.Errorf("%s settle: %v", id, err)
				}
			}
		}(g)
	}
	wg.Wait()
	spent, err := r.db.SpendSince(ctx, "org_a", octomesh.ScopeOrg, "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if spent > limitNano {
		t.Fatalf("spent %d > limit %d", spent, limitNano)
	}
	if spent != octomesh.Money(admitted.Load()*actual) {
		t.Fatalf("ledger spend %d != %d admitted × %d", spent, admitted.Load(), actual)
	}
	// Never refused while there was room: once everything settled, what is
	// left must be less than one reservation, or a refusal was wrong.
	if left := limitNano - int64(spent); refused.Load() > 0 && left >= reserve {
		t.Fatalf("%d refused but %d of the budget is left (≥ one reservation of %d)", refused.Load(), left, reserve)
	}
	t.Logf("admitted %d, refused %d, spent %d of %d", admitted.Load(), refused.Load(), spent, limitNano)
}

// failing is a counter backend that is down.
type failing struct{ limit.Counters }

func (failing) Reserve(context.Context, string, []limit.Account, int64, time.Duration) (int, error) {
	return 0, errors.New("redis: connection refused")
}
func (failing) Allow(context.Context, []limit.RateCheck) (bool, []limit.RateResult, error) {
	return false, nil, errors.New("redis: connection refused")
}
func (failing) Seed(context.Context, limit.Account, int64) (bool, error) { return true, nil }
func (failing) Release(context.Context, string, []limit.Account) error {
	return errors.New("redis: connection refused")
}

func TestCounterOutage(t *testing.T) {
	r := newRig(t, meter.Options{Counters: failing{}, KeyRPM: 1})
	ctx := context.Background()
	p := principal("org_a", "key_1")
	// Rate limits fail open.
	for i := 0; i < 3; i++ {
		if _, err := r.m.Admit(ctx, p, 10); err != nil {
			t.Fatalf("rate limits must fail open: %v", err)
		}
	}
	// A soft budget does not block.
	r.budget(t, octomesh.Budget{ID: "soft", OrgID: "org_a", Scope: octomesh.ScopeOrg, Period: octomesh.PeriodDay, Limit: 10})
	if _, err := r.m.Reserve(ctx, p, nil, "req_1", 5); err != nil {
		t.Fatalf("soft budget with counters down: %v", err)
	}
	// A hard one fails closed.
	r.budget(t, octomesh.Budget{ID: "hard", OrgID: "org_a", Scope: octomesh.ScopeOrg, Period: octomesh.PeriodDay, Limit: 10, Hard: true})
	if _, err := r.m.Reserve(ctx, p, nil, "req_2", 5); code(err) != octomesh.EUNAVAILABLE {
		t.Fatalf("hard budget with counters down: %v, want unavailable", err)
	}
	if n := r.m.Stats().CounterErrors.Load(); n < 5 {
		t.Errorf("counter errors = %d", n)
	}
}

func TestSoftBudgetAlertsOnce(t *testing.T) {
	r := newRig(t, meter.Options{})
	ctx := context.Background()
	r.budget(t, octomesh.Budget{ID: "soft", OrgID: "org_a", Scope: octomesh.ScopeOrg, Period: octomesh.PeriodDay, Limit: 100, AlertPercent: 50})
	p := principal("org_a", "key_1")
	for i, cost := range []octomesh.Money{40, 9, 1, 30, 100} {
		res, err := r.m.Reserve(ctx, p, nil, fmt.Sprintf("req_%d", i), 200) // soft: never refused
		if err != nil {
			t.Fatalf("soft budget refused: %v", err)
		}
		if err := res.Settle(ctx, []octomesh.LedgerEntry{usage(fmt.Sprintf("req_%d", i), cost, r.now.Now())}); err != nil {
			t.Fatal(err)
		}
		want := int64(0)
		if i >= 2 { // 40+9+1 = 50: the threshold
			want = 1
		}
		if got := r.m.Stats().Alerts.Load(); got != want {
			t.Fatalf("after %d settles: %d alerts, want %d", i+1, got, want)
		}
	}
}

// AdmitInto and ReserveInto decide in the caller's Admission and
// Reservation. AdmitInto starts from nothing, so an Admission reused by
// the next request carries nothing of the previous one: neither its
// limits' state nor the token checks it would correct.
func TestAdmitIntoAndReserveIntoStartAfresh(t *testing.T) {
	r := newRig(t, meter.Options{OrgTPM: 1000})
	ctx := context.Background()
	p := principal("org_a", "key_1")
	var a meter.Admission
	var res meter.Reservation
	if err := r.m.AdmitInto(ctx, &a, p, 600); err != nil || a.Tokens == nil || a.Tokens.Remaining != 400 {
		t.Fatalf("admit: %v %+v", err, a.Tokens)
	}
	if err := r.m.ReserveInto(ctx, &res, p, &a, "req_1", 0); err != nil {
		t.Fatal(err)
	}
	e := usage("req_1", 10, r.now.Now())
	e.PromptTokens, e.CompletionTokens = 60, 40
	if err := res.Settle(ctx, []octomesh.LedgerEntry{e}); err != nil {
		t.Fatal(err)
	}
	// The same Admission for a caller without a principal: no limits,
	// no checks left to correct.
	if err := r.m.AdmitInto(ctx, &a, nil, 600); err != nil || a.Tokens != nil || a.Requests != nil {
		t.Fatalf("admit without a principal: %v %+v %+v", err, a.Tokens, a.Requests)
	}
	var res2 meter.Reservation // a Reservation is never reused (see ReserveInto)
	if err := r.m.ReserveInto(ctx, &res2, nil, &a, "req_2", 0); err != nil {
		t.Fatal(err)
	}
	// Settling corrects nothing: 900 tokens remain (1000 less the 100
	// used by req_1).
	e = usage("req_2", 10, r.now.Now())
	e.PromptTokens, e.CompletionTokens = 500, 0
	if err := res2.Settle(ctx, []octomesh.LedgerEntry{e}); err != nil {
		t.Fatal(err)
	}
	if err := r.m.AdmitInto(ctx, &a, p, 900); err != nil || a.Tokens.Remaining != 0 {
		t.Fatalf("after both: %v %+v, want 900 tokens left to take", err, a.Tokens)
	}
}
