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

	holds    map[string]hold // live reservations by id: the requests in flight
	holdsDue int64           // ≤ every live reservation's lapse time (0: none): when to purge
}

type hold struct{ amount, lapses int64 }

func (a *account) expired(now int64) bool { return a.expires != 0 && a.expires <= now }

// purge drops lapsed reservations. It scans only once the earliest is due,
// then recomputes when that is; reservations mostly end early (settled), so
// the earliest live one is far off: a scan about once per ttl, of the
// requests in flight.
func (a *account) purge(now int64) {
	if a.holdsDue == 0 || a.holdsDue > now {
		return
	}
	a.holdsDue = 0
	for id, h := range a.holds {
		if h.lapses <= now {
			a.reserved -= h.amount
			delete(a.holds, id)
		} else if a.holdsDue == 0 || h.lapses < a.holdsDue {
			a.holdsDue = h.lapses
		}
	}
}

// Settled ids are kept per id, in the shard of the id, not per account: a
// Settle then writes one entry, not one per account. (Redis keeps a mark on
// each account and counts an id settled if any account of the call has it:
// the same, except for a repeat Settle naming none of the accounts the first
// named, which spends there and not here. The interface leaves that open.)
//
// They live in two generations of at least the settled TTL each: new ids go
// to settled; when a generation ends, settled becomes settledOld and the old
// settledOld, all forgotten by then, is cleared whole. Lookups compare
// times, so an id counts as settled for exactly the settled TTL, and is kept
// at most twice that. (Deleting ids one by one would fill the map with
// tombstones that slow every lookup; clearing a whole map leaves none.)

// isSettled reports whether id is settled and not yet forgotten. The caller
// holds sh.mu.
func (sh *memShard) isSettled(id string, now int64) bool {
	if f, ok := sh.settled[id]; ok && f > now {
		return true
	}
	f, ok := sh.settledOld[id]
	return ok && f > now
}

// markSettled records id as settled until forgets. The caller holds sh.mu.
func (sh *memShard) markSettled(id string, now, forgets int64) {
	sh.rotate(now)
	if sh.settled == nil {
		sh.settled = make(map[string]int64)
		sh.settledOld = make(map[string]int64)
	}
	sh.settled[id] = forgets
	if sh.genEnds == 0 {
		sh.genEnds = now + sh.settledTTL
	}
}

// rotate ends the current generation of settled ids if it is due.
func (sh *memShard) rotate(now int64) {
	if sh.genEnds == 0 || sh.genEnds > now {
		return
	}
	if now >= sh.genEnds+sh.settledTTL {
		// Idle for a whole generation: all forgotten. Let the maps go, so
		// a past peak does not keep their memory.
		sh.settled, sh.settledOld, sh.genEnds = nil, nil, 0
		return
	}
	clear(sh.settledOld)
	sh.settled, sh.settledOld = sh.settledOld, sh.settled
	sh.genEnds = 0
	if len(sh.settledOld) > 0 {
		sh.genEnds = now + sh.settledTTL
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
	a.purge(now)
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
		// Only when the account looks full does it matter whether id
		// already holds some of it (a repeated Reserve): look it up then.
		if exceeds(a.spent, a.reserved, amount, accts[i].Limit) &&
			exceeds(a.spent, a.reserved-a.holds[id].amount, amount, accts[i].Limit) {
			return i, nil
		}
	}
	lapses := now + int64(ttl)
	for i := range accts {
		a := m.shard(accts[i].Key).getAccount(accts[i].Key, now, true)
		if a.holds == nil {
			a.holds = make(map[string]hold)
		}
		a.reserved += amount - a.holds[id].amount
		a.holds[id] = hold{amount: amount, lapses: lapses}
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
	ids := m.shard(id)
	mask := m.acctShards(accts) | 1<<m.shardOf(id)
	now := m.lock(mask)
	defer m.unlock(mask)

	forgets := now + m.settledTTL
	checked, settled, spent := false, false, false
	for i := range accts {
		a := m.shard(accts[i].Key).getAccount(accts[i].Key, now, true)
		// A live reservation proves the id is not settled since it was
		// reserved: only without one is the (large) settled map looked at.
		if h, ok := a.holds[id]; ok {
			a.reserved -= h.amount
			delete(a.holds, id)
		} else {
			if !checked {
				checked, settled = true, ids.isSettled(id, now)
			}
			if settled {
				continue
			}
		}
		a.spent = satAdd(a.spent, actual)
		a.touch(accts[i].TTL, now, forgets)
		spent = true
	}
	if spent {
		ids.markSettled(id, now, forgets)
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
		if h, ok := a.holds[id]; ok {
			a.reserved -= h.amount
			delete(a.holds, id)
			a.touch(accts[i].TTL, now, 0)
		}
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
