package billing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/billing"
	"github.com/octomesh/octomesh/internal/sqlite"
)

var (
	feb10 = time.Date(2026, 2, 10, 12, 0, 0, 0, time.UTC)
	mar01 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	mar15 = time.Date(2026, 3, 15, 9, 30, 0, 0, time.UTC)
	mar31 = time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC)
	apr01 = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	apr02 = time.Date(2026, 4, 2, 8, 0, 0, 0, time.UTC)
)

// march fills org's ledger with a March whose lines exercise the rounding
// rule, plus February usage and top-ups that must stay off March's lines.
func march(t *testing.T, db *sqlite.DB, org string) {
	appendEntries(t, db,
		// February: outside the period.
		usage(org, "req-feb", 1, "sim/a", "key_1", feb10, 100_000_000, 10, 0, 10), // 0.10
		topUp(org, "manual:feb", feb10, 10*octomesh.Dollar),
		// sim/a via key_1: one request, two attempts: 1.234999999 → 1.23.
		usage(org, "req-1", 1, "sim/a", "key_1", mar01, 1_000_000_000, 1000, 200, 0),
		usage(org, "req-1", 2, "sim/a", "key_1", mar15, 234_999_999, 1000, 0, 500),
		// sim/a via key_2: two requests, 2.000 + 0.005 = 2.005 → 2.01 (half up).
		usage(org, "req-2", 1, "sim/a", "key_2", mar15, 2_000_000_000, 100, 0, 100),
		usage(org, "req-3", 1, "sim/a", "key_2", mar31, 5_000_000, 1, 0, 1),
		// sim/b via key_1: 0.004999999 → 0.00.
		usage(org, "req-4", 1, "sim/b", "key_1", mar15, 4_999_999, 7, 0, 3),
		// A goodwill correction tied to no model or key: -0.50.
		octomesh.LedgerEntry{Kind: octomesh.EntryCorrection, OrgID: org, RequestID: "corr-1", Ref: "req-2", Cost: -500_000_000, Start: mar15, Note: "goodwill"},
		topUp(org, "manual:mar", mar15, 5*octomesh.Dollar),
		// April: outside the period.
		usage(org, "req-apr", 1, "sim/a", "key_1", apr01, 7*octomesh.Dollar, 1, 0, 1),
	)
}

func newService(db *sqlite.DB, now time.Time, rate string) *billing.Service {
	r, _ := billing.ParseTaxRate(rate)
	return billing.New(billing.Options{Ledger: db, Orgs: db, Customers: db, Keys: db, TaxRate: r, Now: fixed(now)})
}

func TestStatement(t *testing.T) {
	db := openDB(t)
	newOrg(t, db, "acme", "Acme Ltd", false)
	newKey(t, db, "acme", "key_1", "checkout service")
	march(t, db, "acme")
	m, _ := billing.ParseMonth("2026-03")
	st, err := newService(db, apr02, "0.20").Statement(context.Background(), "acme", m)
	if err != nil {
		t.Fatal(err)
	}
	line := func(model, key, name string, req, att, prompt, cached, completion int64, exact octomesh.Money, amount billing.Cents) billing.Line {
		return billing.Line{Model: model, KeyID: key, KeyName: name, Requests: req, Attempts: att, PromptTokens: prompt, CachedTokens: cached,
			CompletionTokens: completion, AmountExact: billing.Exact(exact), Amount: amount}
	}
	want := &billing.Statement{Object: "statement", OrgID: "acme", OrgName: "Acme Ltd", Period: "2026-03", PeriodStart: mar01, PeriodEnd: apr01,
		Final: true, Currency: "USD", Lines: []billing.Line{
			line("sim/a", "key_1", "checkout service", 1, 2, 2000, 200, 500, 1_234_999_999, 123),
			line("sim/a", "key_2", "", 2, 2, 101, 0, 101, 2_005_000_000, 201),
			line("sim/b", "key_1", "checkout service", 1, 1, 7, 0, 3, 4_999_999, 0),
			line("", "", "", 0, 0, 0, 0, 0, -500_000_000, -50),
		},
		SubtotalExact: 2_744_999_998, Subtotal: 274, TaxRate: 200_000_000, Tax: 55, Total: 329, AmountDue: 329,
		Credits:     billing.Credits{OpeningBalance: 9_900_000_000, TopUps: 5 * billing.Exact(octomesh.Dollar), Spend: 2_744_999_998, ClosingBalance: 12_155_000_002},
		GeneratedAt: apr02}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("statement (-want +got):\n%s", diff)
	}

	// The JSON shows amounts as decimal strings.
	b, _ := json.Marshal(st)
	for _, s := range []string{`"subtotal_exact":"2.744999998"`, `"subtotal":"2.74"`, `"tax_rate":"0.20"`, `"tax":"0.55"`, `"total":"3.29"`,
		`"amount_due":"3.29"`, `{"model":"sim/a","key_id":"key_2","requests":2,"attempts":2,"prompt_tokens":101,"cached_tokens":0,"cache_write_tokens":0,"completion_tokens":101,"estimated_entries":0,"amount_exact":"2.005","amount":"2.01"}`,
		`"closing_balance":"12.155000002"`, `"period_start":"2026-03-01T00:00:00Z"`, `"final":true`} {
		if !bytes.Contains(b, []byte(s)) {
			t.Errorf("statement JSON lacks %s:\n%s", s, b)
		}
	}
}

func TestStatementProvisionalPrepaidAndEmpty(t *testing.T) {
	db := openDB(t)
	newOrg(t, db, "pre", "Prepaid Co", true)
	march(t, db, "pre")
	newOrg(t, db, "idle", "Idle Co", false)
	m, _ := billing.ParseMonth("2026-03")
	s := newService(db, mar15, "0")
	st, err := s.Statement(context.Background(), "pre", m)
	if err != nil {
		t.Fatal(err)
	}
	if st.Final || !st.Prepaid || st.Tax != 0 || st.Total != 274 || st.AmountDue != 0 {
		t.Errorf("prepaid provisional statement: final %v prepaid %v tax %s total %s due %s", st.Final, st.Prepaid, st.Tax, st.Total, st.AmountDue)
	}
	st, err = s.Statement(context.Background(), "idle", m)
	if err != nil || len(st.Lines) != 0 || st.Lines == nil || st.Total != 0 || st.Credits != (billing.Credits{}) {
		t.Errorf("empty statement: %+v, %v", st, err)
	}
	if _, err := s.Statement(context.Background(), "nope", m); octomesh.ErrorCodeOf(err) != octomesh.ENOTFOUND {
		t.Errorf("unknown org: %v", err)
	}
}

func TestStatementHTML(t *testing.T) {
	db := openDB(t)
	hostile := `<script>alert("x")</script> & Sons <img src=x onerror=alert(1)>`
	newOrg(t, db, "evil", hostile, false)
	newKey(t, db, "evil", "key_1", `</td><script>k()</script>`)
	march(t, db, "evil")
	m, _ := billing.ParseMonth("2026-03")
	st, err := newService(db, apr02, "0.20").Statement(context.Background(), "evil", m)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := st.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, s := range []string{
		"<title>Statement 2026-03 — &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Sons &lt;img src=x onerror=alert(1)&gt;</title>",
		"<strong>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Sons &lt;img src=x onerror=alert(1)&gt;</strong>",
		"&lt;/td&gt;&lt;script&gt;k()&lt;/script&gt;<br><code>key_1</code>",
		"Period 2026-03 · 1 March 2026 to 31 March 2026 (UTC)",
		`<td class="num">2,000</td>`, `<td class="num">1.23</td>`, `<td class="num">2.01</td>`, `<td class="num">-0.50</td>`, "<td>Adjustments</td>",
		`Subtotal</td><td class="num">2.74</td>`, `Tax (20%)</td><td class="num">0.55</td>`, `Total USD</td><td class="num">3.29</td>`,
		"@media print", "Closing balance</dt><dd>12.155000002</dd>",
	} {
		if !strings.Contains(page, s) {
			t.Errorf("the page lacks %q", s)
		}
	}
	for _, s := range []string{"<script", "<img", "http://", "https://", "<link", "src=\"", "provisional"} {
		if strings.Contains(page, s) {
			t.Errorf("the page contains %q", s)
		}
	}
}
