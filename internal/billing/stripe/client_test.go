package stripe_test

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/billing"
	"github.com/octomesh/octomesh/internal/billing/stripe"
	"github.com/octomesh/octomesh/internal/billing/stripefake"
	"github.com/octomesh/octomesh/internal/sqlite"
)

var (
	mar15 = time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)
	apr02 = time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC)
	march = billing.Month{Year: 2026, Month: time.March}
)

type world struct {
	db   *sqlite.DB
	fake *stripefake.Server
	svc  *billing.Service
}

// newWorld is a postpaid organisation "acme" with three March lines (one
// of which rounds to zero) and a 20 % tax, invoiced on a fake Stripe.
func newWorld(t *testing.T, retries int64, now time.Time, hc ...*http.Client) *world {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, o := range []*octomesh.Org{{ID: "acme", Name: "Acme Ltd", BillingEmail: "ap@acme.example"}, {ID: "pre", Name: "Prepaid", Settings: octomesh.OrgSettings{Prepaid: true}}, {ID: "idle", Name: "Idle"}} {
		if err := db.CreateOrg(ctx, o, &octomesh.User{ID: "usr_" + o.ID, Name: "Owner"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	u := func(org, req, model, key string, cost octomesh.Money) octomesh.LedgerEntry {
		return octomesh.LedgerEntry{Kind: octomesh.EntryUsage, OrgID: org, RequestID: req, Attempt: 1, Deployment: model, KeyID: key, Cost: cost, PromptTokens: 1000, CompletionTokens: 10, Start: mar15}
	}
	if _, err := db.AppendEntries(ctx, []octomesh.LedgerEntry{
		u("acme", "r1", "sim/a", "key_1", 12_345_000_000), // 12.345 → 12.35
		u("acme", "r2", "sim/b", "key_1", 7_004_999_999),  // 7.004999999 → 7.00
		u("acme", "r3", "sim/b", "key_2", 4_000_000),      // 0.004 → 0.00: not invoiced
		u("pre", "r1", "sim/a", "key_1", octomesh.Dollar),
	}); err != nil {
		t.Fatal(err)
	}
	fake := stripefake.New(t, "sk_test_octomesh")
	rate, _ := billing.ParseTaxRate("0.20")
	o := stripe.Options{APIKey: "sk_test_octomesh", APIBase: fake.URL, MaxNetworkRetries: retries, DaysUntilDue: 14}
	if len(hc) > 0 {
		o.HTTPClient = hc[0]
	}
	inv := stripe.New(o)
	svc := billing.New(billing.Options{Ledger: db, Orgs: db, Customers: db, TaxRate: rate, Invoicer: inv, Now: func() time.Time { return now }})
	return &world{db: db, fake: fake, svc: svc}
}

func posts(reqs []stripefake.Request) []string {
	var out []string
	for _, r := range reqs {
		if r.Method == "POST" {
			s := r.Path
			if r.Replayed {
				s += " (replayed)"
			}
			out = append(out, s)
		}
	}
	return out
}

func TestPushInvoice(t *testing.T) {
	w := newWorld(t, -1, apr02)
	ctx := context.Background()
	inv, err := w.svc.PushInvoice(ctx, "acme", march)
	if err != nil {
		t.Fatal(err)
	}
	// 12.35 + 7.00 = 19.35; tax 3.87; total 23.22.
	if inv.Total != 2322 || inv.Items != 3 || !inv.Created || inv.Status != "open" || inv.Number == "" || inv.OrgID != "acme" || inv.Period != "2026-03" {
		t.Errorf("invoice %+v", inv)
	}
	cs := w.fake.Customers()
	if len(cs) != 1 || *cs[0].Name != "Acme Ltd" || *cs[0].Email != "ap@acme.example" || cs[0].Metadata["octomesh_org"] != "acme" {
		t.Fatalf("customers %+v", cs)
	}
	if id, err := w.db.CustomerID(ctx, "acme", "stripe"); err != nil || id != cs[0].ID || inv.CustomerID != id {
		t.Errorf("stored customer %q, %v; want %s", id, err, cs[0].ID)
	}
	invs := w.fake.Invoices()
	if len(invs) != 1 || invs[0].Customer != cs[0].ID || invs[0].CollectionMethod != "send_invoice" || *invs[0].DaysUntilDue != 14 ||
		invs[0].Metadata["octomesh_period"] != "2026-03" || !invs[0].AutoAdvance {
		t.Errorf("invoices %+v", invs)
	}
	var got []string
	for _, it := range w.fake.InvoiceItems() {
		got = append(got, it.Currency+" "+strings.SplitN(*it.Description, " · ", 2)[0]+" "+billing.Cents(it.Amount).String())
	}
	if want := "usd sim/a 12.35|usd sim/b 7.00|usd Tax (20%) 3.87"; strings.Join(got, "|") != want {
		t.Errorf("items %q, want %q", got, want)
	}
	if want := "/v1/customers|/v1/invoices|/v1/invoiceitems|/v1/invoiceitems|/v1/invoiceitems|/v1/invoices/" + invs[0].ID + "/finalize"; strings.Join(posts(w.fake.Requests()), "|") != want {
		t.Errorf("writes %q, want %q", posts(w.fake.Requests()), want)
	}
	for _, r := range w.fake.Requests() {
		if r.Method == "POST" && !strings.HasPrefix(r.IdempotencyKey, "octomesh-") {
			t.Errorf("%s sent without our idempotency key: %q", r.Path, r.IdempotencyKey)
		}
	}

	// Pushing again changes nothing at Stripe.
	before := len(w.fake.Requests())
	again, err := w.svc.PushInvoice(ctx, "acme", march)
	if err != nil || again.Created || again.ID != inv.ID || again.Total != 2322 {
		t.Errorf("second push: %+v, %v", again, err)
	}
	if p := posts(w.fake.Requests()[before:]); len(p) != 0 || len(w.fake.InvoiceItems()) != 3 || len(w.fake.Invoices()) != 1 {
		t.Errorf("second push wrote %q; %d items, %d invoices", p, len(w.fake.InvoiceItems()), len(w.fake.Invoices()))
	}
}

// TestPushInvoiceRecovers loses answers and fails requests half-way; the
// next push completes the invoice without a duplicate item. (Keep-alives
// are off: Go's transport would otherwise resend a request with an
// Idempotency-Key on a reused connection by itself.)
func TestPushInvoiceRecovers(t *testing.T) {
	w := newWorld(t, -1, apr02, &http.Client{Transport: &http.Transport{DisableKeepAlives: true}})
	ctx := context.Background()
	w.fake.DropNext("POST", "/v1/invoiceitems", 1) // created at Stripe, answer lost
	if _, err := w.svc.PushInvoice(ctx, "acme", march); octomesh.ErrorCodeOf(err) != octomesh.EUPSTREAM {
		t.Fatalf("push with a lost answer: %v, want EUPSTREAM", err)
	}
	w.fake.FailNext("POST", "/v1/invoices/"+w.fake.Invoices()[0].ID+"/finalize", 1)
	if _, err := w.svc.PushInvoice(ctx, "acme", march); octomesh.ErrorCodeOf(err) != octomesh.EUPSTREAM || !strings.Contains(err.Error(), "finalize") {
		t.Fatalf("push with a failing finalize: %v", err)
	}
	if n := len(w.fake.InvoiceItems()); n != 3 {
		t.Errorf("%d items after the failed pushes, want 3 (one each)", n)
	}
	inv, err := w.svc.PushInvoice(ctx, "acme", march)
	if err != nil || inv.Total != 2322 || inv.Status != "open" || len(w.fake.Invoices()) != 1 || len(w.fake.InvoiceItems()) != 3 || len(w.fake.Customers()) != 1 {
		t.Errorf("third push: %+v, %v; %d invoices, %d items, %d customers", inv, err, len(w.fake.Invoices()), len(w.fake.InvoiceItems()), len(w.fake.Customers()))
	}
}

// TestPushInvoiceNetworkRetry lets stripe-go retry a lost answer with the
// same idempotency key: Stripe replays the saved answer, nothing doubles.
func TestPushInvoiceNetworkRetry(t *testing.T) {
	w := newWorld(t, 1, apr02)
	w.fake.DropNext("POST", "/v1/invoiceitems", 1)
	inv, err := w.svc.PushInvoice(context.Background(), "acme", march)
	if err != nil || inv.Total != 2322 || len(w.fake.InvoiceItems()) != 3 {
		t.Fatalf("push: %+v, %v; %d items", inv, err, len(w.fake.InvoiceItems()))
	}
	p := posts(w.fake.Requests())
	if p[2] != "/v1/invoiceitems" || p[3] != "/v1/invoiceitems (replayed)" {
		t.Errorf("writes %q: want the lost item's retry replayed", p)
	}
}

func TestPushInvoiceRefusals(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, -1, time.Date(2026, 3, 31, 23, 0, 0, 0, time.UTC))
	if _, err := w.svc.PushInvoice(ctx, "acme", march); octomesh.ErrorCodeOf(err) != octomesh.EINVALID || !strings.Contains(err.Error(), "not ended") {
		t.Errorf("open period: %v", err)
	}
	w = newWorld(t, -1, apr02)
	for org, want := range map[string]string{"pre": "prepaid", "idle": "nothing to invoice"} {
		if _, err := w.svc.PushInvoice(ctx, org, march); octomesh.ErrorCodeOf(err) != octomesh.EINVALID || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want EINVALID mentioning %q", org, err, want)
		}
	}
	if _, err := w.svc.PushInvoice(ctx, "nope", march); octomesh.ErrorCodeOf(err) != octomesh.ENOTFOUND {
		t.Errorf("unknown org: %v", err)
	}
	if len(w.fake.Requests()) != 0 {
		t.Errorf("refused pushes reached Stripe: %v", w.fake.Requests())
	}
	// A wrong API key is an upstream auth error.
	bad := billing.New(billing.Options{Ledger: w.db, Orgs: w.db, Customers: w.db, Now: func() time.Time { return apr02 },
		Invoicer: stripe.New(stripe.Options{APIKey: "sk_test_wrong", APIBase: w.fake.URL, MaxNetworkRetries: -1})})
	if _, err := bad.PushInvoice(ctx, "acme", march); octomesh.ErrorCodeOf(err) != octomesh.EUPSTREAMAUTH || strings.Contains(octomesh.ErrorMessage(err), "sk_test") {
		t.Errorf("wrong key: %v", err)
	}
}

// TestCustomerFoundBySearch adopts a customer made in Stripe's dashboard.
func TestCustomerFoundBySearch(t *testing.T) {
	w := newWorld(t, -1, apr02)
	id := w.fake.AddCustomer("Acme (dashboard)", map[string]string{"octomesh_org": "acme"})
	inv, err := w.svc.PushInvoice(context.Background(), "acme", march)
	if err != nil || inv.CustomerID != id || len(w.fake.Customers()) != 1 {
		t.Errorf("push: %+v, %v; customers %d", inv, err, len(w.fake.Customers()))
	}
}

// TestFakeIdempotency checks the fake itself: a key replays its first
// answer, and reusing it with other parameters is an idempotency_error.
func TestFakeIdempotency(t *testing.T) {
	fake := stripefake.New(t, "sk_test_x")
	post := func(key string, form url.Values) (int, string, string) {
		req, _ := http.NewRequest("POST", fake.URL+"/v1/customers", strings.NewReader(form.Encode()))
		req.Header.Set("Authorization", "Bearer sk_test_x")
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, resp.Header.Get("Idempotent-Replayed"), b.String()
	}
	s1, r1, b1 := post("k1", url.Values{"name": {"A"}})
	s2, r2, b2 := post("k1", url.Values{"name": {"A"}})
	s3, _, b3 := post("k1", url.Values{"name": {"B"}})
	if s1 != 200 || r1 != "" || s2 != 200 || r2 != "true" || b1 != b2 || s3 != 400 || !strings.Contains(b3, `"type":"idempotency_error"`) || len(fake.Customers()) != 1 {
		t.Errorf("first %d %q, replay %d %q same=%v, other params %d %s; customers %d", s1, r1, s2, r2, b1 == b2, s3, b3, len(fake.Customers()))
	}
}
