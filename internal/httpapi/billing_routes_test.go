package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/billing/stripefake"
)

var (
	mar02 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	mar20 = time.Date(2026, 3, 20, 18, 30, 0, 0, time.UTC)
	apr03 = time.Date(2026, 4, 3, 9, 0, 0, 0, time.UTC)
)

// seedMarch gives acme and beta some March usage (and acme some April).
func seedMarch(t *testing.T, bs *billingServer) {
	bs.seed(t,
		entry("acme", "r1", 1, "sim/a", "key_acme_member", "web", mar02, 1_500_000_000, 1000, 100),
		entry("acme", "r1", 2, "sim/b", "key_acme_member", "web", mar02, 2_005_000_000, 2000, 200),
		entry("acme", "r2", 1, "sim/a", "key_acme_admin", "batch", mar20, 250_000_000, 300, 30),
		entry("acme", "r3", 1, "sim/a", "key_acme_member", "web", apr03, 9*octomesh.Dollar, 1, 1),
		entry("beta", "r1", 1, "sim/a", "key_beta_member", "", mar02, 7*octomesh.Dollar, 5, 5),
	)
}

func TestUsageRoutes(t *testing.T) {
	bs := newBillingServer(t, apr03)
	seedMarch(t, bs)
	owner := bs.keys["acme/owner"]
	var rep struct {
		Object  string            `json:"object"`
		GroupBy []string          `json:"group_by"`
		Data    []json.RawMessage `json:"data"`
	}
	bs.json(t, owner, "GET", "/v1/orgs/acme/usage?from=2026-03-01&to=2026-03-31&group_by=model", "", 200, &rep)
	got := []string{}
	for _, d := range rep.Data {
		got = append(got, string(d))
	}
	want := []string{
		`{"object":"usage","model":"sim/a","requests":2,"attempts":2,"prompt_tokens":1300,"completion_tokens":130,"cached_tokens":0,"cache_write_tokens":0,"estimated_entries":0,"cost":"1.75"}`,
		`{"object":"usage","model":"sim/b","requests":1,"attempts":1,"prompt_tokens":2000,"completion_tokens":200,"cached_tokens":0,"cache_write_tokens":0,"estimated_entries":0,"cost":"2.005"}`,
	}
	if rep.Object != "list" || strings.Join(rep.GroupBy, ",") != "model" || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("usage by model: %s %v\n%s\nwant\n%s", rep.Object, rep.GroupBy, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The caller's own organisation, filtered, as CSV.
	r := bs.do(t, bs.keys["acme/viewer"], "GET", "/v1/usage?from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z&key=key_acme_member&group_by=day,project&format=csv", "")
	wantCSV := "day,project,requests,attempts,prompt_tokens,cached_tokens,cache_write_tokens,completion_tokens,estimated_entries,cost\n" +
		"2026-03-02,web,1,2,3000,0,0,300,0,3.505\n"
	if r.Status != 200 || r.Body != wantCSV || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		r.Header.Get("Content-Disposition") != `attachment; filename="usage-acme.csv"` {
		t.Errorf("CSV: %d %v\n%s\nwant\n%s", r.Status, r.Header, r.Body, wantCSV)
	}
	// No groups: one total row; all time, spend only.
	bs.json(t, bs.keys["acme/billing"], "GET", "/v1/orgs/acme/usage", "", 200, &rep)
	if len(rep.Data) != 1 || !strings.Contains(string(rep.Data[0]), `"cost":"12.755"`) {
		t.Errorf("total: %s", rep.Data)
	}

	for _, tt := range []struct{ query, param, msg string }{
		{"from=yesterday", "from", "RFC 3339"},
		{"to=2026-02-30", "to", "RFC 3339"},
		{"from=2026-03-10&to=2026-03-09", "to", "after from"},
		{"group_by=model,model", "group_by", "each once"},
		{"group_by=colour", "group_by", "day, model"},
		{"format=xml", "format", "json, csv"},
		{"kind=refund", "kind", "usage, correction, topup"},
		{"limit=5", "limit", "unknown query parameter"},
		{"model=a&model=b", "model", "more than once"},
		{"key=" + strings.Repeat("k", 201), "key", "at most 200"},
		{"project=%0Aevil", "project", "control characters"},
	} {
		r := bs.do(t, owner, "GET", "/v1/orgs/acme/usage?"+tt.query, "")
		msg, param := apiError(t, r.Body)
		if r.Status != 400 || param != tt.param || !strings.Contains(msg, tt.msg) {
			t.Errorf("?%s: %d %q (param %q); want 400 mentioning %q, param %q", tt.query, r.Status, msg, param, tt.msg, tt.param)
		}
	}
	// Roles: members cannot read the organisation's usage; other organisations are 404.
	if r := bs.do(t, bs.keys["acme/member"], "GET", "/v1/usage", ""); r.Status != 403 {
		t.Errorf("member: %d %s", r.Status, r.Body)
	}
	if r := bs.do(t, bs.keys["beta/owner"], "GET", "/v1/orgs/acme/usage", ""); r.Status != 404 || strings.Contains(r.Body, "sim/") {
		t.Errorf("foreign org: %d %s", r.Status, r.Body)
	}
}

func TestLedgerRoute(t *testing.T) {
	bs := newBillingServer(t, apr03)
	seedMarch(t, bs)
	owner := bs.keys["acme/owner"]
	var page struct {
		Data []struct {
			Seq       int64  `json:"seq"`
			RequestID string `json:"request_id"`
			Attempt   int    `json:"attempt"`
			Cost      string `json:"cost"`
			OrgID     string `json:"org_id"`
		} `json:"data"`
		HasMore bool  `json:"has_more"`
		Next    int64 `json:"next_after_seq"`
	}
	bs.json(t, owner, "GET", "/v1/orgs/acme/ledger?limit=2", "", 200, &page)
	if len(page.Data) != 2 || !page.HasMore || page.Next != page.Data[1].Seq || page.Data[0].RequestID != "r1" || page.Data[1].Cost != "2.005" {
		t.Fatalf("first page %+v", page)
	}
	next := page.Next
	page.Data, page.Next = nil, 0
	bs.json(t, owner, "GET", "/v1/orgs/acme/ledger?limit=2&after_seq="+itoa(next), "", 200, &page)
	if len(page.Data) != 2 || page.HasMore || page.Next != 0 || page.Data[0].RequestID != "r2" || page.Data[1].RequestID != "r3" {
		t.Fatalf("second page %+v", page)
	}
	// The export: everything from after_seq on, whatever the limit.
	r := bs.do(t, owner, "GET", "/v1/orgs/acme/ledger?format=csv&limit=1&to=2026-04-01", "")
	lines := strings.Split(strings.TrimSpace(r.Body), "\n")
	if r.Status != 200 || len(lines) != 4 || !strings.HasPrefix(lines[0], "seq,kind,org_id,") || r.Header.Get("Content-Disposition") != `attachment; filename="ledger-acme.csv"` {
		t.Errorf("CSV export: %d %v\n%s", r.Status, r.Header, r.Body)
	}
	r = bs.do(t, owner, "GET", "/v1/orgs/acme/ledger?format=ndjson&model=sim/b", "")
	if r.Status != 200 || strings.Count(r.Body, "\n") != 1 || !strings.Contains(r.Body, `"deployment":"sim/b"`) || r.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Errorf("JSON Lines export: %d %v\n%s", r.Status, r.Header, r.Body)
	}
	r = bs.do(t, owner, "GET", "/v1/orgs/acme/ledger?format=csv&from=2030-01-01", "")
	if r.Status != 200 || strings.Count(r.Body, "\n") != 1 {
		t.Errorf("empty export: %d %q", r.Status, r.Body)
	}
	for _, q := range []string{"limit=0", "limit=1001", "after_seq=-1", "group_by=day", "format=html"} {
		if r := bs.do(t, owner, "GET", "/v1/orgs/acme/ledger?"+q, ""); r.Status != 400 {
			t.Errorf("?%s: %d %s", q, r.Status, r.Body)
		}
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestStatementRoute(t *testing.T) {
	bs := newBillingServer(t, apr03)
	seedMarch(t, bs)
	var st struct {
		OrgName  string `json:"org_name"`
		Subtotal string `json:"subtotal"`
		Tax      string `json:"tax"`
		Total    string `json:"total"`
		Lines    []struct {
			Model, KeyID, KeyName, Amount string
		} `json:"lines"`
	}
	bs.json(t, bs.keys["acme/billing"], "GET", "/v1/orgs/acme/statements/2026-03", "", 200, &st)
	// sim/a·admin 0.25, sim/a·member 1.50, sim/b·member 2.005 → 2.01: 3.76; tax 0.752 → 0.75.
	if st.OrgName != "Acme <Ltd>" || st.Subtotal != "3.76" || st.Tax != "0.75" || st.Total != "4.51" || len(st.Lines) != 3 {
		t.Errorf("statement %+v", st)
	}
	r := bs.do(t, bs.keys["acme/viewer"], "GET", "/v1/orgs/acme/statements/2026-03?format=html", "")
	if r.Status != 200 || r.Header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(r.Header.Get("Content-Security-Policy"), "default-src 'none'") ||
		!strings.Contains(r.Body, "<strong>Acme &lt;Ltd&gt;</strong>") || !strings.Contains(r.Body, `Total USD</td><td class="num">4.51</td>`) {
		t.Errorf("HTML: %d %v\n%.400s", r.Status, r.Header, r.Body)
	}
	for path, want := range map[string]int{
		"/v1/orgs/acme/statements/2026-3":             400,
		"/v1/orgs/acme/statements/2026-03?format=pdf": 400,
		"/v1/orgs/acme/statements/2026-03?x=1":        400,
		"/v1/orgs/beta/statements/2026-03":            404,
	} {
		if r := bs.do(t, bs.keys["acme/owner"], "GET", path, ""); r.Status != want {
			t.Errorf("%s: %d %s; want %d", path, r.Status, r.Body, want)
		}
	}
}

func TestBudgetRoutes(t *testing.T) {
	bs := newBillingServer(t, apr03)
	seedMarch(t, bs)
	admin := bs.keys["acme/admin"]
	type budget struct {
		ID           string  `json:"id"`
		OrgID        string  `json:"org_id"`
		Name         string  `json:"name"`
		Scope        string  `json:"scope"`
		Subject      string  `json:"subject"`
		Period       string  `json:"period"`
		Limit        string  `json:"limit"`
		Hard         bool    `json:"hard"`
		AlertPercent int     `json:"alert_percent"`
		Spent        string  `json:"spent"`
		PeriodStart  *string `json:"period_start"`
	}
	var b budget
	bs.json(t, admin, "POST", "/v1/orgs/acme/budgets", `{"name":"March cap","limit":"12.50"}`, 201, &b)
	if !strings.HasPrefix(b.ID, "bud_") || b.OrgID != "acme" || b.Scope != "org" || b.Period != "month" || b.Limit != "12.50" || !b.Hard ||
		b.AlertPercent != 80 || b.Spent != "9.00" || b.PeriodStart == nil || *b.PeriodStart != "2026-04-01T00:00:00Z" {
		t.Errorf("created %+v", b)
	}
	var k budget
	bs.json(t, bs.keys["acme/billing"], "POST", "/v1/orgs/acme/budgets", `{"scope":"key","subject":"key_acme_member","period":"day","limit":"0.000000001","hard":false,"alert_percent":50}`, 201, &k)
	if k.Limit != "0.000000001" || k.Hard || k.AlertPercent != 50 || k.Spent != "9.00" || *k.PeriodStart != "2026-04-03T00:00:00Z" {
		t.Errorf("key budget %+v", k)
	}
	if h := bs.takeHooks(); strings.Join(h, "|") != "budgets acme|budgets acme" {
		t.Errorf("hooks %q", h)
	}
	var list struct{ Data []budget }
	bs.json(t, bs.keys["acme/viewer"], "GET", "/v1/orgs/acme/budgets", "", 200, &list)
	if len(list.Data) != 2 {
		t.Errorf("list %+v", list)
	}
	bs.json(t, admin, "PATCH", "/v1/orgs/acme/budgets/"+b.ID, `{"limit":"20","hard":false,"name":"Raised"}`, 200, &b)
	if b.Limit != "20.00" || b.Hard || b.Name != "Raised" {
		t.Errorf("patched %+v", b)
	}
	bs.json(t, admin, "GET", "/v1/orgs/acme/budgets/"+b.ID, "", 200, &b)
	if b.Limit != "20.00" {
		t.Errorf("after patch %+v", b)
	}
	for _, tt := range []struct{ method, path, body, param string }{
		{"POST", "/v1/orgs/acme/budgets", `{"limit":12.5}`, "limit"},
		{"POST", "/v1/orgs/acme/budgets", `{"limit":"-1"}`, "limit"},
		{"POST", "/v1/orgs/acme/budgets", `{"limit":"1e3"}`, "limit"},
		{"POST", "/v1/orgs/acme/budgets", `{}`, "limit"},
		{"POST", "/v1/orgs/acme/budgets", `{"limit":"1","scope":"team","subject":"x"}`, "scope"},
		{"POST", "/v1/orgs/acme/budgets", `{"limit":"1","scope":"key"}`, "subject"},
		{"POST", "/v1/orgs/acme/budgets", `{"limit":"1","period":"week"}`, "period"},
		{"POST", "/v1/orgs/acme/budgets", `{"limit":"1","alert_percent":0}`, "alert_percent"},
		{"POST", "/v1/orgs/acme/budgets", `{"limit":"1","scope":"key","subject":"key_beta_owner"}`, "subject"},
		{"POST", "/v1/orgs/acme/budgets", `{"limit":"1","scope":"user","subject":"usr_beta"}`, "subject"},
		{"PATCH", "/v1/orgs/acme/budgets/" + b.ID, `{"scope":"key"}`, "scope"},
		{"PATCH", "/v1/orgs/acme/budgets/" + b.ID, `{"limit":"0"}`, "limit"},
	} {
		r := bs.do(t, admin, tt.method, tt.path, tt.body)
		if _, param := apiError(t, r.Body); r.Status != 400 || param != tt.param {
			t.Errorf("%s %s: %d %s; want 400 on %s", tt.method, tt.body, r.Status, r.Body, tt.param)
		}
	}
	// A foreign key subject is refused exactly like a missing one.
	a := bs.do(t, admin, "POST", "/v1/orgs/acme/budgets", `{"limit":"1","scope":"key","subject":"key_beta_owner"}`)
	m := bs.do(t, admin, "POST", "/v1/orgs/acme/budgets", `{"limit":"1","scope":"key","subject":"key_nope"}`)
	if a.Body != m.Body {
		t.Errorf("foreign %s vs missing %s", a.Body, m.Body)
	}
	// Another organisation's budget through one's own path: 404 like a missing one.
	var betaB budget
	bs.json(t, bs.keys["beta/owner"], "POST", "/v1/orgs/beta/budgets", `{"limit":"5"}`, 201, &betaB)
	f := bs.do(t, admin, "GET", "/v1/orgs/acme/budgets/"+betaB.ID, "")
	mi := bs.do(t, admin, "GET", "/v1/orgs/acme/budgets/bud_nope", "")
	if f.Status != 404 || f.Body != mi.Body {
		t.Errorf("foreign budget %d %s; missing %d %s", f.Status, f.Body, mi.Status, mi.Body)
	}
	if r := bs.do(t, bs.keys["acme/viewer"], "POST", "/v1/orgs/acme/budgets", `{"limit":"1"}`); r.Status != 403 {
		t.Errorf("viewer creates: %d", r.Status)
	}
	bs.takeHooks()
	bs.json(t, admin, "DELETE", "/v1/orgs/acme/budgets/"+b.ID, "", 200, nil)
	if r := bs.do(t, admin, "GET", "/v1/orgs/acme/budgets/"+b.ID, ""); r.Status != 404 {
		t.Errorf("after delete: %d", r.Status)
	}
	if r := bs.do(t, admin, "DELETE", "/v1/orgs/acme/budgets/"+b.ID, ""); r.Status != 404 {
		t.Errorf("second delete: %d", r.Status)
	}
	if h := bs.takeHooks(); strings.Join(h, "|") != "budgets acme" {
		t.Errorf("hooks %q", h)
	}
}

func TestCreditRoutes(t *testing.T) {
	bs := newBillingServer(t, mar20)
	seedMarch(t, bs)
	op := bs.keys["operator"]
	var c struct {
		Amount    string `json:"amount"`
		RequestID string `json:"request_id"`
		Recorded  bool   `json:"recorded"`
		Balance   string `json:"balance"`
	}
	bs.json(t, op, "POST", "/v1/billing/credits", `{"org_id":"beta","amount":"25.00","reference":"wire-1","note":"wire"}`, 201, &c)
	if c.Amount != "25.00" || c.RequestID != "manual:wire-1" || !c.Recorded || c.Balance != "18.00" {
		t.Errorf("grant %+v", c)
	}
	bs.json(t, op, "POST", "/v1/billing/credits", `{"org_id":"beta","amount":"25.00","reference":"wire-1"}`, 200, &c)
	if c.Recorded || c.Balance != "18.00" {
		t.Errorf("repeated grant %+v", c)
	}
	if h := bs.takeHooks(); strings.Join(h, "|") != "credit beta 25.00" {
		t.Errorf("hooks %q", h)
	}
	var bal struct {
		Balance string `json:"balance"`
		Prepaid bool   `json:"prepaid"`
	}
	bs.json(t, bs.keys["beta/viewer"], "GET", "/v1/orgs/beta/credits", "", 200, &bal)
	if bal.Balance != "18.00" || !bal.Prepaid {
		t.Errorf("balance %+v", bal)
	}
	for _, tt := range []struct {
		key, body string
		status    int
	}{
		{bs.keys["beta/owner"], `{"org_id":"beta","amount":"1"}`, 403}, // owners cannot credit themselves
		{op, `{"org_id":"beta","amount":"0"}`, 400},
		{op, `{"org_id":"beta","amount":"abc"}`, 400},
		{op, `{"org_id":"../x","amount":"1"}`, 400},
		{op, `{"org_id":"nope","amount":"1"}`, 404},
		{op, `{"org_id":"beta","amount":"1","extra":1}`, 400},
	} {
		if r := bs.do(t, tt.key, "POST", "/v1/billing/credits", tt.body); r.Status != tt.status {
			t.Errorf("%s: %d %s; want %d", tt.body, r.Status, r.Body, tt.status)
		}
	}
}

func TestStripeRoutes(t *testing.T) {
	bs := newBillingServer(t, apr03)
	seedMarch(t, bs)
	payload := stripefake.Event("evt_1", "checkout.session.completed", apr03, stripefake.CheckoutSession("cs_1", "pi_1", "", "beta", 1000))
	sig := stripefake.Sign(payload, apr03, testWhsec)
	var ack struct {
		Received bool   `json:"received"`
		Action   string `json:"action"`
	}
	for _, want := range []string{"credited", "duplicate"} {
		r := bs.do(t, "", "POST", "/v1/webhooks/stripe", string(payload), "Stripe-Signature", sig)
		if err := json.Unmarshal([]byte(r.Body), &ack); err != nil || r.Status != 200 || ack.Action != want || !ack.Received {
			t.Errorf("webhook: %d %s; want %s", r.Status, r.Body, want)
		}
	}
	if bal, _ := bs.db.Balance(t.Context(), "beta"); bal != 3*octomesh.Dollar {
		t.Errorf("beta's balance %s, want 3.00 (10.00 credited once, 7.00 spent)", bal)
	}
	for name, tt := range map[string]struct {
		body, sig string
		status    int
	}{
		"bad signature": {string(payload), stripefake.Sign(payload, apr03, "whsec_wrong"), 400},
		"stale":         {string(payload), stripefake.Sign(payload, apr03.Add(-10*time.Minute), testWhsec), 400},
		"unsigned":      {string(payload), "", 400},
		"too large":     {strings.Repeat("x", 300<<10), sig, 413},
	} {
		if r := bs.do(t, "", "POST", "/v1/webhooks/stripe", tt.body, "Stripe-Signature", tt.sig); r.Status != tt.status || strings.Contains(r.Body, "cs_1") {
			t.Errorf("%s: %d %s; want %d", name, r.Status, r.Body, tt.status)
		}
	}

	// Invoices: operator keys only; created once, then found.
	var inv struct {
		ID      string `json:"id"`
		Total   string `json:"total"`
		Created bool   `json:"created"`
		Status  string `json:"status"`
	}
	bs.json(t, bs.keys["operator"], "POST", "/v1/billing/stripe/invoices/2026-03", `{"org_id":"acme"}`, 201, &inv)
	if inv.Total != "4.51" || !inv.Created || inv.Status != "open" {
		t.Errorf("invoice %+v", inv)
	}
	bs.json(t, bs.keys["operator"], "POST", "/v1/billing/stripe/invoices/2026-03", `{"org_id":"acme"}`, 200, &inv)
	if inv.Created || len(bs.fake.Invoices()) != 1 || len(bs.fake.InvoiceItems()) != 4 {
		t.Errorf("second push %+v: %d invoices, %d items", inv, len(bs.fake.Invoices()), len(bs.fake.InvoiceItems()))
	}
	for _, tt := range []struct {
		key, path, body string
		status          int
	}{
		{bs.keys["acme/owner"], "/v1/billing/stripe/invoices/2026-03", `{"org_id":"acme"}`, 403},
		{bs.keys["operator"], "/v1/billing/stripe/invoices/2026-04", `{"org_id":"acme"}`, 400}, // not ended
		{bs.keys["operator"], "/v1/billing/stripe/invoices/2026-03", `{"org_id":"beta"}`, 400}, // prepaid
		{bs.keys["operator"], "/v1/billing/stripe/invoices/March", `{"org_id":"acme"}`, 400},
		{bs.keys["operator"], "/v1/billing/stripe/invoices/2026-03", `{}`, 400},
	} {
		if r := bs.do(t, tt.key, "POST", tt.path, tt.body); r.Status != tt.status {
			t.Errorf("%s %s: %d %s; want %d", tt.path, tt.body, r.Status, r.Body, tt.status)
		}
	}
}
