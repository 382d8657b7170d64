package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/apikey"
	"github.com/octomesh/octomesh/internal/billing"
	"github.com/octomesh/octomesh/internal/billing/stripe"
	"github.com/octomesh/octomesh/internal/billing/stripefake"
	"github.com/octomesh/octomesh/internal/httpapi"
	"github.com/octomesh/octomesh/internal/sqlite"
)

// billingServer is the HTTP API over loopback on a real SQLite store, with
// billing on a fake Stripe, and records of the hooks it called.
type billingServer struct {
	URL    string
	db     *sqlite.DB
	fake   *stripefake.Server
	keys   map[string]string // "<org>/<role>" → raw key; "operator" → the operator's
	mu     sync.Mutex
	hooks  []string
	clock  time.Time
	client *http.Client
}

const testWhsec = "whsec_http_test"

// newBillingServer starts a server at time now with organisations "acme"
// (postpaid) and "beta" (prepaid), a key of every role in each, and an
// operator key in "ops".
func newBillingServer(t *testing.T, now time.Time) *billingServer {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "http.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	bs := &billingServer{db: db, keys: map[string]string{}, clock: now, fake: stripefake.New(t, "sk_test_http")}
	for _, o := range []*octomesh.Org{{ID: "acme", Name: "Acme <Ltd>", BillingEmail: "ap@acme.example"}, {ID: "beta", Name: "Beta", Settings: octomesh.OrgSettings{Prepaid: true}}, {ID: "ops", Name: "Operators"}} {
		owner := &octomesh.User{ID: "usr_" + o.ID, OrgID: o.ID, Name: "Owner"}
		if err := db.CreateOrg(ctx, o, owner, nil); err != nil {
			t.Fatal(err)
		}
		for _, role := range octomesh.OrgRoles() {
			k := &octomesh.APIKey{ID: "key_" + o.ID + "_" + string(role), OrgID: o.ID, Role: role, Name: string(role) + " key", Platform: o.ID == "ops" && role == octomesh.RoleOwner}
			raw, err := apikey.Mint(k)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.CreateKey(ctx, k); err != nil {
				t.Fatal(err)
			}
			bs.keys[o.ID+"/"+string(role)] = raw.Reveal()
		}
	}
	bs.keys["operator"] = bs.keys["ops/owner"]
	cache, err := apikey.NewCache(ctx, db, apikey.CacheOptions{Now: bs.now})
	if err != nil {
		t.Fatal(err)
	}
	rate, _ := billing.ParseTaxRate("0.20")
	svc := billing.New(billing.Options{Ledger: db, Orgs: db, Customers: db, Keys: db, TaxRate: rate, WebhookSecret: testWhsec, Now: bs.now,
		Invoicer: stripe.New(stripe.Options{APIKey: "sk_test_http", APIBase: bs.fake.URL, MaxNetworkRetries: -1}),
		OnCredit: func(org string, m octomesh.Money) { bs.hook("credit " + org + " " + m.String()) }})
	api := httpapi.New(httpapi.Options{Service: nil, Auth: cache, Accounts: db, MintKey: apikey.Mint, Now: bs.now,
		Meter: db, Billing: svc, BudgetsChanged: func(org string) { bs.hook("budgets " + org) }})
	ts := httptest.NewServer(api)
	t.Cleanup(ts.Close)
	bs.URL, bs.client = ts.URL, ts.Client()
	return bs
}

func (bs *billingServer) now() time.Time { return bs.clock }

func (bs *billingServer) hook(s string) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	bs.hooks = append(bs.hooks, s)
}

func (bs *billingServer) takeHooks() []string {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	h := bs.hooks
	bs.hooks = nil
	return h
}

type reply struct {
	Status int
	Header http.Header
	Body   string
}

// do sends a request with key (none when "") and returns the answer.
func (bs *billingServer) do(t *testing.T, key, method, path, body string, hdr ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, bs.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := bs.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// json sends a request that must answer status, decoding the body into v.
func (bs *billingServer) json(t *testing.T, key, method, path, body string, status int, v any) reply {
	t.Helper()
	r := bs.do(t, key, method, path, body)
	if r.Status != status {
		t.Fatalf("%s %s: %d %s; want %d", method, path, r.Status, r.Body, status)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(r.Body), v); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, r.Body)
		}
	}
	return r
}

// apiError decodes an OpenAI-shaped error body.
func apiError(t *testing.T, body string) (msg, param string) {
	t.Helper()
	var e struct {
		Error struct {
			Message string  `json:"message"`
			Param   *string `json:"param"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Message == "" {
		t.Fatalf("not an OpenAI error body: %s", body)
	}
	if e.Error.Param != nil {
		param = *e.Error.Param
	}
	return e.Error.Message, param
}

func entry(org, req string, attempt int, model, key, project string, at time.Time, cost octomesh.Money, prompt, completion int64) octomesh.LedgerEntry {
	return octomesh.LedgerEntry{Kind: octomesh.EntryUsage, OrgID: org, RequestID: req, Attempt: attempt, Deployment: model, KeyID: key, Project: project,
		Provider: "sim", PromptTokens: prompt, CompletionTokens: completion, Cost: cost, Outcome: "ok", Start: at, End: at.Add(time.Second)}
}

func (bs *billingServer) seed(t *testing.T, entries ...octomesh.LedgerEntry) {
	t.Helper()
	if n, err := bs.db.AppendEntries(context.Background(), entries); err != nil || n != len(entries) {
		t.Fatalf("AppendEntries = %d, %v", n, err)
	}
}
