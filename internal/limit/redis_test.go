package limit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/limit"
	"github.com/octomesh/octomesh/internal/limit/limittest"
	"github.com/redis/go-redis/v9"
)

// redisClient connects to OCTOMESH_TEST_REDIS_ADDR, or skips.
func redisClient(t *testing.T) redis.UniversalClient { return redisClientB(t) }

func redisClientB(t testing.TB) redis.UniversalClient {
	t.Helper()
	addr := os.Getenv("OCTOMESH_TEST_REDIS_ADDR")
	if addr == "" {
		t.Skip("OCTOMESH_TEST_REDIS_ADDR is not set (e.g. 127.0.0.1:6379)")
	}
	c := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 64})
	t.Cleanup(func() { c.Close() })
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("redis at %s: %v", addr, err)
	}
	return c
}

// testPrefix returns a prefix unique to this test and deletes its keys when
// the test ends.
func testPrefix(t *testing.T, c redis.UniversalClient) string { return testPrefixB(t, c) }

func testPrefixB(t testing.TB, c redis.UniversalClient) string {
	t.Helper()
	var b [8]byte
	rand.Read(b[:])
	prefix := "octomesh-test:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys := scanKeys(t, c, prefix)
		if len(keys) > 0 {
			if err := c.Del(ctx, keys...).Err(); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	return prefix
}

func scanKeys(t testing.TB, c redis.UniversalClient, prefix string) []string {
	t.Helper()
	var keys []string
	iter := c.Scan(context.Background(), 0, prefix+"*", 1000).Iterator()
	for iter.Next(context.Background()) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("scan: %v", err)
	}
	return keys
}

func TestRedis(t *testing.T) {
	c := redisClient(t)
	limittest.Run(t, func(t *testing.T, now func() time.Time) limit.Counters {
		var opts []limit.Option
		if now != nil {
			opts = append(opts, limit.WithClock(now))
		}
		return limit.NewRedis(c, testPrefix(t, c), opts...)
	})
}

// TestRedisKeys checks the key layout and that every key expires.
func TestRedisKeys(t *testing.T) {
	c := redisClient(t)
	ctx := t.Context()
	prefix := testPrefix(t, c)
	r := limit.NewRedis(c, prefix)
	rate := limit.Rate{Limit: 10, Period: time.Second}
	if _, _, err := r.Allow(ctx, []limit.RateCheck{{Key: "k1", Rate: rate, N: 2}}); err != nil {
		t.Fatal(err)
	}
	day := limit.Account{Key: "b:day", Limit: 100, Hard: true, TTL: time.Hour}
	forever := limit.Account{Key: "b:total", Limit: 100, Hard: true}
	if _, err := r.Reserve(ctx, "req-1", []limit.Account{day, forever}, 10, time.Minute); err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{ // key → the PTTL it should have, roughly
		prefix + "g:k1":      200*time.Millisecond + time.Minute,
		prefix + "a:b:day":   time.Hour + time.Minute,
		prefix + "h:b:day":   time.Hour + time.Minute,
		prefix + "a:b:total": -1,
		prefix + "h:b:total": -1,
	}
	keys := scanKeys(t, c, prefix)
	if len(keys) != len(want) {
		t.Errorf("keys = %v, want %d keys", keys, len(want))
	}
	for key, ttl := range want {
		got, err := c.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl < 0 && got != -1 || ttl > 0 && (got <= ttl-5*time.Second || got > ttl) {
			t.Errorf("PTTL(%s) = %v, want about %v", key, got, ttl)
		}
	}
}

// TestRedisScriptFlush: after the server forgets the scripts (a restart, a
// failover, SCRIPT FLUSH), calls reload them.
func TestRedisScriptFlush(t *testing.T) {
	c := redisClient(t)
	ctx := t.Context()
	r := limit.NewRedis(c, testPrefix(t, c))
	acct := limit.Account{Key: "a", Limit: 10, Hard: true}
	if err := r.Adjust(ctx, acct, 3); err != nil {
		t.Fatal(err)
	}
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if s, _, err := r.Balance(ctx, acct); err != nil || s != 3 {
		t.Fatalf("Balance after SCRIPT FLUSH = %d, %v; want 3", s, err)
	}
}

// TestRedisUnavailable: a failing backend is EUNAVAILABLE, wrapping the
// cause.
func TestRedisUnavailable(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1, DialTimeout: 100 * time.Millisecond})
	defer c.Close()
	r := limit.NewRedis(c, "x:")
	ctx := t.Context()
	acct := limit.Account{Key: "a", Limit: 1}
	check := []limit.RateCheck{{Key: "k", Rate: limit.Rate{Limit: 1, Period: time.Second}, N: 1}}
	_, _, errAllow := r.Allow(ctx, check)
	_, errReserve := r.Reserve(ctx, "id", []limit.Account{acct}, 1, time.Minute)
	_, errSeed := r.Seed(ctx, acct, 1)
	_, _, errBalance := r.Balance(ctx, acct)
	for name, err := range map[string]error{
		"Allow": errAllow, "Charge": r.Charge(ctx, check), "Reserve": errReserve,
		"Settle": r.Settle(ctx, "id", []limit.Account{acct}, 1), "Release": r.Release(ctx, "id", []limit.Account{acct}),
		"Adjust": r.Adjust(ctx, acct, 1), "Seed": errSeed, "Balance": errBalance,
	} {
		var e *octomesh.Error
		if !errors.As(err, &e) || e.Code != octomesh.EUNAVAILABLE || e.Err == nil {
			t.Errorf("%s: err = %v, want EUNAVAILABLE with a cause", name, err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := limit.NewRedis(c, "x:").Allow(cancelled, check); !errors.Is(err, context.Canceled) || octomesh.ErrorCodeOf(err) != octomesh.EUNAVAILABLE {
		t.Errorf("Allow with a cancelled context: err = %v, want EUNAVAILABLE wrapping context.Canceled", err)
	}
}
