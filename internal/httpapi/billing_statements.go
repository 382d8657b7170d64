package httpapi

import (
	"bytes"
	"net/http"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/billing"
)

// handleStatement is GET /v1/orgs/{org}/statements/{month}: the monthly
// statement as JSON, or with ?format=html as a printable page.
func (s *Server) handleStatement(w http.ResponseWriter, r *http.Request) {
	_, svc, err := s.metering()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	format, err := onlyFormat(r, "json", "html")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	m, err := billing.ParseMonth(r.PathValue("month"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := svc.Statement(r.Context(), r.PathValue("org"), m)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if format == "json" {
		writeJSON(w, http.StatusOK, st)
		return
	}
	var page bytes.Buffer
	if err := st.WriteHTML(&page); err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The page is self-contained: no scripts, no requests of its own.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(page.Bytes())
}

// onlyFormat allows only a format parameter, with one of the values given
// (the first is the default).
func onlyFormat(r *http.Request, formats ...string) (string, error) {
	q := r.URL.Query()
	for k := range q {
		if k != "format" {
			return "", octomesh.Errorf(octomesh.EINVALID, "unknown query parameter %q; this route takes format", clip(k, 40)).WithParam(clip(k, 40))
		}
	}
	if len(q["format"]) > 1 {
		return "", octomesh.Errorf(octomesh.EINVALID, "the query parameter format is given more than once").WithParam("format")
	}
	v := q.Get("format")
	if v == "" {
		return formats[0], nil
	}
	for _, f := range formats {
		if v == f {
			return v, nil
		}
	}
	return "", octomesh.Errorf(octomesh.EINVALID, "format must be json or html").WithParam("format")
}

type creditBalanceJSON struct {
	Object   string        `json:"object"` // "credit_balance"
	OrgID    string        `json:"org_id"`
	Balance  billing.Exact `json:"balance"`
	Prepaid  bool          `json:"prepaid"`
	Currency string        `json:"currency"`
}

// handleCredits is GET /v1/orgs/{org}/credits: the prepaid balance,
// top-ups minus all spend.
func (s *Server) handleCredits(w http.ResponseWriter, r *http.Request) {
	_, svc, err := s.metering()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.accounts()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, org := r.Context(), r.PathValue("org")
	o, err := st.Org(ctx, org)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := svc.Balance(ctx, org)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, creditBalanceJSON{Object: "credit_balance", OrgID: org, Balance: billing.Exact(b), Prepaid: o.Settings.Prepaid, Currency: svc.Currency()})
}

type grantRequest struct {
	OrgID     string `json:"org_id"`
	Amount    string `json:"amount"` // decimal dollars, "25.00"
	Reference string `json:"reference"`
	Note      string `json:"note"`
}

func decodeGrant(body []byte) (*grantRequest, octomesh.Money, error) {
	var req grantRequest
	if err := decodeStrict(body, &req); err != nil {
		return nil, 0, err
	}
	if !octomesh.ValidID(req.OrgID) {
		return nil, 0, octomesh.Errorf(octomesh.EINVALID, "org_id must name an organisation").WithParam("org_id")
	}
	m, err := octomesh.ParseMoney(req.Amount)
	if err != nil || m <= 0 {
		return nil, 0, octomesh.Errorf(octomesh.EINVALID, "amount must be a positive decimal dollar string such as \"25.00\"").WithParam("amount")
	}
	return &req, m, nil
}

type creditJSON struct {
	Object    string        `json:"object"` // "credit"
	OrgID     string        `json:"org_id"`
	Amount    billing.Exact `json:"amount"`
	RequestID string        `json:"request_id"` // the ledger entry's
	Recorded  bool          `json:"recorded"`   // false: this reference was recorded before
	Balance   billing.Exact `json:"balance"`
}

// handleGrantCredit is POST /v1/billing/credits (operator keys): a manual
// top-up of any organisation's prepaid credits. 201 when recorded, 200
// when the reference was recorded before.
func (s *Server) handleGrantCredit(w http.ResponseWriter, r *http.Request) {
	_, svc, err := s.metering()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	body, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req, amount, err := decodeGrant(body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	c, err := svc.GrantCredit(ctx, billing.TopUp{OrgID: req.OrgID, Amount: amount, Reference: req.Reference, Note: req.Note})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := svc.Balance(ctx, req.OrgID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if c.Recorded {
		status = http.StatusCreated
	}
	writeJSON(w, status, creditJSON{Object: "credit", OrgID: c.OrgID, Amount: billing.Exact(c.Amount), RequestID: c.RequestID, Recorded: c.Recorded, Balance: billing.Exact(b)})
}

type pushInvoiceRequest struct {
	OrgID string `json:"org_id"`
}

func decodePushInvoice(body []byte) (*pushInvoiceRequest, error) {
	var req pushInvoiceRequest
	if err := decodeStrict(body, &req); err != nil {
		return nil, err
	}
	if !octomesh.ValidID(req.OrgID) {
		return nil, octomesh.Errorf(octomesh.EINVALID, "org_id must name an organisation").WithParam("org_id")
	}
	return &req, nil
}

// handlePushInvoice is POST /v1/billing/stripe/invoices/{month} (operator
// keys): invoice one organisation's statement on Stripe. 201 when the
// invoice was created, 200 when it existed (pushing again is safe).
func (s *Server) handlePushInvoice(w http.ResponseWriter, r *http.Request) {
	_, svc, err := s.metering()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	m, err := billing.ParseMonth(r.PathValue("month"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	body, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req, err := decodePushInvoice(body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	inv, err := svc.PushInvoice(r.Context(), req.OrgID, m)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if inv.Created {
		status = http.StatusCreated
	}
	writeJSON(w, status, inv)
}
