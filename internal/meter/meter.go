// Package meter admits, reserves and settles requests: rate limits
// (requests and tokens per minute, per key and per organisation), budget
// reservations (every budget that applies to the caller, plus prepaid
// credit) and the durable usage ledger.
//
// The request path is: Admit (rate limits) → Reserve (the request's maximum
// possible cost on every applicable budget, all or nothing) → the upstream
// call → Settle (ledger entries written durably, then the actual cost
// replaces the reservation). Overspend is bounded by construction: a hard
// budget admits a reservation only while spent + reserved + it ≤ limit, so
// spend exceeds a limit only when a request costs more than it reserved.
//
// Counters (internal/limit) are shared by every node when they live in
// Redis; the ledger (a LedgerStore behind a group-commit Writer) is the
// source of truth, from which budget counters are seeded on first use.
package meter

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/limit"
)

// LedgerWriter writes entries durably; it returns once they are committed
// (or spooled on local disk). internal/ledger.Writer implements it. It
// must not keep entries once it returns (copy what it keeps): callers
// lend the slice for the call.
type LedgerWriter interface {
	Write(ctx context.Context, entries ...octomesh.LedgerEntry) error
}

// Options configure a Meter.
type Options struct {
	Counters limit.Counters
	Ledger   LedgerWriter
	// Store lists budgets and answers the spend queries counters are
	// seeded from.
	Store interface {
		octomesh.BudgetStore
		SpendSince(ctx context.Context, orgID string, scope octomesh.BudgetScope, subject string, since time.Time) (octomesh.Money, error)
		Balance(ctx context.Context, orgID string) (octomesh.Money, error)
	}
	Now    octomesh.Clock
	Logger *slog.Logger
	// KeyRPM and KeyTPM are the limits of keys that set none (0: none).
	KeyRPM, KeyTPM int64
	// OrgRPM and OrgTPM are the limits of organisations that set none.
	OrgRPM, OrgTPM int64
	// ReservationTTL bounds how long a reservation outlives a crashed
	// node; it must exceed the longest request. Default 15 minutes.
	ReservationTTL time.Duration
	// BudgetRefresh is how often budgets are reloaded from the store (a
	// change made through this node's API applies at once). Default 5s.
	BudgetRefresh time.Duration
	// SeedRefresh is how often a budget counter's seeding from the ledger
	// is re-attempted (a no-op while the counter exists; it restores a
	// counter a Redis restart lost). Default 1 minute.
	SeedRefresh time.Duration
	// CreditRefresh is how long a prepaid organisation's sum of top-ups is
	// cached; a top-up through this node applies at once. Default 5s.
	CreditRefresh time.Duration
}

// Meter is safe for concurrent use.
type Meter struct {
	o   Options
	log *slog.Logger
	now octomesh.Clock

	budgets atomic.Pointer[budgetIndex]
	loaded  atomic.Int64 // unix nanos of the last successful budget load
	loadMu  sync.Mutex

	seedMu sync.Mutex
	seeded map[string]time.Time // account key → when it was last seeded

	limitKeys   limitKeys
	accountKeys accountKeys

	alertMu sync.Mutex
	alerted map[string]bool // account keys whose alert was raised this window

	creditMu sync.Mutex
	credits  map[string]credit // by organisation

	stats Stats
}

// Stats count what the meter did, for /metrics.
type Stats struct {
	RateLimited    atomic.Int64 // requests refused by a rate limit
	BudgetRefused  atomic.Int64 // requests refused by a hard budget or credit
	Alerts         atomic.Int64 // budget alerts raised
	CounterErrors  atomic.Int64 // counter backend failures
	LedgerFailures atomic.Int64 // settlements whose ledger write failed
}

// New returns a Meter. Counters, Ledger and Store are required.
func New(o Options) *Meter {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ReservationTTL <= 0 {
		o.ReservationTTL = 15 * time.Minute
	}
	if o.BudgetRefresh <= 0 {
		o.BudgetRefresh = 5 * time.Second
	}
	if o.SeedRefresh <= 0 {
		o.SeedRefresh = time.Minute
	}
	if o.CreditRefresh <= 0 {
		o.CreditRefresh = 5 * time.Second
	}
	m := &Meter{o: o, log: o.Logger, now: o.Now, seeded: map[string]time.Time{}, alerted: map[string]bool{}, credits: map[string]credit{}}
	m.budgets.Store(&budgetIndex{})
	return m
}

// Stats returns the meter's counters.
func (m *Meter) Stats() *Stats { return &m.stats }

// credit is an organisation's sum of top-ups and when it was read.
type credit struct {
	sum octomesh.Money
	at  time.Time
}

// budgetIndex is every budget, by organisation.
type budgetIndex struct {
	byOrg map[string][]*octomesh.Budget
}

// LoadBudgets reloads every budget from the store now.
func (m *Meter) LoadBudgets(ctx context.Context) error {
	m.loadMu.Lock()
	defer m.loadMu.Unlock()
	all, err := m.o.Store.Budgets(ctx, "")
	if err != nil {
		return err
	}
	idx := &budgetIndex{byOrg: map[string][]*octomesh.Budget{}}
	for _, b := range all {
		idx.byOrg[b.OrgID] = append(idx.byOrg[b.OrgID], b)
	}
	m.budgets.Store(idx)
	m.loaded.Store(m.now().UnixNano())
	return nil
}

// BudgetsChanged is called after a budget of orgID changed through the
// API: the next request sees the change.
func (m *Meter) BudgetsChanged(orgID string) {
	if err := m.LoadBudgets(context.Background()); err != nil {
		m.log.Warn("reload budgets", "org_id", orgID, "err", err)
		m.loaded.Store(0) // retry on the next request
	}
}

// Run reloads budgets every BudgetRefresh until ctx is done, so changes
// made on other nodes apply within that interval.
func (m *Meter) Run(ctx context.Context) {
	t := time.NewTicker(m.o.BudgetRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := m.LoadBudgets(ctx); err != nil && ctx.Err() == nil {
				m.log.Warn("reload budgets", "err", err)
			}
		}
	}
}
