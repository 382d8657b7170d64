package config

import (
	"strings"
	"testing"
)

func TestBillingConfig(t *testing.T) {
	cfg, err := Parse([]byte(`
billing:
  tax_rate: "0.0825"
  currency: EUR
  stripe:
    api_key: ${STRIPE_API_KEY}
    webhook_secret: ${STRIPE_WEBHOOK_SECRET}
    api_base: http://127.0.0.1:12111
    days_until_due: 14
`), env(map[string]string{"STRIPE_API_KEY": "sk_test_abc", "STRIPE_WEBHOOK_SECRET": "whsec_xyz"}))
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Billing
	if b.Rate() != 82_500_000 || b.Currency != "EUR" || b.Stripe.APIKey.Reveal() != "sk_test_abc" || b.Stripe.WebhookSecret.Reveal() != "whsec_xyz" ||
		b.Stripe.APIBase != "http://127.0.0.1:12111" || b.Stripe.DaysUntilDue != 14 {
		t.Errorf("billing %+v", b)
	}

	_, err = Parse([]byte(`
billing:
  tax_rate: "20%"
  currency: usd
  stripe:
    api_key: sk_live_SECRETVALUE
    api_base: "ftp://sk_live_SECRETVALUE@x"
    days_until_due: 0
`), env(nil))
	if err == nil {
		t.Fatal("bad billing config accepted")
	}
	msg := err.Error()
	for _, want := range []string{"billing.tax_rate: \"20%\" is not a decimal fraction", "billing.currency: \"usd\" is not three capital letters",
		"billing.stripe.api_base: must be an http or https URL", "billing.stripe.days_until_due: must be from 1 to 365"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "SECRETVALUE") {
		t.Errorf("error echoes a secret:\n%s", msg)
	}
}
