// Package httpapi is OctoMesh's HTTP transport: the OpenAI-compatible routes
// (/v1/chat/completions, /v1/embeddings, /v1/models), the Anthropic-compatible
// /v1/messages, health and metrics endpoints, authentication, request ids,
// body limits, and the one table mapping error codes to statuses.
//
// It sees only root interfaces (octomesh.ChatService, octomesh.Authenticator);
// cmd/octomesh wires the concrete gateway in. A Server is immutable once built
// and safe for concurrent use.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/octomesh/octomesh"
)

// Options configure a Server.
type Options struct {
	Service      octomesh.ChatService
	Auth         octomesh.Authenticator
	Metrics      http.Handler                // served at GET /metrics; optional
	Ready        func(context.Context) error // readiness probe for /readyz; optional
	Logger       *slog.Logger
	MaxBodyBytes int64 // default 10 MiB
	// ForwardHeaders are inbound headers the operator allows to reach
	// upstream providers (config server.allowed_forward_headers). Nothing
	// else from the client's request is ever forwarded.
	ForwardHeaders []string
	// Accounts is the store behind the admin API (/v1/me, /v1/orgs/…);
	// nil disables the admin API (its routes answer 404).
	Accounts octomesh.AccountStore
	// MintKey generates a new raw API key for k and sets k's Hash and
	// Prefix (apikey.Mint). Required with Accounts.
	MintKey func(k *octomesh.APIKey) (octomesh.Secret, error)
	// Now is the clock for key expiry and rotation overlaps; default time.Now.
	Now octomesh.Clock
	// Meter is the store behind the usage, ledger, budget and credit
	// routes (docs/billing.md); nil disables them (404).
	Meter octomesh.MeterStore
	// Billing computes statements, grants credits, pushes invoices and
	// applies payment webhooks; nil: one built from Meter and Accounts,
	// with no tax and no payment processor.
	Billing *BillingService
	// BudgetsChanged, when set, is called after a budget was created,
	// changed or deleted, so that metering reloads the organisation's.
	BudgetsChanged func(orgID string)
}

// Server routes and serves OctoMesh's HTTP API.
type Server struct {
	svc     octomesh.ChatService
	auth    octomesh.Authenticator
	metrics http.Handler
	ready   func(context.Context) error
	log     *slog.Logger
	maxBody int64
	forward []string
	mux     *http.ServeMux
	methods []string // the route table's methods, HEAD with GET, sorted
	store   octomesh.AccountStore
	mint    func(*octomesh.APIKey) (octomesh.Secret, error)
	now     octomesh.Clock
	bill    billingState // the billing routes' dependencies

	idPrefix string
	idSeq    atomic.Uint64
}

// New builds a Server.
func New(o Options) *Server {
	s := &Server{svc: o.Service, auth: o.Auth, metrics: o.Metrics, ready: o.Ready, log: o.Logger, maxBody: o.MaxBodyBytes,
		store: o.Accounts, mint: o.MintKey, now: o.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, h := range o.ForwardHeaders {
		s.forward = append(s.forward, http.CanonicalHeaderKey(h))
	}
	if s.maxBody <= 0 {
		s.maxBody = 10 << 20
	}
	var b [6]byte
	rand.Read(b[:])
	s.idPrefix = "req_" + hex.EncodeToString(b[:])
	s.bill = newBillingState(o, s.store, s.now, s.log)
	s.mux = http.NewServeMux()
	s.routes()
	return s
}

// Route is one entry of the route table; tests derive their matrices from it.
type Route struct {
	Pattern string // ServeMux pattern, e.g. "POST /v1/chat/completions"
	Auth    bool   // requires an API key
	// Perm is the permission the route needs (octomesh.AccessTable),
	// checked by authorize, in the organisation of {org} when the path has
	// one; "" admits any valid key.
	Perm octomesh.Permission
	// Self, when set, admits callers without Perm but with Self, limited
	// to their own user's objects (e.g. a member managing their own keys).
	Self    octomesh.Permission
	format  errorFormat
	handler func(http.ResponseWriter, *http.Request)
}

// Routes returns the route table.
func (s *Server) Routes() []Route {
	const use = octomesh.PermUseModels
	return append([]Route{
		{Pattern: "POST /v1/chat/completions", Auth: true, Perm: use, handler: s.handleChat},
		{Pattern: "POST /v1/messages", Auth: true, Perm: use, format: formatAnthropic, handler: s.handleMessages},
		{Pattern: "POST /v1/embeddings", Auth: true, Perm: use, handler: s.handleEmbeddings},
		{Pattern: "GET /v1/models", Auth: true, Perm: use, handler: s.handleModels},
		{Pattern: "GET /v1/models/{id...}", Auth: true, Perm: use, handler: s.handleModel},
		{Pattern: "GET /v1/routing/decisions/{id}", Auth: true, Perm: use, handler: s.handleDecision},
		{Pattern: "POST /v1/routing/explain", Auth: true, Perm: use, handler: s.handleExplain},
		{Pattern: "POST /v1/feedback", Auth: true, Perm: use, handler: s.handleFeedback},
		{Pattern: "GET /healthz", handler: s.handleHealth},
		{Pattern: "GET /readyz", handler: s.handleReady},
		{Pattern: "GET /metrics", handler: s.handleMetrics},
	}, s.adminRoutes()...)
}

func (s *Server) routes() {
	for _, rt := range s.Routes() {
		h := rt.handler
		if rt.Auth {
			h = s.authenticate(rt.format, s.authorize(rt, h))
		}
		s.mux.HandleFunc(rt.Pattern, h)
		if m, _, ok := strings.Cut(rt.Pattern, " "); ok && !slices.Contains(s.methods, m) {
			s.methods = append(s.methods, m)
			if m == http.MethodGet && !slices.Contains(s.methods, http.MethodHead) {
				s.methods = append(s.methods, http.MethodHead) // GET patterns match HEAD
			}
		}
	}
	slices.Sort(s.methods)
	// The catch-all answers what no route matches, in our error format.
	// It also shadows ServeMux's own 405 (a pattern without a method
	// matches every method), so noRoute works that out itself.
	s.mux.HandleFunc("/", s.noRoute)
}

// noRoute answers a request no route matched: 405 Method Not Allowed, with
// an Allow header, when routes have its path with other methods; else 404.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	f := formatOpenAI
	if r.URL.Path == "/v1/messages" {
		f = formatAnthropic
	}
	if allow := s.allowed(r); len(allow) > 0 {
		s.writeMethodNotAllowed(w, r, f, strings.Join(allow, ", "))
		return
	}
	s.writeError(w, r, f, octomesh.Errorf(octomesh.ENOTFOUND, "unknown route %s %s", clip(r.Method, 20), clip(r.URL.Path, 100)))
}

// allowed returns the methods of the routes matching r's path, asking the
// mux for each method of the route table, so that its matching rules (path
// wildcards, HEAD for GET) decide as for the request itself. Only requests
// no route matched come here.
func (s *Server) allowed(r *http.Request) []string {
	var allow []string
	probe := *r
	for _, m := range s.methods {
		probe.Method = m
		if _, pattern := s.mux.Handler(&probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	return allow
}

// ServeHTTP assigns the request id, recovers panics, and dispatches.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("X-Request-Id")
	ledgerID := ""
	if !validRequestID(id) {
		id = s.newID("", 0)
	} else {
		// A caller's id may repeat; the ledger's must not (see
		// octomesh.WithLedgerRequestID), so it gets our unique suffix. The
		// ledger takes at most 128 bytes, so a long id gives way to it.
		ledgerID = s.newID(id, 128)
	}
	setHeader(w, "X-Request-Id", id)
	// One scope for the request's identity, filled in by authenticate and
	// authorize: one context and one request copy instead of five.
	ctx, sc := octomesh.NewScope(r.Context())
	sc.ID, sc.LedgerID, sc.Start = id, ledgerID, time.Now()
	// The recovery answers with this request, not r: its scope says
	// whether the gateway recorded the request, and the mux sets its
	// pattern, the metrics' route. Behind h1server, r itself takes the
	// context: the server hands r to this handler only, and nothing
	// between them keeps it (cmd/octomesh serves the Server as it is).
	var sr *http.Request
	if cs, ok := w.(contextSetter); ok {
		sr = cs.RequestWithContext(r, ctx)
	} else {
		sr = r.WithContext(ctx)
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.LogAttrs(ctx, slog.LevelError, "panic", attrString(attrRequestID, id), attrString("stack", string(debug.Stack())))
			s.writeError(w, sr, formatOpenAI, octomesh.Errorf(octomesh.EINTERNAL, "internal error"))
		}
	}()
	s.mux.ServeHTTP(w, sr)
}

// newID returns a new request id: "req_", the server's random prefix and a
// sequence number. With a caller's id it returns the ledger's instead: the
// caller's, cut to leave room within limit bytes, then "~", the prefix and
// the number. One allocation, the string's.
func (s *Server) newID(caller string, limit int) string {
	var b [192]byte
	seq := s.idSeq.Add(1)
	if caller == "" {
		out := strconv.AppendUint(append(b[:0], s.idPrefix...), seq, 36)
		return string(out)
	}
	var sb [32]byte
	suffix := strconv.AppendUint(append(append(sb[:0], '~'), s.idPrefix[4:]...), seq, 36)
	out := append(b[:0], caller[:min(len(caller), limit-len(suffix))]...)
	return string(append(out, suffix...))
}

// validRequestID accepts caller ids of 1-128 safe characters, so they cannot
// inject into logs or headers.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// authenticate requires a valid API key, sent as each SDK sends it:
// Authorization: Bearer (OpenAI), x-api-key (Anthropic), x-goog-api-key (Gemini).
func (s *Server) authenticate(f errorFormat, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := s.auth.Authenticate(r.Context(), KeyFromRequest(r))
		if err != nil {
			s.writeError(w, r, f, err)
			return
		}
		var fwd [][2]string
		for _, name := range s.forward {
			if v := r.Header.Get(name); v != "" {
				fwd = append(fwd, [2]string{name, v})
			}
		}
		if sc := octomesh.ScopeFrom(r.Context()); sc != nil {
			sc.Principal, sc.Forward = p, fwd
			next(w, r)
			return
		}
		ctx := octomesh.WithForwardHeaders(octomesh.WithPrincipal(r.Context(), p), fwd)
		next(w, r.WithContext(ctx))
	}
}

// KeyFromRequest extracts the API key from the request's headers, or "".
func KeyFromRequest(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(token)
		}
		return ""
	}
	if k := r.Header.Get("X-Api-Key"); k != "" {
		return strings.TrimSpace(k)
	}
	return strings.TrimSpace(r.Header.Get("X-Goog-Api-Key"))
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": octomesh.Version})
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.ready != nil {
		if err := s.ready(r.Context()); err != nil {
			s.log.LogAttrs(r.Context(), slog.LevelWarn, "not ready", attrString(attrCause, err.Error()))
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if s.metrics == nil {
		s.writeError(w, r, formatOpenAI, octomesh.Errorf(octomesh.ENOTFOUND, "metrics are disabled"))
		return
	}
	s.metrics.ServeHTTP(w, r)
}

// writeJSON writes v as a JSON response without HTML escaping.
func writeJSON(w http.ResponseWriter, status int, v any) {
	setHeader(w, "Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Log attribute keys.
const (
	attrRequestID = "request_id"
	attrStatus    = "status"
	attrCause     = "cause"
)

func attrString(k, v string) slog.Attr  { return slog.String(k, v) }
func attrInt(k string, v int) slog.Attr { return slog.Int(k, v) }

func levelFor(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelWarn
}
