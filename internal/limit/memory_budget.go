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

	holds    map[string]hold  // reservation id → hold
	holdsDue int64            // ≤ the earliest hold expiry (0: no holds): when to purge
	settled  map[string]int64 // settled id → when it is forgotten
	settDue  int64            // like holdsDue, for settled
}

type hold struct{ amount, expires int64 }

func (a *account) expired(now int64) bool { return a.expires != 0 && a.expires <= now }

// purge drops expired holds and settled ids. It scans only once the earliest
// expiry has passed, and then recomputes it: an O(n) scan about once per ttl.
func (a *account) purge(now int64) {
	if a.holdsDue != 0 && a.holdsDue <= now {
		a.holdsDue = 0
		for id, h := range a.holds {
			if h.expires <= now {
				a.reserved -= h.amount
				delete(a.holds, id)
			} else if a.holdsDue == 0 || h.expires < a.holdsDue {
				a.holdsDue = h.expires
			}
		}
	}
	if a.settDue != 0 && a.settDue <= now {
		a.settDue = 0
		for id, exp := range a.settled {
			if exp <= now {
				delete(a.settled, id)
			} else if a.settDue == 0 || exp < a.settDue {
				a.settDue = exp
			}
		}
	}
}

// touch records a change at now: the account lives ttl from now (0:
// forever), and at least until keep, so that its holds and settled ids
// never outlive it.
func (a *account) touch(ttl time.Duration, now, keep int64) {
	if ttl == 0 {
		a.expires = 0
		return
	}
	a.expires = max(a.expires, now+int64(ttl), keep)
}

func (a *account) drop(id string) {
	if h, ok := a.holds[id]; ok {
		a.reserved -= h.amount
		delete(a.holds, id)
	}
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
		reserved := a.reserved
		if h, ok := a.holds[id]; ok {
			reserved -= h.amount
		}
		if exceeds(a.spent, reserved, amount, accts[i].Limit) {
			return i, nil
		}
	}
	exp := now + int64(ttl)
	for i := range accts {
		a := m.shard(accts[i].Key).getAccount(accts[i].Key, now, true)
		a.drop(id)
		if a.holds == nil {
			a.holds = make(map[string]hold)
		}
		a.holds[id] = hold{amount: amount, expires: exp}
		a.reserved += amount
		if a.holdsDue == 0 || exp < a.holdsDue {
			a.holdsDue = exp
		}
		a.touch(accts[i].TTL, now, exp)
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

	forget := now + m.settledTTL
	for i := range accts {
		a := m.shard(accts[i].Key).getAccount(accts[i].Key, now, true)
		if _, done := a.settled[id]; done {
			continue
		}
		a.drop(id)
		a.spent = satAdd(a.spent, actual)
		if a.settled == nil {
			a.settled = make(map[string]int64)
		}
		a.settled[id] = forget
		if a.settDue == 0 || forget < a.settDue {
			a.settDue = forget
		}
		a.touch(accts[i].TTL, now, forget)
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
		if _, ok := a.holds[id]; ok {
			a.drop(id)
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
