package limit

import "github.com/redis/go-redis/v9"

// The Lua scripts behind Redis. Each method is one script, so one atomic
// round trip. Conventions:
//
//   - ARGV[1] is the caller's clock in unix microseconds, or "" to read the
//     server's TIME. All times inside are unix microseconds.
//   - Lua numbers are float64: integer amounts are exact up to 2^53
//     (MaxAmount). Counters that may grow past that (spent) change only
//     through HINCRBY with the caller's decimal string, which Redis adds as
//     an exact int64; Balance returns them as strings.
//   - Numbers written to Redis go through fmt (%.0f): Lua's tostring would
//     write 1.7e+15.
//
// Keys (prefix P, caller's key K):
//
//	P g:K  string  a rate bucket: "<TAT whole µs>:<fraction of a µs>"
//	P a:K  hash    an account: s (spent), r (reserved), x (expiry, µs;
//	               absent: kept forever), q:<id> (each reservation's amount)
//	P h:K  zset    the account's reservations (q:<id>) and settled ids
//	               (d:<id>), scored by when they lapse
//
// Keys carry a PEXPIRE a minute past their logical expiry, so Redis frees
// them even if never touched again; the scripts also check expiry
// themselves (x, the zset scores), so a caller-supplied clock (tests) sees
// exact expiry.

const luaCommon = `
local function clock()
  if ARGV[1] ~= '' then return tonumber(ARGV[1]) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function fmt(n) return string.format('%.0f', n) end
local GRACE = 60000 -- ms a key outlives its logical expiry
`

// luaGCRA serves Allow (ARGV[2] = "1") and Charge ("0"). KEYS are the
// buckets; ARGV[3+3i..] are each check's emission interval T (µs, float),
// burst and N. Allow returns {allowed, then remaining, reset µs, retry µs
// per check}; Charge returns {1}. See gcra.go for the algorithm; this is
// the same arithmetic in microseconds.
const luaGCRA = luaCommon + `
local EPS, MAXAHEAD = 1e-6, 1125899906842624
local now = clock()
local check = ARGV[2] == '1'
local n = #KEYS
local ok = true
local ts, taus, ds, needs, retry = {}, {}, {}, {}, {}
for i = 1, n do
  local a = 3 + (i - 1) * 3
  local t, burst, cnt = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local d = 0
  local v = redis.call('GET', KEYS[i])
  if v then
    local p = string.find(v, ':', 1, true)
    d = (tonumber(string.sub(v, 1, p - 1)) - now) + tonumber(string.sub(v, p + 1))
    if d < 0 then d = 0 end
  end
  local need = d + cnt * t
  if need < 0 then need = 0 elseif need > MAXAHEAD then need = MAXAHEAD end
  ts[i], taus[i], ds[i], needs[i], retry[i] = t, burst * t, d, need, 0
  if check then
    if cnt > burst then
      ok, retry[i] = false, -1
    elseif need > taus[i] + EPS then
      ok, retry[i] = false, math.max(math.ceil(need - taus[i]), 1)
    end
  end
end
local out = {ok and 1 or 0}
for i = 1, n do
  local d = ds[i]
  if ok then
    d = needs[i]
    if d > 0 then
      local w = math.floor(d)
      redis.call('SET', KEYS[i], fmt(now + w) .. ':' .. string.format('%.17g', d - w),
        'PX', fmt(math.ceil(d / 1000) + GRACE))
    else
      redis.call('DEL', KEYS[i])
    end
  end
  if check then
    local rem = math.floor((taus[i] - d) / ts[i] + 1e-9)
    if rem < 0 then rem = 0 end
    out[#out + 1] = rem
    out[#out + 1] = math.ceil(d)
    out[#out + 1] = retry[i]
  end
end
return out
`

// luaAccount holds the helpers of the budget scripts.
const luaAccount = luaCommon + `
-- purge drops lapsed reservations (returning their amounts) and settled ids,
-- at most 256 a call so that one call stays short.
local function purge(h, z, now)
  local due = redis.call('ZRANGEBYSCORE', z, '-inf', fmt(now), 'LIMIT', 0, 256)
  if #due == 0 then return end
  local freed = 0
  for i = 1, #due do
    if string.sub(due[i], 1, 2) == 'q:' then
      local v = redis.call('HGET', h, due[i])
      if v then
        freed = freed + tonumber(v)
        redis.call('HDEL', h, due[i])
      end
    end
  end
  if freed ~= 0 then redis.call('HINCRBY', h, 'r', fmt(-freed)) end
  redis.call('ZREM', z, unpack(due))
end
-- open drops the account if its TTL has passed, purges it, and reports
-- whether it exists.
local function open(h, z, now)
  local x = redis.call('HGET', h, 'x')
  if x and tonumber(x) <= now then
    redis.call('DEL', h, z)
    return false
  end
  purge(h, z, now)
  return x ~= false or redis.call('EXISTS', h) == 1
end
-- touch records a change: the account lives ttl µs from now (0: forever)
-- and at least until keep.
local function touch(h, z, ttl, now, keep)
  if ttl == 0 then
    redis.call('HDEL', h, 'x')
    redis.call('PERSIST', h)
    redis.call('PERSIST', z)
    return
  end
  local x = math.max(now + ttl, keep, tonumber(redis.call('HGET', h, 'x') or '0'))
  redis.call('HSET', h, 'x', fmt(x))
  local ms = fmt(math.ceil((x - now) / 1000) + GRACE)
  redis.call('PEXPIRE', h, ms)
  redis.call('PEXPIRE', z, ms)
end
-- drop ends reservation field (q:<id>) on an account, returning its amount.
local function drop(h, z, field)
  local v = redis.call('HGET', h, field)
  if not v then return false end
  if v ~= '0' then redis.call('HINCRBY', h, 'r', '-' .. v) end
  redis.call('HDEL', h, field)
  redis.call('ZREM', z, field)
  return true
end
`

// luaReserve: KEYS are (hash, zset) pairs; ARGV = now, id, amount, ttl µs,
// then limit, hard ("1"/"0"), account TTL µs per account. Returns the
// refused index or -1.
var luaReserve = redis.NewScript(luaAccount + `
local now = clock()
local field = 'q:' .. ARGV[2]
local amount = tonumber(ARGV[3])
local lapse = now + tonumber(ARGV[4])
local n = #KEYS / 2
for i = 1, n do
  local h, z, a = KEYS[2 * i - 1], KEYS[2 * i], 5 + (i - 1) * 3
  open(h, z, now)
  if ARGV[a + 1] == '1' then
    local v = redis.call('HMGET', h, 's', 'r', field)
    local used = tonumber(v[1] or '0') + tonumber(v[2] or '0') - tonumber(v[3] or '0')
    if used + amount > tonumber(ARGV[a]) then return i - 1 end
  end
end
for i = 1, n do
  local h, z, a = KEYS[2 * i - 1], KEYS[2 * i], 5 + (i - 1) * 3
  local delta = amount - tonumber(redis.call('HGET', h, field) or '0')
  if delta ~= 0 then redis.call('HINCRBY', h, 'r', fmt(delta)) end
  redis.call('HSET', h, field, ARGV[3])
  redis.call('ZADD', z, fmt(lapse), field)
  touch(h, z, tonumber(ARGV[a + 2]), now, lapse)
end
return -1
`)

// luaSettle: KEYS are (hash, zset) pairs; ARGV = now, id, actual, settled
// TTL µs, then each account's TTL µs. The id counts as settled if any of
// the accounts has its mark (as Memory, which keeps one mark per id); a
// live reservation means reserved again since, and spends regardless.
var luaSettle = redis.NewScript(luaAccount + `
local now = clock()
local field, mark = 'q:' .. ARGV[2], 'd:' .. ARGV[2]
local forget = now + tonumber(ARGV[4])
local n = #KEYS / 2
local settled = false
for i = 1, n do
  local h, z = KEYS[2 * i - 1], KEYS[2 * i]
  open(h, z, now)
  settled = settled or redis.call('ZSCORE', z, mark) ~= false
end
for i = 1, n do
  local h, z = KEYS[2 * i - 1], KEYS[2 * i]
  if drop(h, z, field) or not settled then
    redis.call('HINCRBY', h, 's', ARGV[3])
    redis.call('ZADD', z, fmt(forget), mark)
    touch(h, z, tonumber(ARGV[4 + i]), now, forget)
  end
end
return 0
`)

// luaRelease: KEYS are (hash, zset) pairs; ARGV = now, id, then each
// account's TTL µs.
var luaRelease = redis.NewScript(luaAccount + `
local now = clock()
local field = 'q:' .. ARGV[2]
for i = 1, #KEYS / 2 do
  local h, z = KEYS[2 * i - 1], KEYS[2 * i]
  if open(h, z, now) and drop(h, z, field) then
    touch(h, z, tonumber(ARGV[2 + i]), now, 0)
  end
end
return 0
`)

// luaAdjust: KEYS = hash, zset; ARGV = now, delta, TTL µs.
var luaAdjust = redis.NewScript(luaAccount + `
local now = clock()
open(KEYS[1], KEYS[2], now)
redis.call('HINCRBY', KEYS[1], 's', ARGV[2])
touch(KEYS[1], KEYS[2], tonumber(ARGV[3]), now, 0)
return 0
`)

// luaSeed: KEYS = hash, zset; ARGV = now, spent, TTL µs. Returns 1 if it
// seeded.
var luaSeed = redis.NewScript(luaAccount + `
local now = clock()
if open(KEYS[1], KEYS[2], now) then return 0 end
redis.call('HSET', KEYS[1], 's', ARGV[2])
touch(KEYS[1], KEYS[2], tonumber(ARGV[3]), now, 0)
return 1
`)

// luaBalance: KEYS = hash, zset; ARGV = now. Returns {spent, reserved} as
// decimal strings. It writes only to purge lapsed reservations.
var luaBalance = redis.NewScript(luaAccount + `
local now = clock()
open(KEYS[1], KEYS[2], now)
local v = redis.call('HMGET', KEYS[1], 's', 'r')
return {v[1] or '0', v[2] or '0'}
`)

var luaRate = redis.NewScript(luaGCRA)
