package billing

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/octomesh/octomesh"
)

// Statement is an organisation's monthly statement: its usage charges as
// line items per model and key, the subtotal, the tax and the total, with
// the rounding rule of this package (see Cents). Amounts marshal to JSON as
// decimal dollar strings.
type Statement struct {
	Object      string    `json:"object"` // "statement"
	OrgID       string    `json:"org_id"`
	OrgName     string    `json:"org_name"`
	Period      string    `json:"period"` // YYYY-MM
	PeriodStart time.Time `json:"period_start"`
	PeriodEnd   time.Time `json:"period_end"` // exclusive
	// Final is false while the period has not ended: the statement may
	// still grow, and it cannot be invoiced yet.
	Final    bool   `json:"final"`
	Currency string `json:"currency"`
	// Prepaid organisations pay in advance by top-up; their usage is drawn
	// from credits, so nothing is due and the statement is not invoiced.
	Prepaid       bool      `json:"prepaid"`
	Lines         []Line    `json:"lines"`
	SubtotalExact Exact     `json:"subtotal_exact"` // the unrounded sum, for reference
	Subtotal      Cents     `json:"subtotal"`       // the sum of the rounded lines
	TaxRate       TaxRate   `json:"tax_rate"`
	Tax           Cents     `json:"tax"`
	Total         Cents     `json:"total"`
	AmountDue     Cents     `json:"amount_due"` // Total, or 0.00 for prepaid organisations
	Credits       Credits   `json:"credits"`
	GeneratedAt   time.Time `json:"generated_at"`
}

// Line is one line item: an organisation's usage of one model through one
// API key in the period, corrections included.
type Line struct {
	Model            string `json:"model"` // the deployment; "" for adjustments not tied to one
	KeyID            string `json:"key_id"`
	KeyName          string `json:"key_name,omitempty"`
	Requests         int64  `json:"requests"`
	Attempts         int64  `json:"attempts"`
	PromptTokens     int64  `json:"prompt_tokens"`
	CachedTokens     int64  `json:"cached_tokens"`
	CacheWriteTokens int64  `json:"cache_write_tokens"`
	CompletionTokens int64  `json:"completion_tokens"`
	EstimatedEntries int64  `json:"estimated_entries"`
	AmountExact      Exact  `json:"amount_exact"`
	Amount           Cents  `json:"amount"`
}

// Credits summarises the prepaid balance over the period. Balances are
// exact: credits are drawn down by exact usage, not by rounded lines. For
// a postpaid organisation that never topped up, the balance is simply minus
// its spend; the printable page leaves the section out (ShowCredits).
type Credits struct {
	OpeningBalance Exact `json:"opening_balance"`
	TopUps         Exact `json:"top_ups"`
	Spend          Exact `json:"spend"`
	ClosingBalance Exact `json:"closing_balance"`
}

// ShowCredits reports whether the printable statement shows the credit
// section: for prepaid organisations, and for any that topped up.
func (st *Statement) ShowCredits() bool {
	return st.Prepaid || st.Credits.TopUps != 0 || st.Credits.OpeningBalance > 0
}

// StatementOptions are the terms a statement is computed with.
type StatementOptions struct {
	TaxRate  TaxRate
	Currency string            // a label, default "USD"
	KeyNames map[string]string // key ID → name, shown beside the ID; optional
	Now      time.Time         // when the statement is generated; decides Final
}

// BuildStatement computes org's statement for month m from the ledger. It
// reads three aggregates (usage by model and key, the balance before the
// period, and the period's totals by kind), so it costs the same for any
// ledger size. Errors are the store's.
func BuildStatement(ctx context.Context, ledger octomesh.LedgerStore, org *octomesh.Org, m Month, o StatementOptions) (*Statement, error) {
	start, end := m.Start(), m.End()
	st := &Statement{Object: "statement", OrgID: org.ID, OrgName: org.Name, Period: m.String(),
		PeriodStart: start, PeriodEnd: end, Final: !o.Now.Before(end), Currency: o.Currency,
		Prepaid: org.Settings.Prepaid, TaxRate: o.TaxRate, GeneratedAt: o.Now.UTC()}
	if st.Currency == "" {
		st.Currency = DefaultCurrency
	}
	usage := octomesh.EntryFilter{From: start, To: end, Kinds: []octomesh.EntryKind{octomesh.EntryUsage, octomesh.EntryCorrection}}
	rows, err := ledger.UsageReport(ctx, org.ID, usage, []octomesh.UsageGroup{octomesh.GroupModel, octomesh.GroupKey})
	if err != nil {
		return nil, err
	}
	var exact octomesh.Money
	for _, r := range rows {
		if r.Attempts == 0 && r.Cost == 0 && r.PromptTokens == 0 && r.CompletionTokens == 0 {
			continue
		}
		l := Line{Model: r.Model, KeyID: r.KeyID, KeyName: o.KeyNames[r.KeyID], Requests: r.Requests, Attempts: r.Attempts,
			PromptTokens: r.PromptTokens, CachedTokens: r.CachedTokens, CacheWriteTokens: r.CacheWriteTokens,
			CompletionTokens: r.CompletionTokens, EstimatedEntries: r.EstimatedEntries,
			AmountExact: Exact(r.Cost), Amount: RoundCents(r.Cost)}
		st.Lines = append(st.Lines, l)
		exact += r.Cost
		st.Subtotal += l.Amount
	}
	if st.Lines == nil {
		st.Lines = []Line{}
	}
	// Adjustments without a model sort last; otherwise by model, then key.
	slices.SortStableFunc(st.Lines, func(a, b Line) int {
		if (a.Model == "") != (b.Model == "") {
			if a.Model == "" {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(a.Model, b.Model), cmp.Compare(a.KeyID, b.KeyID))
	})
	st.SubtotalExact = Exact(exact)
	st.Tax = o.TaxRate.Tax(st.Subtotal)
	st.Total = st.Subtotal + st.Tax
	if !st.Prepaid {
		st.AmountDue = st.Total
	}

	// Credits: the balance before the period, and the period's top-ups and
	// spend (every kind but top-ups is spend; corrections may be negative).
	before, err := ledger.UsageReport(ctx, org.ID, octomesh.EntryFilter{To: start}, nil)
	if err != nil {
		return nil, err
	}
	var opening octomesh.Money
	for _, r := range before {
		opening -= r.Cost
	}
	byKind, err := ledger.UsageReport(ctx, org.ID, octomesh.EntryFilter{From: start, To: end}, []octomesh.UsageGroup{octomesh.GroupKind})
	if err != nil {
		return nil, err
	}
	var topUps, spend octomesh.Money
	for _, r := range byKind {
		if r.Kind == octomesh.EntryTopUp {
			topUps -= r.Cost
		} else {
			spend += r.Cost
		}
	}
	st.Credits = Credits{OpeningBalance: Exact(opening), TopUps: Exact(topUps), Spend: Exact(spend), ClosingBalance: Exact(opening + topUps - spend)}
	return st, nil
}

// DefaultCurrency is the currency label statements show by default. Money
// is held in US dollars throughout OctoMesh.
const DefaultCurrency = "USD"
