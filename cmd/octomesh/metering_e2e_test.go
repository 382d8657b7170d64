package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/storetest"
)

const meterChat = `{"model":"sim/gpt-4o-mini","messages":[{"role":"user","content":"meter me"}],"max_tokens":16}`

// TestRateLimitsOverHTTP: a key with scopes.rpm 3 gets x-ratelimit-*
// headers on every answer, then 429 with Retry-After in the format of the
// route it called.
func TestRateLimitsOverHTTP(t *testing.T) {
	ts := startAdminServer(t, "")
	var k apiKey
	ts.must(t, 201, ts.AdminKey, "POST", "/v1/orgs/default/keys", `{"name":"limited","role":"member","scopes":{"rpm":3}}`, &k)
	for i := 0; i < 3; i++ {
		r := ts.do(t, k.Key, "POST", "/v1/chat/completions", meterChat)
		if r.Status != 200 {
			t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
		}
		if got := r.Header.Get("X-Ratelimit-Limit-Requests"); got != "3" {
			t.Errorf("request %d: limit header %q", i, got)
		}
		if got, want := r.Header.Get("X-Ratelimit-Remaining-Requests"), fmt.Sprint(2-i); got != want {
			t.Errorf("request %d: remaining %q, want %q", i, got, want)
		}
		if r.Header.Get("X-Ratelimit-Reset-Requests") == "" {
			t.Errorf("request %d: no reset header", i)
		}
	}
	r := ts.do(t, k.Key, "POST", "/v1/chat/completions", meterChat)
	if r.Status != 429 || r.Header.Get("Retry-After") != "20" || r.Header.Get("X-Ratelimit-Remaining-Requests") != "0" {
		t.Fatalf("4th request: %d retry-after %q remaining %q: %s", r.Status, r.Header.Get("Retry-After"), r.Header.Get("X-Ratelimit-Remaining-Requests"), r.Body)
	}
	var oe struct {
		Error struct{ Type, Code, Message string }
	}
	if json.Unmarshal(r.Body, &oe) != nil || oe.Error.Type != "rate_limit_error" || !strings.Contains(oe.Error.Message, "3 requests per minute") {
		t.Errorf("OpenAI error body: %s", r.Body)
	}
	// The Anthropic route answers in Anthropic's format.
	r = ts.do(t, k.Key, "POST", "/v1/messages", `{"model":"sim/gpt-4o-mini","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`)
	var ae struct {
		Type  string
		Error struct{ Type string }
	}
	if r.Status != 429 || json.Unmarshal(r.Body, &ae) != nil || ae.Type != "error" || ae.Error.Type != "rate_limit_error" {
		t.Errorf("Anthropic 429: %d %s", r.Status, r.Body)
	}
	m := ts.do(t, ts.AdminKey, "GET", "/metrics", "")
	// The embedded default (SQLite) acknowledges usage from the journal.
	if !strings.Contains(string(m.Body), "\noctomesh_ratelimited_total 2\n") || !strings.Contains(string(m.Body), "\noctomesh_ledger_journaled_total 3\n") {
		t.Errorf("/metrics lacks the meter's counters (2 refusals, 3 journaled ledger entries):\n%s", m.Body)
	}
	// The admin key has no limit: no headers.
	r = ts.do(t, ts.AdminKey, "POST", "/v1/chat/completions", meterChat)
	if r.Status != 200 || r.Header.Get("X-Ratelimit-Limit-Requests") != "" {
		t.Errorf("unlimited key: %d, limit header %q", r.Status, r.Header.Get("X-Ratelimit-Limit-Requests"))
	}
}

// TestBudgetOverHTTP sets a hard daily budget through the API, spends up to
// it concurrently, and checks the refusals, the ledger and the usage API
// agree to the nano-dollar with the costs the responses reported.
func TestBudgetOverHTTP(t *testing.T) {
	ts := startAdminServer(t, "")
	// Each request reserves its prompt estimate + 16 output tokens at
	// $0.15/$0.60 per million (about 11,000 nano-dollars): a budget of
	// $0.0001 admits 9 at most.
	ts.must(t, 201, ts.AdminKey, "POST", "/v1/orgs/default/budgets", `{"name":"daily cap","scope":"org","period":"day","limit":"0.0001","hard":true}`, nil)
	var (
		mu     sync.Mutex
		costs  []octomesh.Money
		denied atomic.Int64
		wg     sync.WaitGroup
		need   atomic.Int64 // the reservation a refusal named
	)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 4; i++ {
				r := ts.do(t, ts.AdminKey, "POST", "/v1/chat/completions", meterChat)
				switch r.Status {
				case 200:
					c, err := octomesh.ParseMoney(r.Header.Get("X-Octomesh-Cost-Usd"))
					if err != nil {
						t.Errorf("cost header: %v", err)
					}
					mu.Lock()
					costs = append(costs, c)
					mu.Unlock()
				case 402:
					denied.Add(1)
					var e struct {
						Error struct{ Type, Message string }
					}
					json.Unmarshal(r.Body, &e)
					_, amount, _ := strings.Cut(e.Error.Message, "may cost up to $")
					m, err := octomesh.ParseMoney(amount)
					if e.Error.Type != "insufficient_quota" || !strings.Contains(e.Error.Message, `budget "daily cap" ($0.0001 per day) would be exceeded`) || err != nil {
						t.Errorf("402 body: %s", r.Body)
					}
					need.Store(int64(m))
				default:
					t.Errorf("status %d: %s", r.Status, r.Body)
				}
			}
		}()
	}
	wg.Wait()
	var total octomesh.Money
	for _, c := range costs {
		total += c
	}
	limit := octomesh.Money(100_000)
	if total > limit || denied.Load() == 0 || len(costs) == 0 {
		t.Fatalf("spent %s over %d answers with %d refused; the limit is %s", total, len(costs), denied.Load(), limit)
	}
	// Refused only when the remaining budget could not hold a reservation.
	if limit-total >= octomesh.Money(need.Load()) {
		t.Errorf("%s left, room for another reservation, yet %d were refused", limit-total, denied.Load())
	}
	var usage struct {
		Data []struct {
			Requests int64  `json:"requests"`
			Cost     string `json:"cost"`
		} `json:"data"`
	}
	ts.must(t, 200, ts.AdminKey, "GET", "/v1/usage", "", &usage)
	if len(usage.Data) != 1 || usage.Data[0].Requests != int64(len(costs)) {
		t.Fatalf("usage API: %+v, want %d requests", usage, len(costs))
	}
	if got, err := octomesh.ParseMoney(usage.Data[0].Cost); err != nil || got != total {
		t.Errorf("usage API cost %q, the responses' costs sum to %s", usage.Data[0].Cost, total)
	}
	t.Logf("%d answered for $%s, %d refused", len(costs), total, denied.Load())
}

// TestClusterSharesLimits runs two nodes on one PostgreSQL database and
// one Redis: a key's rate limit and an organisation's budget hold across
// both, not per node.
func TestClusterSharesLimits(t *testing.T) {
	redisAddr := os.Getenv("OCTOMESH_TEST_REDIS_ADDR")
	if redisAddr == "" || os.Getenv("OCTOMESH_TEST_POSTGRES_DSN") == "" {
		t.Skip("set OCTOMESH_TEST_REDIS_ADDR and OCTOMESH_TEST_POSTGRES_DSN")
	}
	dsn := storetest.PostgresDSN(t)
	env := map[string]string{"METERING_COUNTERS": "redis", "METERING_REDIS": redisAddr, "METERING_PREFIX": "octomesh-test:" + randomHex(t, 6) + ":"}
	admin := "om-admin-test-" + randomHex(t, 16)
	a := startAdminNodeEnv(t, dsn, t.TempDir(), admin, env)
	b := startAdminNodeEnv(t, dsn, t.TempDir(), admin, env)
	var k apiKey
	a.must(t, 201, admin, "POST", "/v1/orgs/default/keys", `{"name":"limited","role":"member","scopes":{"rpm":10}}`, &k)
	waitStatus(t, b, k.Key, 200) // node b knows the key (GET /v1/me is not rate limited)
	ok, limited := 0, 0
	for i := 0; i < 30; i++ {
		node := a
		if i%2 == 1 {
			node = b
		}
		switch r := node.do(t, k.Key, "POST", "/v1/chat/completions", meterChat); r.Status {
		case 200:
			ok++
		case 429:
			limited++
		default:
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
	}
	if ok != 10 || limited != 20 {
		t.Errorf("across two nodes: %d answered, %d limited; want 10 and 20 (10 per minute in all)", ok, limited)
	}
}
