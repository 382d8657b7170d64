// Package stripefake is a local fake of the part of Stripe's HTTP API that
// OctoMesh uses, for tests: customers (create, retrieve, search by
// metadata), invoices (create, retrieve, list, finalize) and invoice items
// (create, list). It speaks Stripe's wire format as stripe-go expects it:
// form-encoded requests with bracketed keys (metadata[org]=…), JSON objects
// with "object" set, list envelopes, error objects with type, code and
// param, Bearer authentication, and Idempotency-Key: a key's first answer
// is saved and replayed (with Idempotent-Replayed: true) and reusing a key
// with other parameters is an idempotency_error, as Stripe does.
//
// Faults can be scripted: fail a request before it runs (a 500), or run it
// and then drop the connection before answering (a lost response, which
// the client must retry with the same key).
//
// It also builds signed webhook deliveries (Event, Sign).
package stripefake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	URL    string // the base URL to configure as the API base
	APIKey string

	mu        sync.Mutex
	seq       int
	customers []*Customer
	invoices  []*Invoice
	items     []*InvoiceItem
	idem      map[string]*saved
	faults    []*fault
	requests  []Request
	now       func() time.Time
}

// Request is one request the fake received.
type Request struct {
	Method, Path, IdempotencyKey string
	Replayed                     bool
}

// Customer is a customer object.
type Customer struct {
	ID       string            `json:"id"`
	Object   string            `json:"object"`
	Created  int64             `json:"created"`
	Email    *string           `json:"email"`
	Name     *string           `json:"name"`
	Metadata map[string]string `json:"metadata"`
	Livemode bool              `json:"livemode"`
}

// Invoice is an invoice object (the fields OctoMesh reads, and a few more).
type Invoice struct {
	ID                          string            `json:"id"`
	Object                      string            `json:"object"`
	Customer                    string            `json:"customer"`
	Currency                    string            `json:"currency"`
	Status                      string            `json:"status"`
	CollectionMethod            string            `json:"collection_method"`
	DaysUntilDue                *int64            `json:"days_until_due"`
	AutoAdvance                 bool              `json:"auto_advance"`
	PendingInvoiceItemsBehavior string            `json:"-"`
	Description                 *string           `json:"description"`
	Metadata                    map[string]string `json:"metadata"`
	Number                      *string           `json:"number"`
	Subtotal                    int64             `json:"subtotal"`
	Total                       int64             `json:"total"`
	AmountDue                   int64             `json:"amount_due"`
	AmountPaid                  int64             `json:"amount_paid"`
	AmountRemaining             int64             `json:"amount_remaining"`
	HostedInvoiceURL            *string           `json:"hosted_invoice_url"`
	Created                     int64             `json:"created"`
	Livemode                    bool              `json:"livemode"`
	Lines                       listEnvelope      `json:"lines"`
}

// InvoiceItem is an invoice item object.
type InvoiceItem struct {
	ID          string            `json:"id"`
	Object      string            `json:"object"`
	Amount      int64             `json:"amount"`
	Currency    string            `json:"currency"`
	Customer    string            `json:"customer"`
	Description *string           `json:"description"`
	Invoice     *string           `json:"invoice"`
	Metadata    map[string]string `json:"metadata"`
	Quantity    int64             `json:"quantity"`
	Date        int64             `json:"date"`
	Livemode    bool              `json:"livemode"`
}

type listEnvelope struct {
	Object  string `json:"object"`
	Data    []any  `json:"data"`
	HasMore bool   `json:"has_more"`
	URL     string `json:"url"`
}

type saved struct {
	fingerprint string
	status      int
	body        []byte
}

type fault struct {
	method, path string
	drop         bool // run, then drop the connection
	left         int
}

// New starts a fake on a loopback port for the test's lifetime.
func New(t testing.TB, apiKey string) *Server {
	s := &Server{APIKey: apiKey, idem: map[string]*saved{}, now: time.Now}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	s.URL = ts.URL
	return s
}

// FailNext makes the next n requests of method to path answer 500
// api_error without running.
func (s *Server) FailNext(method, path string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{method: method, path: path, left: n})
}

// DropNext makes the next n requests of method to path run (and be saved
// under their idempotency key) and then lose their answer: the connection
// is closed before any byte is written.
func (s *Server) DropNext(method, path string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{method: method, path: path, drop: true, left: n})
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Customers returns a copy of the customers.
func (s *Server) Customers() []Customer {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Customer, len(s.customers))
	for i, c := range s.customers {
		out[i] = *c
	}
	return out
}

// Invoices returns a copy of the invoices.
func (s *Server) Invoices() []Invoice {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Invoice, len(s.invoices))
	for i, v := range s.invoices {
		out[i] = *v
	}
	return out
}

// InvoiceItems returns a copy of the invoice items.
func (s *Server) InvoiceItems() []InvoiceItem {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]InvoiceItem, len(s.items))
	for i, v := range s.items {
		out[i] = *v
	}
	return out
}

// AddCustomer stores a customer directly (as if made in Stripe's dashboard).
func (s *Server) AddCustomer(name string, metadata map[string]string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &Customer{ID: s.id("cus"), Object: "customer", Created: s.now().Unix(), Name: &name, Metadata: metadata}
	if c.Metadata == nil {
		c.Metadata = map[string]string{}
	}
	s.customers = append(s.customers, c)
	return c.ID
}

// apiError is Stripe's error body.
type apiError struct {
	Error struct {
		Type    string `json:"type"`
		Code    string `json:"code,omitempty"`
		Param   string `json:"param,omitempty"`
		Message string `json:"message"`
	} `json:"error"`
}

type answer struct {
	status int
	body   any
}

func errAnswer(status int, typ, code, param, format string, args ...any) answer {
	var e apiError
	e.Error.Type, e.Error.Code, e.Error.Param, e.Error.Message = typ, code, param, fmt.Sprintf(format, args...)
	return answer{status, e}
}

func missing(kind, param, id string) answer {
	return errAnswer(404, "invalid_request_error", "resource_missing", param, "No such %s: '%s'", kind, id)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Request-Id", "req_"+randHex(7))
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != "Bearer "+s.APIKey {
		writeAnswer(w, errAnswer(401, "invalid_request_error", "", "", "Invalid API Key provided"))
		return
	}
	if err := r.ParseForm(); err != nil {
		writeAnswer(w, errAnswer(400, "invalid_request_error", "parameter_invalid", "", "Invalid request body"))
		return
	}
	key := r.Header.Get("Idempotency-Key")
	s.mu.Lock()
	req := Request{Method: r.Method, Path: r.URL.Path, IdempotencyKey: key}
	f := s.fault(r.Method, r.URL.Path)
	if f != nil && !f.drop {
		s.requests = append(s.requests, req)
		s.mu.Unlock()
		writeAnswer(w, errAnswer(500, "api_error", "", "", "An unknown error occurred (injected)"))
		return
	}
	var status int
	var body []byte
	fp := r.Method + " " + r.URL.Path + "?" + canonical(r.PostForm)
	if sv, ok := s.idem[key]; key != "" && r.Method == http.MethodPost && ok {
		if sv.fingerprint != fp {
			s.requests = append(s.requests, req)
			s.mu.Unlock()
			writeAnswer(w, errAnswer(400, "idempotency_error", "", "", "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '%s' if you meant to execute a different request.", key))
			return
		}
		status, body, req.Replayed = sv.status, sv.body, true
		w.Header().Set("Idempotent-Replayed", "true")
	} else {
		a := s.route(r)
		status = a.status
		body, _ = json.Marshal(a.body)
		if key != "" && r.Method == http.MethodPost {
			s.idem[key] = &saved{fingerprint: fp, status: status, body: body}
		}
	}
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	if f != nil { // the request ran; its answer is lost on the way
		dropConnection(w)
		return
	}
	w.WriteHeader(status)
	w.Write(body)
}

// fault returns (and uses up) a matching scripted fault. s.mu is held.
func (s *Server) fault(method, path string) *fault {
	for _, f := range s.faults {
		if f.left > 0 && f.method == method && f.path == path {
			f.left--
			return f
		}
	}
	return nil
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
		}
	}
}

func writeAnswer(w http.ResponseWriter, a answer) {
	b, _ := json.Marshal(a.body)
	w.WriteHeader(a.status)
	w.Write(b)
}

var (
	reCustomer = regexp.MustCompile(`^/v1/customers/([A-Za-z0-9_]+)$`)
	reInvoice  = regexp.MustCompile(`^/v1/invoices/([A-Za-z0-9_]+)$`)
	reFinalize = regexp.MustCompile(`^/v1/invoices/([A-Za-z0-9_]+)/finalize$`)
)

// route runs a request. s.mu is held.
func (s *Server) route(r *http.Request) answer {
	p, f := r.URL.Path, r.Form
	switch {
	case r.Method == "POST" && p == "/v1/customers":
		return s.createCustomer(f)
	case r.Method == "GET" && p == "/v1/customers/search":
		return s.searchCustomers(f)
	case r.Method == "GET" && reCustomer.MatchString(p):
		id := reCustomer.FindStringSubmatch(p)[1]
		if c := s.customer(id); c != nil {
			return answer{200, c}
		}
		return missing("customer", "id", id)
	case r.Method == "POST" && p == "/v1/invoices":
		return s.createInvoice(f)
	case r.Method == "GET" && p == "/v1/invoices":
		return s.listInvoices(f)
	case r.Method == "GET" && reInvoice.MatchString(p):
		id := reInvoice.FindStringSubmatch(p)[1]
		if v := s.invoice(id); v != nil {
			return answer{200, s.view(v)}
		}
		return missing("invoice", "id", id)
	case r.Method == "POST" && reFinalize.MatchString(p):
		return s.finalize(reFinalize.FindStringSubmatch(p)[1], f)
	case r.Method == "POST" && p == "/v1/invoiceitems":
		return s.createItem(f)
	case r.Method == "GET" && p == "/v1/invoiceitems":
		return s.listItems(f)
	}
	return errAnswer(404, "invalid_request_error", "", "", "Unrecognized request URL (%s: %s).", r.Method, p)
}

func (s *Server) createCustomer(f url.Values) answer {
	c := &Customer{ID: s.id("cus"), Object: "customer", Created: s.now().Unix(), Metadata: metadata(f)}
	if v, ok := f["name"]; ok {
		c.Name = &v[0]
	}
	if v, ok := f["email"]; ok {
		c.Email = &v[0]
	}
	s.customers = append(s.customers, c)
	return answer{200, c}
}

var reSearch = regexp.MustCompile(`^metadata\['([^']+)'\]:'([^']*)'$`)

// searchCustomers supports the one query form OctoMesh sends:
// metadata['key']:'value'.
func (s *Server) searchCustomers(f url.Values) answer {
	m := reSearch.FindStringSubmatch(f.Get("query"))
	if m == nil {
		return errAnswer(400, "invalid_request_error", "parameter_invalid", "query", "The fake supports only metadata['key']:'value' queries")
	}
	data := []any{}
	for _, c := range s.customers {
		if v, ok := c.Metadata[m[1]]; ok && v == m[2] {
			data = append(data, c)
		}
	}
	return answer{200, map[string]any{"object": "search_result", "data": data, "has_more": false, "next_page": nil, "url": "/v1/customers/search"}}
}

func (s *Server) createInvoice(f url.Values) answer {
	cust := f.Get("customer")
	if cust == "" {
		return errAnswer(400, "invalid_request_error", "parameter_missing", "customer", "Missing required param: customer.")
	}
	if s.customer(cust) == nil {
		return missing("customer", "customer", cust)
	}
	v := &Invoice{ID: s.id("in"), Object: "invoice", Customer: cust, Currency: or(f.Get("currency"), "usd"), Status: "draft",
		CollectionMethod: or(f.Get("collection_method"), "charge_automatically"), Metadata: metadata(f),
		PendingInvoiceItemsBehavior: or(f.Get("pending_invoice_items_behavior"), "include"), Created: s.now().Unix(), AutoAdvance: f.Get("auto_advance") != "false"}
	if v.CollectionMethod == "send_invoice" {
		d, err := strconv.ParseInt(f.Get("days_until_due"), 10, 64)
		if err != nil {
			return errAnswer(400, "invalid_request_error", "parameter_missing", "days_until_due", "days_until_due is required with collection_method send_invoice.")
		}
		v.DaysUntilDue = &d
	}
	if d, ok := f["description"]; ok {
		v.Description = &d[0]
	}
	if v.PendingInvoiceItemsBehavior == "include" { // sweep the customer's pending items in
		for _, it := range s.items {
			if it.Customer == cust && it.Invoice == nil {
				it.Invoice = &v.ID
			}
		}
	}
	s.invoices = append(s.invoices, v)
	return answer{200, s.view(v)}
}

func (s *Server) listInvoices(f url.Values) answer {
	data := []any{}
	for i := len(s.invoices) - 1; i >= 0; i-- { // newest first, as Stripe lists
		v := s.invoices[i]
		if c := f.Get("customer"); c != "" && v.Customer != c {
			continue
		}
		if st := f.Get("status"); st != "" && v.Status != st {
			continue
		}
		data = append(data, s.view(v))
	}
	return answer{200, listEnvelope{Object: "list", Data: data, URL: "/v1/invoices"}}
}

func (s *Server) finalize(id string, f url.Values) answer {
	v := s.invoice(id)
	if v == nil {
		return missing("invoice", "id", id)
	}
	if v.Status != "draft" {
		return errAnswer(400, "invalid_request_error", "invoice_not_editable", "", "This invoice is already finalized, you can't re-finalize a non-draft invoice.")
	}
	v.Status = "open"
	n := fmt.Sprintf("FAKE-%04d", s.seq)
	u := "https://invoice.stripe.test/i/" + v.ID
	v.Number, v.HostedInvoiceURL = &n, &u
	if a := f.Get("auto_advance"); a != "" {
		v.AutoAdvance = a == "true"
	}
	return answer{200, s.view(v)}
}

func (s *Server) createItem(f url.Values) answer {
	cust := f.Get("customer")
	if cust == "" {
		return errAnswer(400, "invalid_request_error", "parameter_missing", "customer", "Missing required param: customer.")
	}
	if s.customer(cust) == nil {
		return missing("customer", "customer", cust)
	}
	amount, err := strconv.ParseInt(f.Get("amount"), 10, 64)
	if err != nil {
		return errAnswer(400, "invalid_request_error", "parameter_invalid_integer", "amount", "Invalid integer: %s", f.Get("amount"))
	}
	if f.Get("currency") == "" {
		return errAnswer(400, "invalid_request_error", "parameter_missing", "currency", "Missing required param: currency.")
	}
	it := &InvoiceItem{ID: s.id("ii"), Object: "invoiceitem", Amount: amount, Currency: f.Get("currency"), Customer: cust,
		Metadata: metadata(f), Quantity: 1, Date: s.now().Unix()}
	if d, ok := f["description"]; ok {
		it.Description = &d[0]
	}
	if inv := f.Get("invoice"); inv != "" {
		v := s.invoice(inv)
		switch {
		case v == nil:
			return missing("invoice", "invoice", inv)
		case v.Status != "draft":
			return errAnswer(400, "invalid_request_error", "invoice_not_editable", "invoice", "You can only add invoice items to draft invoices.")
		case v.Customer != cust:
			return errAnswer(400, "invalid_request_error", "parameter_invalid", "invoice", "The invoice belongs to another customer.")
		}
		it.Invoice = &v.ID
	}
	s.items = append(s.items, it)
	return answer{200, it}
}

func (s *Server) listItems(f url.Values) answer {
	data := []any{}
	for i := len(s.items) - 1; i >= 0; i-- {
		it := s.items[i]
		if inv := f.Get("invoice"); inv != "" && (it.Invoice == nil || *it.Invoice != inv) {
			continue
		}
		if c := f.Get("customer"); c != "" && it.Customer != c {
			continue
		}
		if f.Get("pending") == "true" && it.Invoice != nil {
			continue
		}
		data = append(data, it)
	}
	return answer{200, listEnvelope{Object: "list", Data: data, URL: "/v1/invoiceitems"}}
}

// view fills an invoice's totals and lines from its items.
func (s *Server) view(v *Invoice) *Invoice {
	var total int64
	lines := []any{}
	for _, it := range s.items {
		if it.Invoice != nil && *it.Invoice == v.ID {
			total += it.Amount
			lines = append(lines, map[string]any{"id": "il_" + strings.TrimPrefix(it.ID, "ii_"), "object": "line_item",
				"amount": it.Amount, "currency": it.Currency, "description": it.Description, "metadata": it.Metadata})
		}
	}
	v.Subtotal, v.Total, v.AmountDue, v.AmountRemaining = total, total, total, total-v.AmountPaid
	v.Lines = listEnvelope{Object: "list", Data: lines, URL: "/v1/invoices/" + v.ID + "/lines"}
	c := *v
	return &c
}

func (s *Server) customer(id string) *Customer {
	for _, c := range s.customers {
		if c.ID == id {
			return c
		}
	}
	return nil
}

func (s *Server) invoice(id string) *Invoice {
	for _, v := range s.invoices {
		if v.ID == id {
			return v
		}
	}
	return nil
}

func (s *Server) id(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s_fake%06d%s", prefix, s.seq, randHex(4))
}

// metadata collects metadata[key]=value form fields.
func metadata(f url.Values) map[string]string {
	m := map[string]string{}
	for k, v := range f {
		if strings.HasPrefix(k, "metadata[") && strings.HasSuffix(k, "]") {
			m[k[len("metadata["):len(k)-1]] = v[0]
		}
	}
	return m
}

// canonical encodes form values in sorted order, for comparing requests.
func canonical(f url.Values) string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range f[k] {
			b.WriteString(url.QueryEscape(k) + "=" + url.QueryEscape(v) + "&")
		}
	}
	return b.String()
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
