package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/billing"
)

// BillingService is billing.Service, named here so Options can refer to it.
type BillingService = billing.Service

// billingState is what the usage, ledger, statement, budget, credit and
// Stripe routes use (docs/billing.md). With no meter store they answer 404.
type billingState struct {
	meter          octomesh.MeterStore
	svc            *billing.Service
	budgetsChanged func(orgID string)
}

func newBillingState(o Options, accounts octomesh.AccountStore, now octomesh.Clock, log *slog.Logger) billingState {
	b := billingState{meter: o.Meter, svc: o.Billing, budgetsChanged: o.BudgetsChanged}
	if b.svc == nil && o.Meter != nil && accounts != nil {
		b.svc = billing.New(billing.Options{Ledger: o.Meter, Orgs: accounts, Customers: o.Meter, Keys: accounts, Now: now, Logger: log})
	}
	return b
}

// billingRoutes is the billing side of the API. Every route under
// /v1/orgs/{org} is checked by authorize like the other admin routes (a
// foreign organisation is 404 before permissions); the operator routes
// under /v1/billing name the organisation in the body, since operator keys
// have no power inside other organisations' paths; the Stripe webhook has
// no API key and is authenticated by its signature instead.
func (s *Server) billingRoutes() []Route {
	const (
		usage  = octomesh.PermUsageRead
		budR   = octomesh.PermBudgetsRead
		budM   = octomesh.PermBudgetsManage
		grant  = octomesh.PermCreditsGrant
		invoke = octomesh.PermInvoicesPush
	)
	return []Route{
		{Pattern: "GET /v1/usage", Auth: true, Perm: usage, handler: s.handleMyUsage},
		{Pattern: "GET /v1/orgs/{org}/usage", Auth: true, Perm: usage, handler: s.handleUsage},
		{Pattern: "GET /v1/orgs/{org}/ledger", Auth: true, Perm: usage, handler: s.handleLedger},
		{Pattern: "GET /v1/orgs/{org}/statements/{month}", Auth: true, Perm: usage, handler: s.handleStatement},
		{Pattern: "GET /v1/orgs/{org}/credits", Auth: true, Perm: usage, handler: s.handleCredits},
		{Pattern: "GET /v1/orgs/{org}/budgets", Auth: true, Perm: budR, handler: s.handleListBudgets},
		{Pattern: "POST /v1/orgs/{org}/budgets", Auth: true, Perm: budM, handler: s.handleCreateBudget},
		{Pattern: "GET /v1/orgs/{org}/budgets/{budget}", Auth: true, Perm: budR, handler: s.handleGetBudget},
		{Pattern: "PATCH /v1/orgs/{org}/budgets/{budget}", Auth: true, Perm: budM, handler: s.handleUpdateBudget},
		{Pattern: "DELETE /v1/orgs/{org}/budgets/{budget}", Auth: true, Perm: budM, handler: s.handleDeleteBudget},
		{Pattern: "POST /v1/billing/credits", Auth: true, Perm: grant, handler: s.handleGrantCredit},
		{Pattern: "POST /v1/billing/stripe/invoices/{month}", Auth: true, Perm: invoke, handler: s.handlePushInvoice},
		{Pattern: "POST /v1/webhooks/stripe", handler: s.handleStripeWebhook},
	}
}

// metering returns the meter store and billing service, or ENOTFOUND when
// metering is not enabled on this server.
func (s *Server) metering() (octomesh.MeterStore, *billing.Service, error) {
	if s.bill.meter == nil || s.bill.svc == nil {
		return nil, nil, octomesh.Errorf(octomesh.ENOTFOUND, "metering is not enabled on this server")
	}
	return s.bill.meter, s.bill.svc, nil
}

// fail writes err in the OpenAI error format.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.writeError(w, r, formatOpenAI, err)
}
