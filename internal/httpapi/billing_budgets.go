package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/billing"
)

// budgetJSON is a budget as the API shows it. Amounts are decimal dollar
// strings ("12.50"), as they are written in requests.
type budgetJSON struct {
	Object       string                `json:"object"` // "budget"
	ID           string                `json:"id"`
	OrgID        string                `json:"org_id"`
	Name         string                `json:"name"`
	Scope        octomesh.BudgetScope  `json:"scope"`
	Subject      string                `json:"subject"`
	Period       octomesh.BudgetPeriod `json:"period"`
	Limit        billing.Exact         `json:"limit"`
	Hard         bool                  `json:"hard"`
	AlertPercent int                   `json:"alert_percent"`
	// Spent is the recorded spending of the budget's subject in the
	// current period (from PeriodStart; null for total budgets).
	Spent       billing.Exact `json:"spent"`
	PeriodStart *time.Time    `json:"period_start"`
	CreatedAt   *time.Time    `json:"created_at"`
	UpdatedAt   *time.Time    `json:"updated_at"`
}

// budgetView shows b with its current spending.
func (s *Server) budgetView(ctx context.Context, meter octomesh.LedgerStore, b *octomesh.Budget) (budgetJSON, error) {
	start, _ := b.Period.Window(s.now())
	spent, err := meter.SpendSince(ctx, b.OrgID, b.Scope, b.Subject, start)
	if err != nil {
		return budgetJSON{}, err
	}
	return budgetJSON{Object: "budget", ID: b.ID, OrgID: b.OrgID, Name: b.Name, Scope: b.Scope, Subject: b.Subject, Period: b.Period,
		Limit: billing.Exact(b.Limit), Hard: b.Hard, AlertPercent: b.AlertPercent, Spent: billing.Exact(spent),
		PeriodStart: timePtr(start), CreatedAt: timePtr(b.CreatedAt), UpdatedAt: timePtr(b.UpdatedAt)}, nil
}

type createBudgetRequest struct {
	Name         string                `json:"name"`
	Scope        octomesh.BudgetScope  `json:"scope"` // default org
	Subject      string                `json:"subject"`
	Period       octomesh.BudgetPeriod `json:"period"` // default month
	Limit        *string               `json:"limit"`  // required, decimal dollars
	Hard         *bool                 `json:"hard"`   // default true
	AlertPercent *int                  `json:"alert_percent"`
}

// decodeCreateBudget decodes a new budget; IDs and the organisation are
// the caller's to set.
func decodeCreateBudget(body []byte) (*octomesh.Budget, error) {
	var req createBudgetRequest
	if err := decodeStrict(body, &req); err != nil {
		return nil, err
	}
	b := &octomesh.Budget{Name: req.Name, Scope: req.Scope, Subject: req.Subject, Period: req.Period, Hard: true, AlertPercent: octomesh.DefaultAlertPercent}
	if b.Scope == "" {
		b.Scope = octomesh.ScopeOrg
	}
	if b.Period == "" {
		b.Period = octomesh.PeriodMonth
	}
	if req.Limit == nil {
		return nil, octomesh.Errorf(octomesh.EINVALID, "limit is required: a decimal dollar string such as \"12.50\"").WithParam("limit")
	}
	var err error
	if b.Limit, err = parseLimit(*req.Limit); err != nil {
		return nil, err
	}
	if req.Hard != nil {
		b.Hard = *req.Hard
	}
	if req.AlertPercent != nil {
		if *req.AlertPercent < 1 || *req.AlertPercent > 100 {
			return nil, octomesh.Errorf(octomesh.EINVALID, "alert_percent must be between 1 and 100").WithParam("alert_percent")
		}
		b.AlertPercent = *req.AlertPercent
	}
	return b, nil
}

// parseLimit reads a budget limit: a positive decimal dollar string.
func parseLimit(s string) (octomesh.Money, error) {
	m, err := octomesh.ParseMoney(s)
	if err != nil || m <= 0 {
		return 0, octomesh.Errorf(octomesh.EINVALID, "limit must be a positive decimal dollar string such as \"12.50\" (at most 9 decimals)").WithParam("limit")
	}
	return m, nil
}

type updateBudgetRequest struct {
	Name         *string `json:"name"`
	Limit        *string `json:"limit"`
	Hard         *bool   `json:"hard"`
	AlertPercent *int    `json:"alert_percent"`
	// What a budget counts cannot change: make a new budget instead.
	Scope   json.RawMessage `json:"scope"`
	Subject json.RawMessage `json:"subject"`
	Period  json.RawMessage `json:"period"`
}

// decodeUpdateBudget applies a PATCH body to b.
func decodeUpdateBudget(body []byte, b *octomesh.Budget) error {
	var req updateBudgetRequest
	if err := decodeStrict(body, &req); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    json.RawMessage
	}{{"scope", req.Scope}, {"subject", req.Subject}, {"period", req.Period}} {
		if f.v != nil {
			return octomesh.Errorf(octomesh.EINVALID, "%s cannot be changed: delete the budget and create another", f.name).WithParam(f.name)
		}
	}
	if req.Name != nil {
		b.Name = *req.Name
	}
	if req.Limit != nil {
		m, err := parseLimit(*req.Limit)
		if err != nil {
			return err
		}
		b.Limit = m
	}
	if req.Hard != nil {
		b.Hard = *req.Hard
	}
	if req.AlertPercent != nil {
		if *req.AlertPercent < 1 || *req.AlertPercent > 100 {
			return octomesh.Errorf(octomesh.EINVALID, "alert_percent must be between 1 and 100").WithParam("alert_percent")
		}
		b.AlertPercent = *req.AlertPercent
	}
	return nil
}

func (s *Server) handleListBudgets(w http.ResponseWriter, r *http.Request) {
	meter, _, err := s.metering()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(r.URL.Query()) > 0 {
		s.fail(w, r, octomesh.Errorf(octomesh.EINVALID, "this route takes no query parameters"))
		return
	}
	ctx := r.Context()
	bs, err := meter.Budgets(ctx, r.PathValue("org"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]budgetJSON, len(bs))
	for i, b := range bs {
		if out[i], err = s.budgetView(ctx, meter, b); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	writeList(w, out)
}

func (s *Server) handleGetBudget(w http.ResponseWriter, r *http.Request) {
	meter, _, err := s.metering()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	b, err := meter.Budget(ctx, r.PathValue("org"), r.PathValue("budget"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeBudget(w, r, meter, b, http.StatusOK)
}

func (s *Server) writeBudget(w http.ResponseWriter, r *http.Request, meter octomesh.LedgerStore, b *octomesh.Budget, status int) {
	v, err := s.budgetView(r.Context(), meter, b)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, status, v)
}

// handleCreateBudget creates a budget. A key or user subject must be one
// of the organisation's (a foreign one is refused exactly like a missing
// one); a project is a free label.
func (s *Server) handleCreateBudget(w http.ResponseWriter, r *http.Request) {
	meter, _, err := s.metering()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	body, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := decodeCreateBudget(body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, org := r.Context(), r.PathValue("org")
	b.ID, b.OrgID = octomesh.NewID("bud"), org
	if err := b.Validate(); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.checkBudgetSubject(ctx, b); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := meter.CreateBudget(ctx, b); err != nil {
		s.fail(w, r, err)
		return
	}
	s.budgetsChanged(org)
	s.writeBudget(w, r, meter, b, http.StatusCreated)
}

// checkBudgetSubject requires a key or user subject to exist in the
// budget's organisation, answering the same for foreign and missing ids.
func (s *Server) checkBudgetSubject(ctx context.Context, b *octomesh.Budget) error {
	st := s.store
	if st == nil {
		return nil
	}
	var err error
	switch b.Scope {
	case octomesh.ScopeKey:
		_, err = st.Key(ctx, b.OrgID, b.Subject)
	case octomesh.ScopeUser:
		_, err = st.User(ctx, b.OrgID, b.Subject)
	}
	if octomesh.ErrorCodeOf(err) == octomesh.ENOTFOUND {
		return octomesh.Errorf(octomesh.EINVALID, "subject: this organisation has no %s with that id", b.Scope).WithParam("subject")
	}
	return err
}

func (s *Server) handleUpdateBudget(w http.ResponseWriter, r *http.Request) {
	meter, _, err := s.metering()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	body, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, org := r.Context(), r.PathValue("org")
	b, err := meter.Budget(ctx, org, r.PathValue("budget"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := decodeUpdateBudget(body, b); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := meter.UpdateBudget(ctx, b); err != nil {
		s.fail(w, r, err)
		return
	}
	if b, err = meter.Budget(ctx, org, b.ID); err != nil { // the stored times
		s.fail(w, r, err)
		return
	}
	s.budgetsChanged(org)
	s.writeBudget(w, r, meter, b, http.StatusOK)
}

func (s *Server) handleDeleteBudget(w http.ResponseWriter, r *http.Request) {
	meter, _, err := s.metering()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	org, id := r.PathValue("org"), r.PathValue("budget")
	if err := meter.DeleteBudget(r.Context(), org, id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.budgetsChanged(org)
	writeJSON(w, http.StatusOK, deletedJSON{Object: "budget.deleted", ID: id, Deleted: true})
}

func (s *Server) budgetsChanged(org string) {
	if s.bill.budgetsChanged != nil {
		s.bill.budgetsChanged(org)
	}
}
