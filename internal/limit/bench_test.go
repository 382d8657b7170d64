package limit_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octomesh/octomesh/internal/limit"
)

// The gateway's admission: requests and tokens per minute, per key and per
// organisation; never refused here, so each iteration does the full work.
func benchChecks(key, org string) []limit.RateCheck {
	rpm := limit.Rate{Limit: 1 << 40, Period: time.Minute}
	tpm := limit.Rate{Limit: 1 << 50, Period: time.Minute}
	return []limit.RateCheck{
		{Key: "rpm:" + key, Rate: rpm, N: 1}, {Key: "rpm:" + org, Rate: rpm, N: 1},
		{Key: "tpm:" + key, Rate: tpm, N: 1500}, {Key: "tpm:" + org, Rate: tpm, N: 1500},
	}
}

// The budgets of a request: key day and month, org month, prepaid credit.
func benchAccounts() []limit.Account {
	return []limit.Account{
		{Key: "b:key:day:2026-03-01", Limit: 1 << 50, Hard: true, TTL: 48 * time.Hour},
		{Key: "b:key:month:2026-03", Limit: 1 << 50, Hard: true, TTL: 40 * 24 * time.Hour},
		{Key: "b:org:month:2026-03", Limit: 1 << 50, Hard: false, TTL: 40 * 24 * time.Hour},
		{Key: "credit:org", Limit: 0, Hard: true},
	}
}

// benchClock moves 1ms per reading, so reservation ids and settled ids
// lapse during a long run as they would in production.
func benchClock() func() time.Time {
	var ns atomic.Int64
	ns.Store(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return func() time.Time { return time.Unix(0, ns.Add(int64(time.Millisecond))) }
}

// benchIDs are request ids, made before timing (a gateway has one per
// request already); they repeat only after their settled markers lapse.
var benchIDs = func() []string {
	ids := make([]string, 1<<18)
	for i := range ids {
		ids[i] = "req-" + strconv.Itoa(i)
	}
	return ids
}()

func benchAllow(b *testing.B, c limit.Counters) {
	ctx := context.Background()
	checks := benchChecks("key_1", "org_1")
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		if ok, _, err := c.Allow(ctx, checks); err != nil || !ok {
			b.Fatalf("Allow = %v, %v", ok, err)
		}
	}
	reportCPU(b, cpu)
}

// reportCPU reports the CPU time per op since cpu, when it is known.
func reportCPU(b *testing.B, cpu time.Duration) {
	if now := cpuTime(); now > 0 {
		b.ReportMetric(float64(now-cpu)/float64(b.N), "cpu-ns/op")
	}
}

func benchReserveSettle(b *testing.B, c limit.Counters) {
	ctx := context.Background()
	accts := benchAccounts()
	if err := c.Adjust(ctx, accts[3], -(1 << 52)); err != nil { // prepaid credit
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu := cpuTime()
	i := 0
	for b.Loop() {
		id := benchIDs[i&(len(benchIDs)-1)]
		i++
		if refused, err := c.Reserve(ctx, id, accts, 50_000, time.Minute); err != nil || refused != -1 {
			b.Fatalf("Reserve = %d, %v", refused, err)
		}
		if err := c.Settle(ctx, id, accts, 31_337); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

func BenchmarkMemoryAllow4(b *testing.B) { benchAllow(b, limit.NewMemory(nil)) }

func BenchmarkMemoryReserveSettle4(b *testing.B) {
	benchReserveSettle(b, limit.NewMemory(benchClock()))
}

// BenchmarkMemoryAllow4Parallel: many keys of many organisations at once.
func BenchmarkMemoryAllow4Parallel(b *testing.B) {
	m := limit.NewMemory(nil)
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		g := strconv.Itoa(int(n.Add(1)))
		checks := benchChecks("key_"+g, "org_"+g)
		for pb.Next() {
			if _, _, err := m.Allow(context.Background(), checks); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkRedisAllow4(b *testing.B) {
	c := redisClientB(b)
	benchAllow(b, limit.NewRedis(c, testPrefixB(b, c)))
}

func BenchmarkRedisReserveSettle4(b *testing.B) {
	c := redisClientB(b)
	benchReserveSettle(b, limit.NewRedis(c, testPrefixB(b, c)))
}
