package limit

import (
	"context"
	"math"
	"time"
)

// account is one budget counter in Memory.
type account struct {
	spent, reserved int64
	expires         int64 // unix ns at which the account is dropped; 0: never

	// ids holds, per reservation id, its live reservation and whether it
	// was settled: one map, so a Settle is one lookup and one store.
	ids      map[string]idState
	holdsDue int64 // ≤ every live reservation's lapse time (0: none): when to purge
	tombsDue int64 // ≤ every settled id's forget time (0: none), or later by up to lag
}

// idState is what an account knows of one reservation id.
type idState struct {
	amount  int64 // reserved, while lapses != 0
	lapses  int64 // when the live reservation lapses; 0: none
	forgets int64 // when the settled id is forgotten; 0: not settled
}

func (a *account) expired(now int64) bool { return a.expires != 0 && a.expires <= now }

// purge drops lapsed reservations and forgotten settled ids. It scans only
// once the earliest of them is due, and then recomputes when that is.
// Reservations mostly end early (settled), so the earliest live one is far
// off: a scan about once per ttl. Settled ids all live their full time, so
// the earliest is always about to lapse: they are scanned at most every
// lag, and may stay up to lag longer than needed (lookups compare times, so
// that costs only memory).
func (a *account) purge(now, lag int64) {
	if (a.holdsDue == 0 || a.holdsDue > now) && (a.tombsDue == 0 || a.tombsDue > now) {
		return
	}
	a.holdsDue, a.tombsDue = 0, 0
	for id, st := range a.ids {
		if st.lapses != 0 && st.lapses <= now {
			a.reserved -= st.amount
			st.amount, st.lapses = 0, 0
		}
		if st.forgets != 0 && st.forgets <= now {
			st.forgets = 0
		}
		switch {
		case st.lapses == 0 && st.forgets == 0:
			delete(a.ids, id)
			continue
		case st.lapses != 0 && (a.holdsDue == 0 || st.lapses < a.holdsDue):
			a.holdsDue = st.lapses
		}
		if st.forgets != 0 && (a.tombsDue == 0 || st.forgets < a.tombsDue) {
			a.tombsDue = st.forgets
		}
		a.ids[id] = st
	}
	if a.tombsDue != 0 {
		a.tombsDue = max(a.tombsDue, now+lag)
	}
}

// touch records a change at now: the account lives ttl from now (0:
// forever), and at least until keep, so that its reservations and settled
// ids never outlive it.
func (a *account) touch(ttl time.Duration, now, keep int64) {
	if ttl == 0 {
		a.expires = 0
		return
	}
	a.expires = max(a.expires, now+int64(ttl), keep)
}

// reservedBy returns what id holds on the account.
func (a *account) reservedBy(id string) int64 { return a.ids[id].amount }

// getAccount returns the live account key in sh after purging it, creating
// it if create is set; otherwise nil when there is none. The caller holds
// sh.mu.
func (sh *memShard) getAccount(key string, now int64, create bool) *account {
	a := sh.accounts[key]
	if a != nil && a.expired(now) {
		delete(sh.accounts, key)
		a = nil
	}
	if a == nil {
		if create {
			a = &account{}
			sh.accounts[key] = a
		}
		return a
	}
	a.purge(now, sh.lag)
	return a
}

// exceeds reports whether spent + reserved + amount > limit, without
// overflowing.
func exceeds(spent, reserved, amount, limit int64) bool {
	used := satAdd(spent, reserved)
	return satAdd(used, amount) > limit
}

func satAdd(a, b int64) int64 {
	s := a + b
	if (s > a) != (b > 0) { // overflowed
		if b > 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return s
}

// acctShards returns the shard mask of accts.
func (m *Memory) acctShards(accts []Account) uint64 {
	var mask uint64
	for i := range accts {
		mask |= 1 << m.shardOf(accts[i].Key)
	}
	return mask
}

func (m *Memory) shard(key string) *memShard { return &m.shards[m.shardOf(key)] }

// Reserve implements Counters. It returns EINVALID for invalid arguments and
// no other error.
func (m *Memory) Reserve(_ context.Context, id string, accts []Account, amount int64, ttl time.Duration) (int, error) {
	if err := validateReserve(id, accts, amount, ttl); err != nil {
		return -1, err
	}
	mask := m.acctShards(accts)
	now := m.lock(mask)
	defer m.unlock(mask)

	for i := range accts {
		if !accts[i].Hard {
			continue
		}
		a := m.shard(accts[i].Key).getAccount(accts[i].Key, now, false)
		if a == nil {
			if exceeds(0, 0, amount, accts[i].Limit) {
				return i, nil
			}
			continue
		}
		if exceeds(a.spent, a.reserved-a.reservedBy(id), amount, accts[i].Limit) {
			return i, nil
		}
	}
	lapses := now + int64(ttl)
	for i := range accts {
		a := m.shard(accts[i].Key).getAccount(accts[i].Key, now, true)
		if a.ids == nil {
			a.ids = make(map[string]idState)
		}
		st := a.ids[id]
		a.reserved += amount - st.amount
		st.amount, st.lapses = amount, lapses
		a.ids[id] = st
		if a.holdsDue == 0 || lapses < a.holdsDue {
			a.holdsDue = lapses
		}
		a.touch(accts[i].TTL, now, lapses)
	}
	return -1, nil
}

// Settle implements Counters. It returns EINVALID for invalid arguments and
// no other error.
func (m *Memory) Settle(_ context.Context, id string, accts []Account, actual int64) error {
	if err := validateSettle(id, accts, actual); err != nil {
		return err
	}
	mask := m.acctShards(accts)
	now := m.lock(mask)
	defer m.unlock(mask)

	forgets := now + m.settledTTL
	for i := range accts {
		a := m.shard(accts[i].Key).getAccount(accts[i].Key, now, true)
		if a.ids == nil {
			a.ids = make(map[string]idState)
		}
		st := a.ids[id]
		if st.forgets > now {
			continue // settled already
		}
		a.reserved -= st.amount
		a.spent = satAdd(a.spent, actual)
		a.ids[id] = idState{forgets: forgets}
		if a.tombsDue == 0 || forgets < a.tombsDue {
			a.tombsDue = forgets
		}
		a.touch(accts[i].TTL, now, forgets)
	}
	return nil
}

// Release implements Counters. It returns EINVALID for invalid arguments and
// no other error.
func (m *Memory) Release(_ context.Context, id string, accts []Account) error {
	if err := validateID(id); err != nil {
		return err
	}
	if err := validateAccounts(accts); err != nil {
		return err
	}
	mask := m.acctShards(accts)
	now := m.lock(mask)
	defer m.unlock(mask)
	for i := range accts {
		a := m.shard(accts[i].Key).getAccount(accts[i].Key, now, false)
		if a == nil {
			continue
		}
		st, ok := a.ids[id]
		if !ok || st.lapses == 0 {
			continue
		}
		a.reserved -= st.amount
		if st.forgets == 0 {
			delete(a.ids, id)
		} else {
			a.ids[id] = idState{forgets: st.forgets}
		}
		a.touch(accts[i].TTL, now, 0)
	}
	return nil
}

// Adjust implements Counters. It returns EINVALID for invalid arguments and
// no other error.
func (m *Memory) Adjust(_ context.Context, acct Account, delta int64) error {
	if err := validateAccount(&acct); err != nil {
		return err
	}
	if !inRange(delta) {
		return invalid("delta out of range")
	}
	sh := m.shard(acct.Key)
	now := m.lock(1 << m.shardOf(acct.Key))
	defer sh.mu.Unlock()
	a := sh.getAccount(acct.Key, now, true)
	a.spent = satAdd(a.spent, delta)
	a.touch(acct.TTL, now, 0)
	return nil
}

// Seed implements Counters. It returns EINVALID for invalid arguments and no
// other error.
func (m *Memory) Seed(_ context.Context, acct Account, spent int64) (bool, error) {
	if err := validateAccount(&acct); err != nil {
		return false, err
	}
	if !inRange(spent) {
		return false, invalid("spent out of range")
	}
	sh := m.shard(acct.Key)
	now := m.lock(1 << m.shardOf(acct.Key))
	defer sh.mu.Unlock()
	if sh.getAccount(acct.Key, now, false) != nil {
		return false, nil
	}
	a := sh.getAccount(acct.Key, now, true)
	a.spent = spent
	a.touch(acct.TTL, now, 0)
	return true, nil
}

// Balance implements Counters. It returns EINVALID for an invalid account
// and no other error.
func (m *Memory) Balance(_ context.Context, acct Account) (spent, reserved int64, err error) {
	if err := validateAccount(&acct); err != nil {
		return 0, 0, err
	}
	sh := m.shard(acct.Key)
	now := m.lock(1 << m.shardOf(acct.Key))
	defer sh.mu.Unlock()
	if a := sh.getAccount(acct.Key, now, false); a != nil {
		return a.spent, a.reserved, nil
	}
	return 0, 0, nil
}
