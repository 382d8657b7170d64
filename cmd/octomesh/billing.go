package main

import (
	"context"
	"log/slog"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/billing"
	"github.com/octomesh/octomesh/internal/billing/stripe"
	"github.com/octomesh/octomesh/internal/config"
)

// newBilling builds the billing service (statements, credits, Stripe; see
// docs/billing.md) from the configuration's billing section. credit, when
// not nil, is told of every new top-up (the meter's Credit), so the credit
// counters see it at once. It returns nil without a meter store.
func newBilling(cfg config.Billing, db *store, credit func(context.Context, string, octomesh.Money) error, log *slog.Logger) *billing.Service {
	if db.meter == nil {
		return nil
	}
	o := billing.Options{Ledger: db.meter, Orgs: db, Customers: db.meter, Keys: db, TaxRate: cfg.Rate(), Currency: cfg.Currency,
		WebhookSecret: cfg.Stripe.WebhookSecret, Logger: log}
	if cfg.Stripe.APIKey != "" {
		o.Invoicer = stripe.New(stripe.Options{APIKey: cfg.Stripe.APIKey, APIBase: cfg.Stripe.APIBase,
			DaysUntilDue: int64(cfg.Stripe.DaysUntilDue), Currency: cfg.Currency})
	}
	if credit != nil {
		o.OnCredit = func(org string, amount octomesh.Money) {
			if err := credit(context.Background(), org, amount); err != nil {
				// The ledger has the top-up; every node reads it from there
				// within the meter's CreditRefresh.
				log.Error("apply a top-up to the credit counter", "org_id", org, "err", err)
			}
		}
	}
	return billing.New(o)
}
