package meter

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/limit"
)

// Reservation is one request's hold on its budgets. It ends with exactly
// one Settle or Release; later calls do nothing.
type Reservation struct {
	m       *Meter
	id      string
	p       *octomesh.Principal
	adm     *Admission
	amount  octomesh.Money
	accts   []limit.Account
	budgets []*octomesh.Budget // parallel to accts; nil for prepaid credit
	ended   atomic.Bool
	// detached is the context Settle or Release works in (detach).
	detached detachedCtx
}

// Amount is what the reservation holds.
func (r *Reservation) Amount() octomesh.Money { return r.amount }

// Reserve holds amount, the request's maximum possible cost, on every hard
// and soft budget that applies to p and, for a prepaid organisation, on its
// credit, all or nothing. It returns EBUDGET naming the budget that has no
// room. With hard budgets or credit in play, a counter backend it cannot
// reach refuses the request (EUNAVAILABLE): money limits fail closed.
// requestID must be unique per request (it keys the reservation).
func (m *Meter) Reserve(ctx context.Context, p *octomesh.Principal, adm *Admission, requestID string, amount octomesh.Money) (*Reservation, error) {
	r := new(Reservation)
	if err := m.ReserveInto(ctx, r, p, adm, requestID, amount); err != nil {
		return nil, err
	}
	return r, nil
}

// ReserveInto is Reserve holding the reservation in *r, which the caller
// owns (see AdmitInto) and must not use after an error. *r is
// overwritten; use a new one for each reservation: a Settle whose counter
// update failed goes on retrying with it in the background.
func (m *Meter) ReserveInto(ctx context.Context, r *Reservation, p *octomesh.Principal, adm *Admission, requestID string, amount octomesh.Money) error {
	*r = Reservation{m: m, id: requestID, p: p, adm: adm, amount: amount}
	if p == nil {
		return nil
	}
	m.maybeLoadBudgets(ctx)
	now := m.now()
	hard := false
	for _, b := range m.budgets.Load().byOrg[p.OrgID] {
		if !b.Applies(p) {
			continue
		}
		start, end := b.Period.Window(now)
		key := m.accountKeys.budget(b.ID, start)
		var ttl time.Duration
		if !start.IsZero() {
			ttl = end.Sub(now) + 48*time.Hour
		}
		acct := limit.Account{Key: key, Limit: int64(b.Limit), Hard: b.Hard, TTL: ttl}
		if err := m.seed(ctx, acct, func(ctx context.Context) (octomesh.Money, error) {
			return m.o.Store.SpendSince(ctx, b.OrgID, b.Scope, b.Subject, start)
		}); err != nil {
			if b.Hard {
				return m.unavailable(err)
			}
			continue // a soft budget never blocks; it is counted once it can be seeded
		}
		hard = hard || b.Hard
		r.add(acct, b)
	}
	if p.Org.Prepaid {
		// Credit is an account whose limit is every top-up so far and whose
		// spent is all usage: top-ups change only the limit (read from the
		// ledger), so one can never be counted twice, whoever seeds when.
		credited, err := m.credited(ctx, p.OrgID)
		if err != nil {
			return m.unavailable(err)
		}
		acct := limit.Account{Key: m.accountKeys.credit(p.OrgID), Limit: int64(credited), Hard: true}
		if err := m.seed(ctx, acct, func(ctx context.Context) (octomesh.Money, error) {
			return m.o.Store.SpendSince(ctx, p.OrgID, octomesh.ScopeOrg, "", time.Time{})
		}); err != nil {
			return m.unavailable(err)
		}
		hard = true
		r.add(acct, nil)
	}
	if len(r.accts) == 0 {
		return nil
	}
	refused, err := m.o.Counters.Reserve(ctx, r.id, r.accts, int64(amount), m.o.ReservationTTL)
	if err != nil {
		m.stats.CounterErrors.Add(1)
		// The outcome is unknown: the reservation may be held. Release it
		// (best effort) rather than let it hold budget until its TTL.
		if rerr := m.o.Counters.Release(context.WithoutCancel(ctx), r.id, r.accts); rerr != nil {
			m.stats.CounterErrors.Add(1)
		}
		if hard {
			return m.unavailable(err)
		}
		m.log.Warn("budget reservation failed; soft budgets only, admitting", "key_id", p.KeyID, "err", err)
		r.accts, r.budgets = nil, nil
		return nil
	}
	if refused >= 0 {
		m.stats.BudgetRefused.Add(1)
		return m.refusal(ctx, r, refused)
	}
	return nil
}

// accounts is room for the accounts of two budgets (or a budget and
// credit) and their budgets, in one allocation.
type accounts struct {
	accts   [2]limit.Account
	budgets [2]*octomesh.Budget
}

// add appends an account and its budget (nil for credit).
func (r *Reservation) add(acct limit.Account, b *octomesh.Budget) {
	if r.accts == nil {
		room := new(accounts)
		r.accts, r.budgets = room.accts[:0:len(room.accts)], room.budgets[:0:len(room.budgets)]
	}
	r.accts = append(r.accts, acct)
	r.budgets = append(r.budgets, b)
}

// refusal explains which budget had no room.
func (m *Meter) refusal(ctx context.Context, r *Reservation, i int) error {
	b := r.budgets[i]
	if b == nil {
		spent, reserved, _ := m.o.Counters.Balance(ctx, r.accts[i])
		avail := octomesh.Money(r.accts[i].Limit - spent - reserved)
		if avail < 0 {
			avail = 0
		}
		return octomesh.Errorf(octomesh.EBUDGET, "insufficient prepaid credit: $%s available, and this request may cost up to $%s; top up to continue", avail, r.amount)
	}
	name := b.ID
	if b.Name != "" {
		name = b.Name
	}
	per := map[octomesh.BudgetPeriod]string{octomesh.PeriodDay: " per day", octomesh.PeriodMonth: " per month", octomesh.PeriodTotal: " in total"}[b.Period]
	return octomesh.Errorf(octomesh.EBUDGET, "budget %q ($%s%s) would be exceeded: this request may cost up to $%s", name, b.Limit, per, r.amount)
}

func (m *Meter) unavailable(err error) error {
	return octomesh.Errorf(octomesh.EUNAVAILABLE, "budgets cannot be checked right now; try again shortly").WithCause(err)
}

// seed makes sure acct's counter starts from the ledger's spend. It asks
// the ledger at most once per SeedRefresh per account; Seed itself is a
// no-op while the counter exists. It fails only for an account never
// seeded whose spend cannot be read.
func (m *Meter) seed(ctx context.Context, acct limit.Account, spend func(context.Context) (octomesh.Money, error)) error {
	now := m.now()
	m.seedMu.Lock()
	at, ok := m.seeded[acct.Key]
	m.seedMu.Unlock()
	if ok && now.Sub(at) < m.o.SeedRefresh {
		return nil
	}
	v, err := spend(ctx)
	if err != nil {
		if ok {
			// Seeded before: the counter holds the spend, and the refresh
			// is best effort, so a database outage does not refuse requests
			// (nor is the database asked again before the next refresh).
			m.seedMu.Lock()
			m.seeded[acct.Key] = now
			m.seedMu.Unlock()
			return nil
		}
		return err
	}
	seeded, err := m.o.Counters.Seed(ctx, acct, int64(v))
	if err != nil {
		m.stats.CounterErrors.Add(1)
		return err
	}
	if !seeded && ok {
		m.catchUp(ctx, acct, int64(v))
	}
	m.seedMu.Lock()
	if len(m.seeded) > 1_000_000 {
		clear(m.seeded) // bound memory; reseeding is cheap and idempotent
	}
	m.seeded[acct.Key] = now
	m.seedMu.Unlock()
	return nil
}

// catchUp raises a counter that is behind the ledger's spend, which
// happens when the counter backend lost it (a Redis restart) and a
// reservation recreated it from zero before this refresh. The ledger is
// written before the counter is settled, so a request settling right now
// may be counted twice: an error on the safe side, bounded by what is in
// flight, and only when the counter was already behind.
func (m *Meter) catchUp(ctx context.Context, acct limit.Account, ledgerSpend int64) {
	spent, _, err := m.o.Counters.Balance(ctx, acct)
	if err != nil || spent >= ledgerSpend {
		return
	}
	if err := m.o.Counters.Adjust(ctx, acct, ledgerSpend-spent); err != nil {
		m.stats.CounterErrors.Add(1)
		return
	}
	m.log.Warn("a budget counter was behind the ledger (was the counter backend restarted?); raised it",
		"account", acct.Key, "counter", spent, "ledger", ledgerSpend)
}

// maybeLoadBudgets loads budgets if they never loaded or are stale (the
// background Run keeps them fresh; this covers a meter without one).
func (m *Meter) maybeLoadBudgets(ctx context.Context) {
	last := m.loaded.Load()
	if last != 0 && m.now().UnixNano()-last < int64(2*m.o.BudgetRefresh) {
		return
	}
	// One request reloads while the others use what is loaded; a failure
	// waits a refresh interval before the next try, so a database outage
	// does not stall every request on it.
	if !m.loadMu.TryLock() {
		return
	}
	m.loadMu.Unlock()
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := m.LoadBudgets(lctx); err != nil {
		m.log.Warn("load budgets", "err", err)
		m.loaded.Store(m.now().UnixNano())
	}
}

// Settle records the request's ledger entries durably and replaces the
// reservation by their total cost. Identity fields (org, key, user,
// project) are filled from the principal. It returns an error only when
// the entries could not be made durable; the caller must then not present
// the answer as complete.
func (r *Reservation) Settle(ctx context.Context, entries []octomesh.LedgerEntry) error {
	if r == nil || !r.ended.CompareAndSwap(false, true) {
		return nil
	}
	m := r.m
	// The client going away must not abort the ledger write.
	ctx = r.detach(ctx)
	var total octomesh.Money
	var tokens int64
	for i := range entries {
		e := &entries[i]
		if r.p != nil {
			e.OrgID, e.KeyID, e.UserID, e.Project = r.p.OrgID, r.p.KeyID, r.p.UserID, r.p.Project
		}
		total += e.Cost
		tokens += e.PromptTokens + e.CompletionTokens
	}
	var werr error
	if len(entries) > 0 && r.p != nil {
		if werr = m.o.Ledger.Write(ctx, entries...); werr != nil {
			m.stats.LedgerFailures.Add(1)
			m.log.Error("ledger write failed", "request_id", entries[0].RequestID, "err", werr)
		}
	}
	if len(r.accts) > 0 {
		if err := m.o.Counters.Settle(ctx, r.id, r.accts, int64(total)); err != nil {
			m.stats.CounterErrors.Add(1)
			m.log.Warn("budget settle failed; retrying in the background", "err", err)
			go m.retrySettle(r, int64(total))
		} else {
			m.checkAlerts(ctx, r)
		}
	}
	m.correctTokens(ctx, r.adm, tokens)
	if werr != nil {
		return octomesh.Errorf(octomesh.EUNAVAILABLE, "the request's usage could not be recorded; it was not completed").WithCause(werr)
	}
	return nil
}

// retrySettle retries a failed Settle (which is idempotent per
// reservation) with backoff until it succeeds or the reservation's TTL has
// passed, so a counter backend blip does not lose spend from the budgets.
func (m *Meter) retrySettle(r *Reservation, actual int64) {
	deadline := time.Now().Add(m.o.ReservationTTL)
	wait := 100 * time.Millisecond
	for time.Now().Before(deadline) {
		time.Sleep(wait)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := m.o.Counters.Settle(ctx, r.id, r.accts, actual)
		cancel()
		if err == nil {
			return
		}
		m.stats.CounterErrors.Add(1)
		wait = min(2*wait, 10*time.Second)
	}
	m.log.Error("budget settle abandoned: this request's spend is missing from its budgets' counters until they are reseeded", "request_id", r.id)
}

// Release ends the reservation without spending (nothing was sent
// upstream, or the request was refused before it was).
func (r *Reservation) Release(ctx context.Context) {
	if r == nil || !r.ended.CompareAndSwap(false, true) {
		return
	}
	ctx = r.detach(ctx)
	if len(r.accts) > 0 {
		if err := r.m.o.Counters.Release(ctx, r.id, r.accts); err != nil {
			r.m.stats.CounterErrors.Add(1)
		}
	}
	r.m.correctTokens(ctx, r.adm, 0)
}

// checkAlerts raises each budget's alert once per window when its spend
// crosses its alert threshold (a log line at warn and a metric).
func (m *Meter) checkAlerts(ctx context.Context, r *Reservation) {
	for i, b := range r.budgets {
		if b == nil {
			continue
		}
		pct := b.AlertPercent
		if pct == 0 {
			pct = 80
		}
		acct := r.accts[i]
		m.alertMu.Lock()
		done := m.alerted[acct.Key]
		m.alertMu.Unlock()
		if done {
			continue
		}
		spent, _, err := m.o.Counters.Balance(ctx, acct)
		if err != nil || spent*100 < int64(b.Limit)*int64(pct) {
			continue
		}
		m.alertMu.Lock()
		first := !m.alerted[acct.Key]
		if len(m.alerted) > 100_000 {
			clear(m.alerted)
		}
		m.alerted[acct.Key] = true
		m.alertMu.Unlock()
		if first {
			m.stats.Alerts.Add(1)
			m.log.Warn("budget alert", "budget_id", b.ID, "org_id", b.OrgID, "spent_usd", octomesh.Money(spent).String(),
				"limit_usd", b.Limit.String(), "alert_percent", pct, "hard", b.Hard)
		}
	}
}

// Credit is told of a top-up the caller has written to the ledger: this
// node sees it at once, every other node within CreditRefresh.
func (m *Meter) Credit(ctx context.Context, orgID string, amount octomesh.Money) error {
	m.creditMu.Lock()
	delete(m.credits, orgID)
	m.creditMu.Unlock()
	_, err := m.credited(ctx, orgID)
	return err
}

// credited returns the sum of an organisation's top-ups, from the ledger,
// cached for CreditRefresh. While the database cannot be read, the last
// known sum stands.
func (m *Meter) credited(ctx context.Context, orgID string) (octomesh.Money, error) {
	now := m.now()
	m.creditMu.Lock()
	c, ok := m.credits[orgID]
	m.creditMu.Unlock()
	if ok && now.Sub(c.at) < m.o.CreditRefresh {
		return c.sum, nil
	}
	bal, err := m.o.Store.Balance(ctx, orgID)
	var spend octomesh.Money
	if err == nil {
		spend, err = m.o.Store.SpendSince(ctx, orgID, octomesh.ScopeOrg, "", time.Time{})
	}
	if err != nil {
		if ok {
			m.creditMu.Lock()
			m.credits[orgID] = credit{c.sum, now}
			m.creditMu.Unlock()
			return c.sum, nil
		}
		return 0, err
	}
	// balance = top-ups − spend, so top-ups = balance + spend.
	sum := bal + spend
	m.creditMu.Lock()
	if len(m.credits) > 100_000 {
		clear(m.credits)
	}
	m.credits[orgID] = credit{sum, now}
	m.creditMu.Unlock()
	return sum, nil
}
