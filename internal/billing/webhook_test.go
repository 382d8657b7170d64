package billing_test

import (
	"context"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/billing"
	"github.com/octomesh/octomesh/internal/billing/stripefake"
	"github.com/octomesh/octomesh/internal/sqlite"
)

const whsec = "whsec_test_secret"

var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func TestVerifySignature(t *testing.T) {
	payload := []byte(`{"id":"evt_1","object":"event"}`)
	good := stripefake.Sign(payload, now, whsec)
	other := stripefake.Sign(payload, now, "whsec_other")
	ts := strconv.FormatInt(now.Unix(), 10)
	for _, tt := range []struct {
		name    string
		payload []byte
		header  string
		now     time.Time
		wantErr string
	}{
		{"good (stripe-go's signer)", payload, good, now, ""},
		{"4m59s old", payload, good, now.Add(4*time.Minute + 59*time.Second), ""},
		{"clock 4m59s behind", payload, good, now.Add(-4*time.Minute - 59*time.Second), ""},
		{"rolled secret: one of two v1 matches", payload, other + ",v1=" + strings.Split(good, "v1=")[1], now, ""},
		{"v0 ignored beside a good v1", payload, good + ",v0=" + strings.Repeat("ab", 32), now, ""},
		{"stale: 5m01s old", payload, good, now.Add(5*time.Minute + time.Second), "tolerance"},
		{"from the future", payload, good, now.Add(-5*time.Minute - time.Second), "tolerance"},
		{"wrong secret", payload, other, now, "no valid Stripe signature"},
		{"tampered payload", []byte(`{"id":"evt_2","object":"event"}`), good, now, "no valid Stripe signature"},
		{"missing", payload, "", now, "missing"},
		{"no timestamp", payload, "v1=" + strings.Repeat("ab", 32), now, "no timestamp"},
		{"no v1", payload, "t=" + ts + ",v0=" + strings.Repeat("ab", 32), now, "no v1"},
		{"v1 not hex", payload, "t=" + ts + ",v1=zz", now, "no v1"},
		{"malformed", payload, "garbage", now, "malformed"},
		{"bad timestamp", payload, "t=abc,v1=" + strings.Repeat("ab", 32), now, "malformed"},
		{"timestamp changed", payload, strings.Replace(good, "t="+ts, "t="+strconv.FormatInt(now.Unix()+1, 10), 1), now, "no valid Stripe signature"},
		{"huge header", payload, good + strings.Repeat(",x=y", 2000), now, "too long"},
	} {
		err := billing.VerifySignature(tt.payload, tt.header, whsec, tt.now)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantErr != "" && (octomesh.ErrorCodeOf(err) != octomesh.EINVALID || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: err = %v, want EINVALID mentioning %q", tt.name, err, tt.wantErr)
		}
	}
	if err := billing.VerifySignature(payload, good, "", now); err == nil {
		t.Error("an empty secret verified a signature")
	}
	// Our signer agrees with stripe-go's verifier.
	h := billing.SignatureHeader(payload, time.Now(), whsec)
	if err := webhook.ValidatePayload(payload, h, whsec); err != nil {
		t.Errorf("stripe-go rejects our signature %s: %v", h, err)
	}
	if got, want := hex.EncodeToString(billing.Sign(payload, now.Unix(), whsec)), hex.EncodeToString(webhook.ComputeSignature(now, payload, whsec)); got != want {
		t.Errorf("Sign = %s, stripe-go computes %s", got, want)
	}
}

// webhookWorld is a service with a webhook secret over a real store, and
// the credits OnCredit saw.
type webhookWorld struct {
	db      *sqlite.DB
	s       *billing.Service
	mu      sync.Mutex
	credits []string
}

func newWebhookWorld(t testing.TB) *webhookWorld {
	w := &webhookWorld{db: openDB(t)}
	newOrg(t, w.db, "acme", "Acme", true)
	newOrg(t, w.db, "beta", "Beta", true)
	if err := w.db.SetCustomerID(context.Background(), "beta", "stripe", "cus_beta"); err != nil {
		t.Fatal(err)
	}
	w.s = billing.New(billing.Options{Ledger: w.db, Orgs: w.db, Customers: w.db, WebhookSecret: whsec, Now: fixed(now),
		OnCredit: func(org string, m octomesh.Money) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.credits = append(w.credits, org+" "+m.String())
		}})
	return w
}

func (w *webhookWorld) deliver(t testing.TB, payload []byte) (*billing.WebhookResult, error) {
	t.Helper()
	return w.s.HandleStripeWebhook(context.Background(), payload, stripefake.Sign(payload, now, whsec))
}

func (w *webhookWorld) balance(t testing.TB, org string) octomesh.Money {
	t.Helper()
	b, err := w.db.Balance(context.Background(), org)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWebhookTopUps(t *testing.T) {
	w := newWebhookWorld(t)
	ev := func(id, typ string, obj map[string]any) []byte {
		return stripefake.Event(id, typ, now.Add(-time.Minute), obj)
	}
	session := ev("evt_1", "checkout.session.completed", stripefake.CheckoutSession("cs_1", "pi_1", "", "acme", 2500))
	steps := []struct {
		name    string
		payload []byte
		action  string
		reason  string
		balance octomesh.Money // acme's, after the step
	}{
		{"checkout session paid", session, billing.ActionCredited, "", 25 * octomesh.Dollar},
		{"the same event replayed", session, billing.ActionDuplicate, "", 25 * octomesh.Dollar},
		{"its payment intent's event", ev("evt_2", "payment_intent.succeeded", stripefake.PaymentIntent("pi_1", "", "acme", 2500)), billing.ActionDuplicate, "", 25 * octomesh.Dollar},
		{"another payment", ev("evt_3", "payment_intent.succeeded", stripefake.PaymentIntent("pi_2", "", "acme", 1)), billing.ActionCredited, "", 25*octomesh.Dollar + 10_000_000},
		{"session without a payment intent", ev("evt_4", "checkout.session.async_payment_succeeded", stripefake.CheckoutSession("cs_2", "", "", "acme", 100)), billing.ActionCredited, "", 26*octomesh.Dollar + 10_000_000},
		{"unpaid session", ev("evt_5", "checkout.session.completed", with(stripefake.CheckoutSession("cs_3", "pi_3", "", "acme", 100), "payment_status", "unpaid")), billing.ActionIgnored, "not paid", 26*octomesh.Dollar + 10_000_000},
		{"not a top-up", ev("evt_6", "payment_intent.succeeded", with(stripefake.PaymentIntent("pi_4", "", "acme", 100), "metadata", map[string]any{"org_id": "acme"})), billing.ActionIgnored, "not a top-up", 26*octomesh.Dollar + 10_000_000},
		{"other currency", ev("evt_7", "payment_intent.succeeded", with(stripefake.PaymentIntent("pi_5", "", "acme", 100), "currency", "eur")), billing.ActionIgnored, "currency", 26*octomesh.Dollar + 10_000_000},
		{"unknown org", ev("evt_8", "payment_intent.succeeded", stripefake.PaymentIntent("pi_6", "", "nope", 100)), billing.ActionIgnored, "unknown organisation", 26*octomesh.Dollar + 10_000_000},
		{"customer of another org", ev("evt_9", "payment_intent.succeeded", stripefake.PaymentIntent("pi_7", "cus_beta", "acme", 100)), billing.ActionIgnored, "another organisation", 26*octomesh.Dollar + 10_000_000},
		{"zero amount", ev("evt_10", "payment_intent.succeeded", stripefake.PaymentIntent("pi_8", "", "acme", 0)), billing.ActionIgnored, "amount", 26*octomesh.Dollar + 10_000_000},
		{"invoice paid", ev("evt_11", "invoice.paid", map[string]any{"id": "in_1", "object": "invoice", "metadata": map[string]any{"octomesh_org": "acme"}}), billing.ActionAcknowledged, "", 26*octomesh.Dollar + 10_000_000},
		{"unknown type", ev("evt_12", "customer.created", map[string]any{"id": "cus_x", "object": "customer"}), billing.ActionIgnored, "not used", 26*octomesh.Dollar + 10_000_000},
	}
	for _, st := range steps {
		res, err := w.deliver(t, st.payload)
		if err != nil || res.Action != st.action || !strings.Contains(res.Reason, st.reason) {
			t.Errorf("%s: %+v, %v; want %s (%q)", st.name, res, err, st.action, st.reason)
		}
		if got := w.balance(t, "acme"); got != st.balance {
			t.Errorf("%s: acme's balance %s, want %s", st.name, got, st.balance)
		}
	}
	// The customer alone names the organisation.
	res, err := w.deliver(t, ev("evt_13", "payment_intent.succeeded", with(stripefake.PaymentIntent("pi_9", "cus_beta", "", 700), "metadata", map[string]any{"purpose": "topup"})))
	if err != nil || res.Action != billing.ActionCredited || res.OrgID != "beta" || w.balance(t, "beta") != 7*octomesh.Dollar {
		t.Errorf("customer-only top-up: %+v, %v, balance %s", res, err, w.balance(t, "beta"))
	}
	want := []string{"acme 25.00", "acme 0.01", "acme 1.00", "beta 7.00"}
	if strings.Join(w.credits, "|") != strings.Join(want, "|") {
		t.Errorf("OnCredit calls %q, want %q", w.credits, want)
	}
	// The ledger holds exactly one entry per payment.
	es, _ := w.db.Entries(context.Background(), "acme", octomesh.EntryFilter{})
	var ids []string
	for _, e := range es {
		ids = append(ids, e.RequestID+"="+e.Cost.String())
	}
	if got := strings.Join(ids, " "); got != "stripe:pi_1=-25.00 stripe:pi_2=-0.01 stripe:cs_2=-1.00" {
		t.Errorf("acme's entries: %s", got)
	}
}

func with(m map[string]any, k string, v any) map[string]any { m[k] = v; return m }

func TestWebhookRejects(t *testing.T) {
	w := newWebhookWorld(t)
	payload := stripefake.Event("evt_1", "payment_intent.succeeded", now, stripefake.PaymentIntent("pi_1", "", "acme", 100))
	for _, tt := range []struct {
		name    string
		payload []byte
		header  string
	}{
		{"bad signature", payload, stripefake.Sign(payload, now, "whsec_wrong")},
		{"stale", payload, stripefake.Sign(payload, now.Add(-6*time.Minute), whsec)},
		{"unsigned", payload, ""},
		{"not JSON", []byte("hello"), stripefake.Sign([]byte("hello"), now, whsec)},
		{"not an event", []byte(`{"id":"x","object":"customer"}`), stripefake.Sign([]byte(`{"id":"x","object":"customer"}`), now, whsec)},
		{"malformed object", []byte(`{"id":"evt","object":"event","type":"payment_intent.succeeded","data":{"object":[1]}}`), stripefake.Sign([]byte(`{"id":"evt","object":"event","type":"payment_intent.succeeded","data":{"object":[1]}}`), now, whsec)},
	} {
		res, err := w.s.HandleStripeWebhook(context.Background(), tt.payload, tt.header)
		if octomesh.ErrorCodeOf(err) != octomesh.EINVALID || res != nil {
			t.Errorf("%s: %+v, %v; want EINVALID", tt.name, res, err)
		}
	}
	if b := w.balance(t, "acme"); b != 0 {
		t.Errorf("balance %s after rejected deliveries", b)
	}
	// Without a secret, nothing verifies.
	s := billing.New(billing.Options{Ledger: w.db, Orgs: w.db, Now: fixed(now)})
	if _, err := s.HandleStripeWebhook(context.Background(), payload, stripefake.Sign(payload, now, "")); err == nil {
		t.Error("a service without a secret accepted a webhook")
	}
}

// TestWebhookConcurrentReplays delivers one event 16 times at once: it is
// credited exactly once.
func TestWebhookConcurrentReplays(t *testing.T) {
	w := newWebhookWorld(t)
	payload := stripefake.Event("evt_1", "checkout.session.completed", now, stripefake.CheckoutSession("cs_1", "pi_1", "", "acme", 999))
	var wg sync.WaitGroup
	var mu sync.Mutex
	actions := map[string]int{}
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := w.deliver(t, payload)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			actions[res.Action]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if actions[billing.ActionCredited] != 1 || actions[billing.ActionDuplicate] != 15 || w.balance(t, "acme") != 9_990_000_000 || len(w.credits) != 1 {
		t.Errorf("actions %v, balance %s, credits %v", actions, w.balance(t, "acme"), w.credits)
	}
}

func TestGrantCredit(t *testing.T) {
	w := newWebhookWorld(t)
	ctx := context.Background()
	c, err := w.s.GrantCredit(ctx, billing.TopUp{OrgID: "acme", Amount: 12_500_000_000, Reference: "wire-2026-03-01", Note: "wire transfer"})
	if err != nil || !c.Recorded || c.RequestID != "manual:wire-2026-03-01" || c.Amount != 12_500_000_000 {
		t.Fatalf("GrantCredit = %+v, %v", c, err)
	}
	c, err = w.s.GrantCredit(ctx, billing.TopUp{OrgID: "acme", Amount: 12_500_000_000, Reference: "wire-2026-03-01"})
	if err != nil || c.Recorded {
		t.Errorf("a repeated reference: %+v, %v; want not recorded", c, err)
	}
	if _, err := w.s.GrantCredit(ctx, billing.TopUp{OrgID: "acme", Amount: 1}); err != nil {
		t.Error(err)
	}
	if b := w.balance(t, "acme"); b != 12_500_000_001 {
		t.Errorf("balance %s", b)
	}
	if strings.Join(w.credits, "|") != "acme 12.50|acme 0.000000001" {
		t.Errorf("OnCredit calls %q", w.credits)
	}
	for _, bad := range []billing.TopUp{
		{OrgID: "acme", Amount: 0}, {OrgID: "acme", Amount: -5}, {OrgID: "acme", Amount: billing.MaxTopUp + 1},
		{OrgID: "acme", Amount: 1, Reference: "has space"}, {OrgID: "acme", Amount: 1, Reference: strings.Repeat("r", 101)},
		{OrgID: "acme", Amount: 1, Note: "line\nbreak"},
	} {
		if _, err := w.s.GrantCredit(ctx, bad); octomesh.ErrorCodeOf(err) != octomesh.EINVALID {
			t.Errorf("GrantCredit(%+v): %v, want EINVALID", bad, err)
		}
	}
	if _, err := w.s.GrantCredit(ctx, billing.TopUp{OrgID: "nope", Amount: 1}); octomesh.ErrorCodeOf(err) != octomesh.ENOTFOUND {
		t.Errorf("unknown org: %v", err)
	}
}

// FuzzWebhookPayload signs arbitrary payloads correctly and hands them to
// the webhook: never a panic, only EINVALID errors, and any credit is a
// positive amount recorded for an organisation that exists.
func FuzzWebhookPayload(f *testing.F) {
	for _, s := range [][]byte{
		stripefake.Event("evt_1", "checkout.session.completed", now, stripefake.CheckoutSession("cs_1", "pi_1", "", "acme", 2500)),
		stripefake.Event("evt_2", "payment_intent.succeeded", now, stripefake.PaymentIntent("pi_2", "cus_beta", "", 1)),
		stripefake.Event("evt_3", "invoice.paid", now, map[string]any{"id": "in_1", "object": "invoice"}),
		[]byte(`{"id":"e","object":"event","type":"payment_intent.succeeded","data":{"object":{"object":"payment_intent","status":"succeeded","amount_received":-5,"currency":"usd","metadata":{"purpose":"topup","org_id":"acme"},"id":"pi"}}}`),
		[]byte(`{"id":"e","object":"event","type":"checkout.session.completed","data":{"object":{"customer":{"id":"cus_beta"},"payment_intent":{"id":"pi_x"}}}}`),
		[]byte(`{}`), []byte(`null`), []byte(`[`),
	} {
		f.Add(s)
	}
	w := newWebhookWorld(f)
	f.Fuzz(func(t *testing.T, payload []byte) {
		res, err := w.deliver(t, payload)
		if err != nil {
			if octomesh.ErrorCodeOf(err) != octomesh.EINVALID {
				t.Fatalf("code %v for %q", err, payload)
			}
			return
		}
		if res.Action == billing.ActionCredited && (res.Amount <= 0 || (res.OrgID != "acme" && res.OrgID != "beta")) {
			t.Fatalf("credit %+v from %q", res, payload)
		}
	})
}
