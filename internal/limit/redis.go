package limit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/redis/go-redis/v9"
)

// Redis is the Counters for a cluster of nodes sharing a Redis server (or
// Redis Cluster, or anything go-redis's UniversalClient speaks to). Every
// method is one Lua script run with EVALSHA (falling back to EVAL once per
// server to load it), so every method is atomic across all nodes and costs
// one round trip. Needs Redis 5 or later (scripts that read TIME and then
// write).
//
// Time: by default the scripts read the Redis server's clock (TIME), never
// the nodes': GCRA compares times taken at different calls, possibly from
// different nodes, and node clocks drift apart; one server clock cannot
// disagree with itself. In Redis Cluster each bucket and account lives on
// one shard and is only ever compared with that shard's clock. A failover to
// a replica whose clock is off by δ shifts buckets by δ for a while (a
// bucket looks δ fuller or emptier) and reservation expiry by δ.
//
// Keys are the prefix, a one-letter kind and the caller's key: "<prefix>g:"
// buckets, "<prefix>a:" and "<prefix>h:" accounts (see redis_scripts.go).
// All of a call's keys go in KEYS. In Redis Cluster one call's keys must
// share a hash slot: either put a hash tag in the prefix ("{octomesh}:",
// which puts all counters on one shard), or use keys that carry the same
// tag per call, e.g. "b:{org_123}:…" for every account and bucket of an
// organisation, and a prefix without braces.
//
// Errors: EINVALID for invalid arguments, as Memory; any failure to run a
// script (network, timeout, cancelled context, a Redis error) is an
// *octomesh.Error with code EUNAVAILABLE wrapping go-redis's error, and the
// call may or may not have been applied.
//
// Redis is safe for concurrent use.
type Redis struct {
	c          redis.UniversalClient
	prefix     string
	now        func() time.Time // nil: the server's TIME
	settledTTL time.Duration
}

var _ Counters = (*Redis)(nil)

// NewRedis returns counters kept in Redis under keys starting with prefix
// (e.g. "octomesh:"; tests use a unique prefix each). Options: WithClock
// (tests only: all nodes must then share one clock), WithSettledTTL.
func NewRedis(c redis.UniversalClient, prefix string, opts ...Option) *Redis {
	cfg := newConfig(opts)
	return &Redis{c: c, prefix: prefix, now: cfg.now, settledTTL: cfg.settledTTL}
}

// unavailable wraps a backend failure.
func unavailable(op string, err error) error {
	return &octomesh.Error{
		Code:    octomesh.EUNAVAILABLE,
		Message: "the rate and budget counters are unavailable",
		Err:     fmt.Errorf("redis %s: %w", op, err),
	}
}

// clock is ARGV[1]: the caller's clock in µs, or "" for the server's.
func (r *Redis) clock() string {
	if r.now == nil {
		return ""
	}
	return strconv.FormatInt(r.now().UnixMicro(), 10)
}

// micros rounds d up to whole microseconds, as a decimal string.
func micros(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Microsecond-1)/time.Microsecond), 10)
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func (r *Redis) rateArgs(checks []RateCheck, allow bool) ([]string, []any) {
	keys := make([]string, len(checks))
	args := make([]any, 0, 2+3*len(checks))
	mode := "0"
	if allow {
		mode = "1"
	}
	args = append(args, r.clock(), mode)
	for i, c := range checks {
		keys[i] = r.prefix + "g:" + c.Key
		g := newGCRA(c.Rate)
		args = append(args, strconv.FormatFloat(g.t/1e3, 'g', -1, 64), itoa(g.burst), itoa(c.N))
	}
	return keys, args
}

// Allow implements Counters.
func (r *Redis) Allow(ctx context.Context, checks []RateCheck) (bool, []RateResult, error) {
	if err := validateChecks(checks, true); err != nil {
		return false, nil, err
	}
	if len(checks) == 0 {
		return true, []RateResult{}, nil
	}
	keys, args := r.rateArgs(checks, true)
	out, err := luaRate.Run(ctx, r.c, keys, args...).Int64Slice()
	if err != nil {
		return false, nil, unavailable("allow", err)
	}
	if len(out) != 1+3*len(checks) {
		return false, nil, unavailable("allow", fmt.Errorf("script returned %d values for %d checks", len(out), len(checks)))
	}
	res := make([]RateResult, len(checks))
	for i := range res {
		v := out[1+3*i:]
		res[i] = RateResult{
			Limit:      checks[i].Rate.Limit,
			Remaining:  v[0],
			ResetAfter: time.Duration(v[1]) * time.Microsecond,
			RetryAfter: time.Duration(v[2]) * time.Microsecond,
		}
		if v[2] < 0 {
			res[i].RetryAfter = Never
		}
	}
	return out[0] == 1, res, nil
}

// Charge implements Counters.
func (r *Redis) Charge(ctx context.Context, checks []RateCheck) error {
	if err := validateChecks(checks, false); err != nil {
		return err
	}
	if len(checks) == 0 {
		return nil
	}
	keys, args := r.rateArgs(checks, false)
	if err := luaRate.Run(ctx, r.c, keys, args...).Err(); err != nil {
		return unavailable("charge", err)
	}
	return nil
}

// acctKeys returns the (hash, zset) key pairs of accts.
func (r *Redis) acctKeys(accts []Account) []string {
	keys := make([]string, 0, 2*len(accts))
	for i := range accts {
		keys = append(keys, r.prefix+"a:"+accts[i].Key, r.prefix+"h:"+accts[i].Key)
	}
	return keys
}

// Reserve implements Counters.
func (r *Redis) Reserve(ctx context.Context, id string, accts []Account, amount int64, ttl time.Duration) (int, error) {
	if err := validateReserve(id, accts, amount, ttl); err != nil {
		return -1, err
	}
	if len(accts) == 0 {
		return -1, nil
	}
	args := make([]any, 0, 4+3*len(accts))
	args = append(args, r.clock(), id, itoa(amount), micros(ttl))
	for i := range accts {
		hard := "0"
		if accts[i].Hard {
			hard = "1"
		}
		args = append(args, itoa(accts[i].Limit), hard, micros(accts[i].TTL))
	}
	refused, err := luaReserve.Run(ctx, r.c, r.acctKeys(accts), args...).Int64()
	if err != nil {
		return -1, unavailable("reserve", err)
	}
	return int(refused), nil
}

// Settle implements Counters.
func (r *Redis) Settle(ctx context.Context, id string, accts []Account, actual int64) error {
	if err := validateSettle(id, accts, actual); err != nil {
		return err
	}
	if len(accts) == 0 {
		return nil
	}
	args := make([]any, 0, 4+len(accts))
	args = append(args, r.clock(), id, itoa(actual), micros(r.settledTTL))
	for i := range accts {
		args = append(args, micros(accts[i].TTL))
	}
	if err := luaSettle.Run(ctx, r.c, r.acctKeys(accts), args...).Err(); err != nil {
		return unavailable("settle", err)
	}
	return nil
}

// Release implements Counters.
func (r *Redis) Release(ctx context.Context, id string, accts []Account) error {
	if err := validateID(id); err != nil {
		return err
	}
	if err := validateAccounts(accts); err != nil {
		return err
	}
	if len(accts) == 0 {
		return nil
	}
	args := make([]any, 0, 2+len(accts))
	args = append(args, r.clock(), id)
	for i := range accts {
		args = append(args, micros(accts[i].TTL))
	}
	if err := luaRelease.Run(ctx, r.c, r.acctKeys(accts), args...).Err(); err != nil {
		return unavailable("release", err)
	}
	return nil
}

// Adjust implements Counters.
func (r *Redis) Adjust(ctx context.Context, acct Account, delta int64) error {
	if err := validateAccount(&acct); err != nil {
		return err
	}
	if !inRange(delta) {
		return invalid("delta out of range")
	}
	keys := r.acctKeys([]Account{acct})
	if err := luaAdjust.Run(ctx, r.c, keys, r.clock(), itoa(delta), micros(acct.TTL)).Err(); err != nil {
		return unavailable("adjust", err)
	}
	return nil
}

// Seed implements Counters.
func (r *Redis) Seed(ctx context.Context, acct Account, spent int64) (bool, error) {
	if err := validateAccount(&acct); err != nil {
		return false, err
	}
	if !inRange(spent) {
		return false, invalid("spent out of range")
	}
	keys := r.acctKeys([]Account{acct})
	seeded, err := luaSeed.Run(ctx, r.c, keys, r.clock(), itoa(spent), micros(acct.TTL)).Int64()
	if err != nil {
		return false, unavailable("seed", err)
	}
	return seeded == 1, nil
}

// Balance implements Counters.
func (r *Redis) Balance(ctx context.Context, acct Account) (spent, reserved int64, err error) {
	if err := validateAccount(&acct); err != nil {
		return 0, 0, err
	}
	keys := r.acctKeys([]Account{acct})
	out, err := luaBalance.Run(ctx, r.c, keys, r.clock()).StringSlice()
	if err == nil && len(out) != 2 {
		err = fmt.Errorf("script returned %d values", len(out))
	}
	if err == nil {
		spent, err = strconv.ParseInt(out[0], 10, 64)
	}
	if err == nil {
		reserved, err = strconv.ParseInt(out[1], 10, 64)
	}
	if err != nil {
		return 0, 0, unavailable("balance", err)
	}
	return spent, reserved, nil
}
