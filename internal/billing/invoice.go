package billing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"github.com/octomesh/octomesh"
)

// Invoicer is a payment processor as billing needs it. internal/billing/stripe
// implements it with stripe-go.
//
// Implementations must make PushInvoice safe to repeat: pushing the same
// statement again (after a crash, a timeout, or by mistake) finds the
// invoice made before and adds no line twice.
type Invoicer interface {
	// Processor names the processor ("stripe"), the key under which
	// octomesh.BillingStore keeps customer IDs.
	Processor() string
	// Customer finds or creates the processor's customer for org and
	// returns its ID.
	Customer(ctx context.Context, org *octomesh.Org) (string, error)
	// PushInvoice creates (or finds) the invoice for st at customer, adds
	// st's items (InvoiceItems) and finalises it.
	PushInvoice(ctx context.Context, customerID string, st *Statement, items []InvoiceItem) (*Invoice, error)
}

// Invoice metadata keys, set on every invoice OctoMesh pushes; they let a
// repeated push find the invoice and tell webhooks whose it is.
const (
	MetaInvoiceOrg    = "octomesh_org"
	MetaInvoicePeriod = "octomesh_period"
	MetaInvoiceLine   = "octomesh_line"
)

// InvoiceItem is one line pushed to the processor.
type InvoiceItem struct {
	// Key identifies the line within the statement (stable across pushes);
	// it is part of the idempotency key and stored as metadata.
	Key         string
	Description string
	Amount      Cents
}

// Invoice is an invoice at the processor.
type Invoice struct {
	Object     string `json:"object"` // "invoice"
	OrgID      string `json:"org_id"`
	Period     string `json:"period"`
	Processor  string `json:"processor"`
	CustomerID string `json:"customer_id"`
	ID         string `json:"id"`
	Number     string `json:"number,omitempty"`
	Status     string `json:"status"` // the processor's: draft, open, paid …
	Total      Cents  `json:"total"`
	Items      int    `json:"items"`
	// Created is false when the invoice existed already (a repeated push).
	Created   bool   `json:"created"`
	HostedURL string `json:"hosted_url,omitempty"`
}

// InvoiceItems lists the items a statement is invoiced with: one per line
// with a non-zero rounded amount, then the tax, so that the invoice's total
// is the statement's total to the cent.
func InvoiceItems(st *Statement) []InvoiceItem {
	var items []InvoiceItem
	for _, l := range st.Lines {
		if l.Amount == 0 {
			continue
		}
		model, key := l.Model, l.KeyID
		if model == "" {
			model = "Adjustments"
		}
		desc := model
		if key != "" {
			desc += " · key " + key
			if l.KeyName != "" {
				desc += " (" + clipText(l.KeyName, 80) + ")"
			}
		}
		desc += " · " + groupThousands(l.Requests) + " requests, " + groupThousands(l.PromptTokens) + " input and " +
			groupThousands(l.CompletionTokens) + " output tokens"
		items = append(items, InvoiceItem{Key: lineKey(l.Model, l.KeyID), Description: desc, Amount: l.Amount})
	}
	if st.Tax != 0 {
		items = append(items, InvoiceItem{Key: "tax", Description: "Tax (" + st.TaxRate.Percent() + ")", Amount: st.Tax})
	}
	return items
}

// lineKey is a short stable name for a (model, key) line.
func lineKey(model, key string) string {
	h := sha256.Sum256([]byte(model + "\x00" + key))
	return "l" + hex.EncodeToString(h[:12])
}

// PushInvoice invoices orgID's statement for month m at the processor:
// it finds or creates the organisation's customer (remembered with
// octomesh.BillingStore), then has the Invoicer create or find the
// month's invoice, add the items and finalise it. It returns ENOTFOUND
// when invoicing is not configured or the organisation does not exist,
// EINVALID for a month that has not ended, a prepaid organisation (its
// usage is paid from credits) or a statement with nothing due, and the
// processor's errors otherwise. Repeating it is safe.
func (s *Service) PushInvoice(ctx context.Context, orgID string, m Month) (*Invoice, error) {
	if !s.InvoicingEnabled() {
		return nil, octomesh.Errorf(octomesh.ENOTFOUND, "invoicing is not configured on this server (billing.stripe)")
	}
	st, err := s.Statement(ctx, orgID, m)
	if err != nil {
		return nil, err
	}
	switch {
	case !st.Final:
		return nil, octomesh.Errorf(octomesh.EINVALID, "the period %s has not ended yet; invoice it after %s", st.Period, st.PeriodEnd.Format("2006-01-02")).WithParam("month")
	case st.Prepaid:
		return nil, octomesh.Errorf(octomesh.EINVALID, "organisation %s is prepaid: its usage is paid from credits, not invoiced", orgID)
	case st.Total <= 0:
		return nil, octomesh.Errorf(octomesh.EINVALID, "the statement for %s has nothing to invoice (total %s)", st.Period, st.Total)
	}
	org, err := s.o.Orgs.Org(ctx, orgID)
	if err != nil {
		return nil, err
	}
	proc := s.o.Invoicer.Processor()
	cust, err := s.o.Customers.CustomerID(ctx, orgID, proc)
	if octomesh.ErrorCodeOf(err) == octomesh.ENOTFOUND {
		if cust, err = s.o.Invoicer.Customer(ctx, org); err == nil {
			err = s.o.Customers.SetCustomerID(ctx, orgID, proc, cust)
		}
	}
	if err != nil {
		return nil, err
	}
	inv, err := s.o.Invoicer.PushInvoice(ctx, cust, st, InvoiceItems(st))
	if err != nil {
		return nil, err
	}
	inv.Object, inv.OrgID, inv.Period, inv.Processor, inv.CustomerID = "invoice", orgID, st.Period, proc, cust
	return inv, nil
}
