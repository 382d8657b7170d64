package limit

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// TestMemoryForgets: everything Memory holds lapses, so memory does not grow
// with the number of keys, requests or reservation ids ever seen.
func TestMemoryForgets(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	m := NewMemory(func() time.Time { return time.Unix(0, clock.Load()) })
	ctx := t.Context()
	rate := Rate{Limit: 10, Period: time.Second}
	forever := Account{Key: "org:total", Limit: 1 << 40, Hard: true} // TTL 0: kept
	for i := range 1000 {
		if _, _, err := m.Allow(ctx, []RateCheck{{Key: fmt.Sprintf("rpm:%d", i), Rate: rate, N: 1}}); err != nil {
			t.Fatal(err)
		}
		day := Account{Key: fmt.Sprintf("key:%d:day", i), Limit: 1 << 40, Hard: true, TTL: time.Hour}
		id := fmt.Sprintf("req-%d", i)
		if _, err := m.Reserve(ctx, id, []Account{day, forever}, 10, time.Minute); err != nil {
			t.Fatal(err)
		}
		switch i % 3 {
		case 0:
			_ = m.Settle(ctx, id, []Account{day, forever}, 7)
		case 1:
			_ = m.Release(ctx, id, []Account{day, forever})
		} // case 2: left to lapse, as if the node crashed
	}
	if b, a := m.size(); b != 1000 || a != 1001 {
		t.Fatalf("size = %d buckets, %d accounts; want 1000, 1001", b, a)
	}
	org := m.shard(forever.Key).accounts[forever.Key]
	if live, settled := len(org.holds), m.settledCount(); live != 333 || settled != 334 {
		t.Fatalf("org account holds %d reservations, %d settled ids kept; want 333, 334", live, settled)
	}

	clock.Add(int64(2 * time.Hour))
	// Calls sweep the shards they touch: touch every shard once.
	seen := map[uint]bool{}
	for i := 0; len(seen) < memShards; i++ {
		key := fmt.Sprintf("new:%d", i)
		if seen[m.shardOf(key)] {
			continue
		}
		seen[m.shardOf(key)] = true
		if _, _, err := m.Allow(ctx, []RateCheck{{Key: key, Rate: rate, N: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	if b, a := m.size(); b != memShards || a != 1 {
		t.Errorf("after two hours, size = %d buckets, %d accounts; want %d (the new ones), 1 (the TTL-less one)", b, a, memShards)
	}
	if len(org.holds) != 0 || org.reserved != 0 || org.spent != 334*7 {
		t.Errorf("org account = %d holds, reserved %d, spent %d; want 0, 0, %d", len(org.holds), org.reserved, org.spent, 334*7)
	}
	if n := m.settledCount(); n != 0 {
		t.Errorf("%d settled ids kept, want 0", n)
	}

	clock.Add(int64(time.Second))
	m.sweepAll()
	if b, a := m.size(); b != 0 || a != 1 {
		t.Errorf("after sweepAll, size = %d buckets, %d accounts; want 0, 1", b, a)
	}
}

func (m *Memory) settledCount() int {
	n := 0
	for i := range m.shards {
		n += len(m.shards[i].settled) + len(m.shards[i].settledOld)
	}
	return n
}

// TestMemoryOwnClock: on its own clock Memory measures with the monotonic
// clock, so a step of the wall clock cannot refill or drain a bucket. (It
// can only be checked indirectly: time moves forward between calls.)
func TestMemoryOwnClock(t *testing.T) {
	m := NewMemory(nil)
	a, b := m.now(), m.now()
	if b < a || a < time.Now().Add(-time.Minute).UnixNano() {
		t.Errorf("now() = %d then %d", a, b)
	}
}

func TestSatAdd(t *testing.T) {
	const maxI, minI = int64(^uint64(0) >> 1), -int64(^uint64(0)>>1) - 1
	for _, tc := range []struct{ a, b, want int64 }{
		{1, 2, 3}, {-5, 3, -2}, {maxI, 1, maxI}, {maxI - 1, 1, maxI}, {minI, -1, minI}, {minI, 1, minI + 1}, {maxI, minI, -1}, {0, 0, 0},
	} {
		if got := satAdd(tc.a, tc.b); got != tc.want {
			t.Errorf("satAdd(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	if !exceeds(maxI, maxI, 1, maxI-1) || exceeds(-maxI, 0, maxI, 0) {
		t.Errorf("exceeds overflowed")
	}
}
