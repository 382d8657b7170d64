package config

import (
	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/billing"
)

// Billing configures statements and the payment processor (docs/billing.md).
type Billing struct {
	// TaxRate is the tax statements add, as a decimal fraction: "0.20" is
	// 20 %. Parsed exactly (at most 9 decimals, from 0 to 1). Default "0".
	TaxRate string `yaml:"tax_rate"`
	// Currency is the label statements show, three capital letters.
	// Amounts are metered in the unit prices are written in (US dollars
	// throughout the defaults). Default "USD".
	Currency string `yaml:"currency"`
	Stripe   Stripe `yaml:"stripe"`
}

// Stripe configures the Stripe integration: invoices from statements
// (with APIKey) and payment webhooks that credit top-ups (with
// WebhookSecret). Each half is off while its secret is empty.
type Stripe struct {
	// APIKey is a secret key (sk_live_… or sk_test_…), usually
	// "${STRIPE_API_KEY}". Empty: statements are not pushed to Stripe.
	APIKey octomesh.Secret `yaml:"api_key"`
	// WebhookSecret is the webhook endpoint's signing secret (whsec_…),
	// usually "${STRIPE_WEBHOOK_SECRET}". Empty: POST /v1/webhooks/stripe
	// answers 404.
	WebhookSecret octomesh.Secret `yaml:"webhook_secret"`
	// APIBase overrides Stripe's API URL (default https://api.stripe.com),
	// for tests against a local fake.
	APIBase string `yaml:"api_base"`
	// DaysUntilDue is the payment term of the invoices sent. Default 30.
	DaysUntilDue int `yaml:"days_until_due"`
}

// Rate returns the parsed tax rate (0 when it does not parse; Validate
// reports that).
func (b Billing) Rate() billing.TaxRate {
	r, _ := billing.ParseTaxRate(b.TaxRate)
	return r
}

func (b *Billing) validate(p *problems) {
	if _, err := billing.ParseTaxRate(b.TaxRate); err != nil {
		p.add("billing.tax_rate", "%s is not a decimal fraction from 0 to 1 with at most 9 decimals (\"0.20\" is 20%%)", quoted(b.TaxRate))
	}
	if len(b.Currency) != 3 || !isUpper(b.Currency) {
		p.add("billing.currency", "%s is not three capital letters, such as USD", quoted(b.Currency))
	}
	if b.Stripe.APIBase != "" {
		if msg := checkBaseURL(b.Stripe.APIBase); msg != "" {
			p.add("billing.stripe.api_base", "%s", msg)
		}
	}
	if b.Stripe.DaysUntilDue < 1 || b.Stripe.DaysUntilDue > 365 {
		p.add("billing.stripe.days_until_due", "must be from 1 to 365")
	}
}

func isUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
