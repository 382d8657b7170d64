// Package stripe is billing's payment processor on Stripe's API, through
// stripe-go: it finds or creates each organisation's customer and pushes a
// statement as a draft invoice with one invoice item per line, then
// finalises it.
//
// Every write carries an idempotency key derived from the organisation, the
// period and the line ("octomesh-item-<org>-<YYYY-MM>-<line>"), and a push
// first looks for the period's invoice (by its metadata) and the items it
// already has, so a push repeated after a crash, a timeout or by mistake
// never bills twice. The API base URL is configurable, so tests run against
// internal/billing/stripefake over loopback and never reach the network.
package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	sgo "github.com/stripe/stripe-go/v82"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/billing"
)

// Options configure a Client.
type Options struct {
	APIKey octomesh.Secret // a secret key, sk_live_… or sk_test_… (a restricted key needs customers and invoices write)
	// APIBase is the API's base URL; default https://api.stripe.com.
	APIBase    string
	HTTPClient *http.Client // default: a client with a 80s timeout, as stripe-go's
	// DaysUntilDue is the payment term of invoices sent to the customer;
	// default 30.
	DaysUntilDue int64
	// MaxNetworkRetries is how often stripe-go retries a request that
	// failed in transit (with the same idempotency key); default 2, and
	// negative for none.
	MaxNetworkRetries int64
	Currency          string // ISO code; default "usd"
}

// Client implements billing.Invoicer on Stripe. It is safe for concurrent use.
type Client struct {
	sc  *sgo.Client
	o   Options
	cur string
}

var _ billing.Invoicer = (*Client)(nil)

// New returns a Client. It makes no request.
func New(o Options) *Client {
	if o.DaysUntilDue <= 0 {
		o.DaysUntilDue = 30
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 80 * time.Second}
	}
	retries := o.MaxNetworkRetries
	if retries == 0 {
		retries = 2
	} else if retries < 0 {
		retries = 0
	}
	cfg := &sgo.BackendConfig{
		HTTPClient:        o.HTTPClient,
		MaxNetworkRetries: sgo.Int64(retries),
		LeveledLogger:     &sgo.LeveledLogger{Level: sgo.LevelNull}, // errors are returned, and logged by the caller
	}
	if o.APIBase != "" {
		cfg.URL = sgo.String(strings.TrimRight(o.APIBase, "/"))
	}
	cur := strings.ToLower(o.Currency)
	if cur == "" {
		cur = "usd"
	}
	sc := sgo.NewClient(o.APIKey.Reveal(), sgo.WithBackends(sgo.NewBackendsWithConfig(cfg)))
	return &Client{sc: sc, o: o, cur: cur}
}

// Processor implements billing.Invoicer.
func (c *Client) Processor() string { return billing.ProcessorStripe }

// Customer finds the organisation's customer by its metadata
// (octomesh_org) or creates one with the organisation's name and billing
// email. Creation carries the idempotency key "octomesh-customer-<org>",
// which also covers the minute or so before a new customer is searchable.
func (c *Client) Customer(ctx context.Context, org *octomesh.Org) (string, error) {
	if !octomesh.ValidID(org.ID) { // it is quoted into a search query below
		return "", octomesh.Errorf(octomesh.EINVALID, "invalid organisation id")
	}
	q := &sgo.CustomerSearchParams{SearchParams: sgo.SearchParams{Query: fmt.Sprintf("metadata['%s']:'%s'", billing.MetaInvoiceOrg, org.ID), Limit: sgo.Int64(1)}}
	for cu, err := range c.sc.V1Customers.Search(ctx, q) {
		if err != nil {
			return "", stripeError("search customers", err)
		}
		return cu.ID, nil
	}
	p := &sgo.CustomerCreateParams{Name: sgo.String(org.Name), Metadata: map[string]string{billing.MetaInvoiceOrg: org.ID}}
	if org.BillingEmail != "" {
		p.Email = sgo.String(org.BillingEmail)
	}
	p.SetIdempotencyKey("octomesh-customer-" + org.ID)
	cu, err := c.sc.V1Customers.Create(ctx, p)
	if err != nil {
		return "", stripeError("create customer", err)
	}
	return cu.ID, nil
}

// PushInvoice implements billing.Invoicer: it finds the period's invoice
// for the customer (or creates a draft that leaves the customer's other
// pending items alone), adds the items it does not have yet, finalises it
// and checks that its total is the statement's.
func (c *Client) PushInvoice(ctx context.Context, customerID string, st *billing.Statement, items []billing.InvoiceItem) (*billing.Invoice, error) {
	idem := func(what string) string { return "octomesh-" + what + "-" + st.OrgID + "-" + st.Period }
	inv, err := c.findInvoice(ctx, customerID, st)
	if err != nil {
		return nil, err
	}
	created := inv == nil
	if inv == nil {
		p := &sgo.InvoiceCreateParams{
			Customer: sgo.String(customerID), Currency: sgo.String(c.cur),
			CollectionMethod: sgo.String("send_invoice"), DaysUntilDue: sgo.Int64(c.o.DaysUntilDue),
			PendingInvoiceItemsBehavior: sgo.String("exclude"), AutoAdvance: sgo.Bool(false),
			Description: sgo.String("OctoMesh usage " + st.Period),
			Metadata:    map[string]string{billing.MetaInvoiceOrg: st.OrgID, billing.MetaInvoicePeriod: st.Period},
		}
		p.SetIdempotencyKey(idem("invoice"))
		if inv, err = c.sc.V1Invoices.Create(ctx, p); err != nil {
			return nil, stripeError("create invoice", err)
		}
	}
	if inv.Status == sgo.InvoiceStatusDraft {
		have := map[string]bool{}
		for it, err := range c.sc.V1InvoiceItems.List(ctx, &sgo.InvoiceItemListParams{Invoice: sgo.String(inv.ID)}) {
			if err != nil {
				return nil, stripeError("list invoice items", err)
			}
			have[it.Metadata[billing.MetaInvoiceLine]] = true
		}
		for _, item := range items {
			if have[item.Key] {
				continue
			}
			p := &sgo.InvoiceItemCreateParams{
				Customer: sgo.String(customerID), Invoice: sgo.String(inv.ID), Currency: sgo.String(c.cur),
				Amount: sgo.Int64(int64(item.Amount)), Description: sgo.String(item.Description),
				Metadata: map[string]string{billing.MetaInvoiceOrg: st.OrgID, billing.MetaInvoicePeriod: st.Period, billing.MetaInvoiceLine: item.Key},
			}
			p.SetIdempotencyKey(idem("item") + "-" + item.Key)
			if _, err := c.sc.V1InvoiceItems.Create(ctx, p); err != nil {
				return nil, stripeError("create invoice item", err)
			}
		}
		fp := &sgo.InvoiceFinalizeInvoiceParams{AutoAdvance: sgo.Bool(true)}
		fp.SetIdempotencyKey(idem("finalize"))
		if inv, err = c.sc.V1Invoices.FinalizeInvoice(ctx, inv.ID, fp); err != nil {
			return nil, stripeError("finalize invoice", err)
		}
	}
	out := &billing.Invoice{ID: inv.ID, Number: inv.Number, Status: string(inv.Status), Total: billing.Cents(inv.Total),
		Items: len(items), Created: created, HostedURL: inv.HostedInvoiceURL}
	if out.Total != st.Total {
		return out, octomesh.Errorf(octomesh.EUPSTREAM, "the Stripe invoice %s totals %s but the statement %s; review it in Stripe (it may hold items from an earlier push of a statement that has changed since)", inv.ID, out.Total, st.Total)
	}
	return out, nil
}

// findInvoice returns the customer's invoice for st's period (not void),
// or nil.
func (c *Client) findInvoice(ctx context.Context, customerID string, st *billing.Statement) (*sgo.Invoice, error) {
	for inv, err := range c.sc.V1Invoices.List(ctx, &sgo.InvoiceListParams{Customer: sgo.String(customerID)}) {
		if err != nil {
			return nil, stripeError("list invoices", err)
		}
		if inv.Metadata[billing.MetaInvoiceOrg] == st.OrgID && inv.Metadata[billing.MetaInvoicePeriod] == st.Period && inv.Status != sgo.InvoiceStatusVoid {
			return inv, nil
		}
	}
	return nil, nil
}

// stripeError turns a stripe-go error into an EUPSTREAM error whose
// message names the step and Stripe's error type and code (never the
// request); the whole error stays the cause, for logs.
func stripeError(step string, err error) error {
	var se *sgo.Error
	if errors.As(err, &se) {
		e := octomesh.Errorf(octomesh.EUPSTREAM, "Stripe: %s failed (%d %s %s)", step, se.HTTPStatusCode, se.Type, se.Code).WithCause(err)
		if se.HTTPStatusCode == http.StatusUnauthorized {
			e.Code = octomesh.EUPSTREAMAUTH
		}
		e.Provider, e.Status = billing.ProcessorStripe, se.HTTPStatusCode
		return e
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return octomesh.Errorf(octomesh.EUPSTREAM, "Stripe: %s failed: no answer", step).WithCause(err)
}
