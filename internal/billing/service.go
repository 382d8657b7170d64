// Package billing turns the ledger into money matters: monthly statements
// (JSON and a printable HTML page) with an exact rounding rule and tax,
// usage exports (CSV, JSON Lines) that stream ledgers of any size, prepaid
// credits (manual top-ups and payments reported by Stripe webhooks), and
// invoices pushed to a payment processor.
//
// It works only on the root interfaces (octomesh.LedgerStore,
// octomesh.BillingStore) and imports no HTTP server and no database driver;
// the processor is an Invoicer (internal/billing/stripe implements it with
// stripe-go). cmd/octomesh builds one Service from the configuration and
// hands it to the HTTP layer.
//
// Lifecycle: New, then any method from any goroutine; a Service holds no
// mutable state of its own. Top-ups and webhook payments are idempotent:
// each is a ledger entry whose (RequestID, Attempt, Kind) the ledger
// stores once, so a replayed webhook or a retried top-up credits nothing
// twice.
package billing

import (
	"context"
	"log/slog"
	"time"

	"github.com/octomesh/octomesh"
)

// OrgLookup finds organisations (octomesh.OrgStore has this method).
type OrgLookup interface {
	Org(ctx context.Context, id string) (*octomesh.Org, error)
}

// KeyLister lists an organisation's keys, for key names on statements
// (octomesh.KeyStore has this method).
type KeyLister interface {
	ListKeys(ctx context.Context, orgID string, f octomesh.KeyFilter) ([]*octomesh.APIKey, error)
}

// Options configure a Service.
type Options struct {
	Ledger octomesh.LedgerStore // required
	Orgs   OrgLookup            // required: names, prepaid settings, existence checks
	// Customers keeps each organisation's customer ID at the processor;
	// required with Invoicer.
	Customers octomesh.BillingStore
	Keys      KeyLister // optional: key names on statements
	TaxRate   TaxRate
	Currency  string // label shown on statements; default "USD"
	// Invoicer pushes statements to the payment processor; nil disables
	// invoicing.
	Invoicer Invoicer
	// WebhookSecret is the processor's webhook signing secret; empty
	// disables the webhook.
	WebhookSecret octomesh.Secret
	// OnCredit, when set, is called after a top-up was newly recorded
	// (never for a replay), so that metering can raise its cached balance.
	OnCredit func(orgID string, amount octomesh.Money)
	Now      octomesh.Clock // default time.Now
	Logger   *slog.Logger
}

// Service is the billing side of metering. It is safe for concurrent use.
type Service struct {
	o Options
}

// New returns a Service. Ledger and Orgs are required.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Currency == "" {
		o.Currency = DefaultCurrency
	}
	return &Service{o: o}
}

// Ledger returns the ledger the service reads.
func (s *Service) Ledger() octomesh.LedgerStore { return s.o.Ledger }

// Currency returns the currency label.
func (s *Service) Currency() string { return s.o.Currency }

// InvoicingEnabled reports whether statements can be pushed to a processor.
func (s *Service) InvoicingEnabled() bool { return s.o.Invoicer != nil && s.o.Customers != nil }

// WebhookEnabled reports whether payment webhooks are accepted.
func (s *Service) WebhookEnabled() bool { return s.o.WebhookSecret != "" }

// Statement computes orgID's statement for month m. It returns ENOTFOUND
// for an unknown organisation, or the store's error.
func (s *Service) Statement(ctx context.Context, orgID string, m Month) (*Statement, error) {
	org, err := s.o.Orgs.Org(ctx, orgID)
	if err != nil {
		return nil, err
	}
	o := StatementOptions{TaxRate: s.o.TaxRate, Currency: s.o.Currency, Now: s.o.Now()}
	if s.o.Keys != nil {
		keys, err := s.o.Keys.ListKeys(ctx, orgID, octomesh.KeyFilter{IncludeRevoked: true})
		if err != nil {
			return nil, err
		}
		o.KeyNames = make(map[string]string, len(keys))
		for _, k := range keys {
			o.KeyNames[k.ID] = k.Name
		}
	}
	return BuildStatement(ctx, s.o.Ledger, org, m, o)
}

// Balance returns orgID's prepaid balance (LedgerStore.Balance).
func (s *Service) Balance(ctx context.Context, orgID string) (octomesh.Money, error) {
	return s.o.Ledger.Balance(ctx, orgID)
}
