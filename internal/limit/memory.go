package limit

import (
	"context"
	"hash/maphash"
	"math/bits"
	"sync"
	"time"
)

// Memory is the in-process Counters for a single node. State is split into
// shards, each with its own mutex; a call locks the shards its keys live in,
// in shard order (so calls cannot deadlock), which makes every method
// atomic. Idle state is dropped as it expires: a bucket once it is full
// again, an account after its TTL, a reservation after its ttl, a settled
// id within twice the settled TTL. Each shard sweeps itself when a call touches it
// and the sweep interval has passed, so memory stays bounded without a
// background goroutine.
//
// Memory is safe for concurrent use; the zero value is not usable, call
// NewMemory.
type Memory struct {
	now        func() int64 // unix nanoseconds
	settledTTL int64
	seed       maphash.Seed
	shards     [memShards]memShard
}

var _ Counters = (*Memory)(nil)

const (
	memShards = 64 // a power of two ≤ 64: the locked shards fit a uint64 mask
	// memSweepEvery is how often a shard looks for expired state.
	memSweepEvery = int64(30 * time.Second)
	// memScratch is how many keys a call handles without allocating.
	memScratch = 8
)

type memShard struct {
	mu         sync.Mutex
	buckets    map[string]*bucket
	accounts   map[string]*account
	nextSweep  int64
	settledTTL int64

	// Settled ids of this shard (see memory_budget.go).
	settled, settledOld map[string]int64
	genEnds             int64 // when the current generation ends; 0: none

	_ [64]byte // keep busy shards off each other's cache lines
}

// NewMemory returns empty in-memory counters reading time from now, or from
// the process's monotonic clock when now is nil (immune to wall-clock
// steps). Options: WithSettledTTL (and WithClock, which overrides now).
func NewMemory(now func() time.Time, opts ...Option) *Memory {
	cfg := newConfig(opts)
	if cfg.now != nil {
		now = cfg.now
	}
	m := &Memory{settledTTL: int64(cfg.settledTTL), seed: maphash.MakeSeed()}
	if now != nil {
		m.now = func() int64 { return now().UnixNano() }
	} else {
		base := time.Now()
		wall := base.UnixNano()
		m.now = func() int64 { return wall + int64(time.Since(base)) }
	}
	for i := range m.shards {
		m.shards[i].buckets = make(map[string]*bucket)
		m.shards[i].accounts = make(map[string]*account)
		m.shards[i].settledTTL = m.settledTTL
	}
	return m
}

func (m *Memory) shardOf(key string) uint {
	return uint(maphash.String(m.seed, key) & (memShards - 1))
}

// lock locks the shards in mask in ascending order, lets each sweep itself
// if due, and returns the time. Time is read under the locks so that calls
// on a bucket or account see it move forward in the order they run.
func (m *Memory) lock(mask uint64) (now int64) {
	for b := mask; b != 0; b &= b - 1 {
		m.shards[bits.TrailingZeros64(b)].mu.Lock()
	}
	now = m.now()
	for b := mask; b != 0; b &= b - 1 {
		if sh := &m.shards[bits.TrailingZeros64(b)]; now >= sh.nextSweep {
			sh.sweep(now)
			sh.nextSweep = now + memSweepEvery
		}
	}
	return now
}

func (m *Memory) unlock(mask uint64) {
	for b := mask; b != 0; b &= b - 1 {
		m.shards[bits.TrailingZeros64(b)].mu.Unlock()
	}
}

// sweep drops the shard's expired state. The caller holds sh.mu.
func (sh *memShard) sweep(now int64) {
	for k, b := range sh.buckets {
		if b.ahead(now) == 0 {
			delete(sh.buckets, k)
		}
	}
	for k, a := range sh.accounts {
		if a.expired(now) {
			delete(sh.accounts, k)
			continue
		}
		a.purge(now)
	}
	sh.rotate(now)
}

// sweepAll sweeps every shard now (for tests).
func (m *Memory) sweepAll() {
	now := m.now()
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		sh.sweep(now)
		sh.nextSweep = now + memSweepEvery
		sh.mu.Unlock()
	}
}

// size returns how many buckets and accounts are held (for tests).
func (m *Memory) size() (buckets, accounts int) {
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		buckets += len(sh.buckets)
		accounts += len(sh.accounts)
		sh.mu.Unlock()
	}
	return buckets, accounts
}

// rateState is one check's bucket and arithmetic during a call.
type rateState struct {
	sh   *memShard
	b    *bucket
	g    gcra
	d    float64 // time until full before the call
	need float64 // time until full after taking N
}

// Allow implements Counters. It returns EINVALID for invalid checks and no
// other error.
func (m *Memory) Allow(ctx context.Context, checks []RateCheck) (bool, []RateResult, error) {
	res := make([]RateResult, len(checks))
	ok, err := m.AllowInto(ctx, checks, res)
	if err != nil {
		return false, nil, err
	}
	return ok, res, nil
}

// AllowInto implements AllowerInto.
func (m *Memory) AllowInto(_ context.Context, checks []RateCheck, res []RateResult) (bool, error) {
	if err := validateChecks(checks, true); err != nil {
		return false, err
	}
	if len(res) < len(checks) {
		return false, errShortResults
	}
	res = res[:len(checks)]
	clear(res)
	var scratch [memScratch]rateState
	st := scratch[:0]
	if len(checks) > memScratch {
		st = make([]rateState, 0, len(checks))
	}
	var mask uint64
	for i := range checks {
		idx := m.shardOf(checks[i].Key)
		st = append(st, rateState{sh: &m.shards[idx], g: newGCRA(checks[i].Rate)})
		mask |= 1 << idx
	}
	now := m.lock(mask)
	defer m.unlock(mask)

	allowed := true
	for i := range checks {
		s := &st[i]
		s.b = s.sh.buckets[checks[i].Key]
		s.d = s.b.ahead(now)
		s.need = s.g.take(s.d, checks[i].N)
		if checks[i].N > s.g.burst || !s.g.fits(s.need) {
			allowed = false
			res[i].RetryAfter = s.g.retryAfter(s.need, checks[i].N)
		}
	}
	for i := range checks {
		s := &st[i]
		d := s.d
		if allowed {
			d = s.need
			s.store(checks[i].Key, now)
		}
		res[i] = s.g.result(checks[i].Rate.Limit, d, res[i].RetryAfter)
	}
	return allowed, nil
}

// store saves the state's new level, creating or dropping its bucket.
func (s *rateState) store(key string, now int64) {
	switch {
	case s.need > 0 && s.b == nil:
		s.b = &bucket{}
		s.sh.buckets[key] = s.b
	case s.need == 0 && s.b != nil:
		delete(s.sh.buckets, key)
		return
	case s.need == 0:
		return
	}
	s.b.set(now, s.need)
}

// Charge implements Counters. It returns EINVALID for invalid checks and no
// other error.
func (m *Memory) Charge(_ context.Context, checks []RateCheck) error {
	if err := validateChecks(checks, false); err != nil {
		return err
	}
	var mask uint64
	for i := range checks {
		mask |= 1 << m.shardOf(checks[i].Key)
	}
	now := m.lock(mask)
	defer m.unlock(mask)
	for i := range checks {
		s := rateState{sh: &m.shards[m.shardOf(checks[i].Key)], g: newGCRA(checks[i].Rate)}
		s.b = s.sh.buckets[checks[i].Key]
		s.need = s.g.take(s.b.ahead(now), checks[i].N)
		s.store(checks[i].Key, now)
	}
	return nil
}
