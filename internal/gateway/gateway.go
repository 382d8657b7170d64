// Package gateway is OctoMesh's request pipeline: validate, resolve the
// model, check the deployment can serve the request, invoke the provider with
// a bounded deadline, then meter and record metadata (never content).
//
// A Service is built once at start from the catalogue and the provider
// instances and is safe for concurrent use. Streams it returns must be closed
// by the caller; closing one records its outcome.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/meter"
	"github.com/octomesh/octomesh/internal/router"
	"github.com/octomesh/octomesh/internal/router/online"
	"github.com/octomesh/octomesh/internal/telemetry"
)

// AutoModel is the model name that asks OctoMesh to choose.
const AutoModel = "auto"

// Options configure a Service.
type Options struct {
	Catalog         *Catalog
	Providers       map[string]octomesh.Provider // by provider instance ID
	Metrics         *telemetry.Metrics           // optional
	Logger          *slog.Logger                 // optional
	Now             octomesh.Clock               // optional; time.Now
	UpstreamTimeout time.Duration                // total bound on one upstream call; default 10m
	// DecisionCapacity bounds the decision records kept in memory; default 20,000.
	DecisionCapacity int
	// Router plans chat requests (candidates, order, timeouts, hedging) and
	// keeps live health. Without one, each request goes to the deployment it
	// names (or the cheapest eligible one for "auto").
	Router *router.Router
	// RouteDefaults are the config's route options (the first layer the key
	// and the request narrow).
	RouteDefaults octomesh.RouteOptions
	// Meter applies rate limits and budgets and writes the usage ledger.
	// Without one, requests are neither limited nor recorded in a ledger.
	Meter *meter.Meter
	// Online learns from feedback (POST /v1/feedback) and explores on auto
	// requests (see feedback.go). Without one, feedback is refused.
	Online *online.Learner
}

// Service is the gateway pipeline. It implements octomesh.ChatService.
type Service struct {
	cat       *Catalog
	providers map[string]octomesh.Provider
	metrics   *telemetry.Metrics
	log       *slog.Logger
	now       octomesh.Clock
	timeout   time.Duration
	health    health
	rand      func() float64
	// planner, when set (by tests), replaces the router's or the simple
	// planner; see makePlan.
	planner   func(ctx context.Context, req *octomesh.ChatRequest) (*plan, error)
	decisions *decisionStore
	routes    routes // route headers made once

	router        *router.Router
	routeDefaults octomesh.RouteOptions
	meter         *meter.Meter
	learning      *learning // nil without Options.Online
}

var _ octomesh.ChatService = (*Service)(nil)

// New returns a Service. It fails if a deployment names a provider that was
// not supplied.
func New(o Options) (*Service, error) {
	if o.Catalog == nil {
		return nil, errors.New("gateway: no catalog")
	}
	for _, d := range o.Catalog.Deployments() {
		if _, ok := o.Providers[d.Provider]; !ok {
			return nil, fmt.Errorf("gateway: deployment %q uses unknown provider %q", d.Name, d.Provider)
		}
	}
	s := &Service{cat: o.Catalog, providers: o.Providers, metrics: o.Metrics, log: o.Logger, now: o.Now, timeout: o.UpstreamTimeout, meter: o.Meter}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.timeout <= 0 {
		s.timeout = 10 * time.Minute
	}
	s.health = newLocalHealth()
	if o.Router != nil {
		s.router, s.routeDefaults = o.Router, o.RouteDefaults
		s.health = routerHealth{o.Router}
	}
	s.decisions = newDecisionStore(o.DecisionCapacity)
	s.routes = newRoutes(o.Catalog.Deployments())
	s.learning = newLearning(o.Online, o.DecisionCapacity)
	return s, nil
}

// Models lists the deployments the caller's key may use (every one for a
// key without a model allow-list).
func (s *Service) Models(ctx context.Context) []*octomesh.Deployment {
	all := s.cat.Deployments()
	p := octomesh.PrincipalFrom(ctx)
	if p == nil || len(p.AllowedModels) == 0 {
		return all
	}
	out := make([]*octomesh.Deployment, 0, len(all))
	for _, d := range all {
		if s.allows(p, d) {
			out = append(out, d)
		}
	}
	return out
}

// Model returns a deployment by name or alias, or ENOTFOUND, also for one
// the caller's key may not use (as OpenAI answers for a model you cannot
// access).
func (s *Service) Model(ctx context.Context, name string) (*octomesh.Deployment, error) {
	if d, ok := s.cat.Deployment(name); ok {
		if p := octomesh.PrincipalFrom(ctx); p == nil || s.allows(p, d) {
			return d, nil
		}
	}
	return nil, s.notFound(name)
}

// allows reports whether p's allow-list names d: by its name, an alias of
// it, or one of its groups.
func (s *Service) allows(p *octomesh.Principal, d *octomesh.Deployment) bool {
	if len(p.AllowedModels) == 0 || p.AllowsModel(d.Name) || p.AllowsModel(d.Groups...) {
		return true
	}
	for _, name := range p.AllowedModels {
		if a, ok := s.cat.Deployment(name); ok && a.Name == d.Name {
			return true
		}
	}
	return false
}

func (s *Service) notFound(name string) error {
	msg := fmt.Sprintf("The model %q does not exist or you do not have access to it.", clip(name, 128))
	if sug := s.cat.suggest(name); len(sug) > 0 {
		msg += " Did you mean " + strings.Join(sug, ", ") + "?"
	}
	return octomesh.Errorf(octomesh.ENOTFOUND, "%s", msg).WithParam("model")
}

// Chat serves a non-streaming chat request, following the routing plan:
// failover, retries within the budget, hedging where the plan allows it.
func (s *Service) Chat(ctx context.Context, req *octomesh.ChatRequest) (*octomesh.ChatResponse, *octomesh.Served, error) {
	start := s.now()
	if err := req.Validate(); err != nil {
		s.rejected(ctx, false, start, err)
		return nil, nil, err
	}
	c := new(chatCall)
	c.init(s, octomesh.RequestIDFrom(ctx))
	c.exec.spareReq = &c.up
	served := &c.served
	prompt := req.EstimateTokens()
	mt, err := s.admit(ctx, served, int64(prompt+maxOutput(req, nil)), &c.mt)
	if err != nil {
		s.rejected(ctx, false, start, err)
		return nil, served, err
	}
	if s.router != nil {
		s.router.Admit()
	}
	p, err := s.makePlan(ctx, req, &c.plan)
	if err != nil {
		mt.release(ctx)
		s.rejected(ctx, false, start, err)
		return nil, served, err
	}
	if err := mt.reserve(ctx, maxCost(p, req, prompt)); err != nil {
		s.rejected(ctx, false, start, err)
		return nil, served, err
	}
	e := c.begin(p, start)
	served.Model, served.Provider = p.attempts[0].d.Name, p.attempts[0].d.Provider
	resp, won, err := e.chat(ctx, req)
	served.Attempts = e.tried
	served.Route = s.routes.header(p.decision.Attempts)
	if err != nil {
		if serr := mt.settle(ctx, p.decision, nil); serr != nil {
			err = serr
		}
		s.finish(ctx, outcome{route: "chat", d: p.attempts[0].d, start: start, err: err, decision: p.decision})
		return nil, served, err
	}
	d := won.d
	served.Model, served.Provider = d.Name, d.Provider
	resp.Model = d.Name
	u := usageOrEstimate(resp.Usage, req, responseText(resp))
	c.usage = u.Usage
	resp.Usage = &c.usage
	served.Cost = mt.costOf(d, u.Usage)
	// The usage is durable before the answer leaves: a response the
	// client receives always has its ledger entry.
	if err := mt.settle(ctx, p.decision, []billed{{attempt: okAttempt(p.decision), d: d, usage: u}}); err != nil {
		s.finish(ctx, outcome{route: "chat", d: d, start: start, err: err, decision: p.decision})
		return nil, served, err
	}
	s.finish(ctx, outcome{route: "chat", d: d, start: start, usage: u, cost: served.Cost, decision: p.decision})
	return resp, served, nil
}

// makePlan plans req in *dst (nil: a new plan) with the router, or the
// simple planner without one, unless a test set its own planner.
func (s *Service) makePlan(ctx context.Context, req *octomesh.ChatRequest, dst *plan) (*plan, error) {
	switch {
	case s.planner != nil:
		return s.planner(ctx, req)
	case s.router != nil:
		return s.routerPlan(ctx, req, dst)
	}
	return s.simplePlan(ctx, req, dst)
}

// okAttempt returns the index of the decision's successful attempt (the
// last one that succeeded), or -1.
func okAttempt(dec *octomesh.Decision) int {
	for i := len(dec.Attempts) - 1; i >= 0; i-- {
		if dec.Attempts[i].Outcome == "ok" {
			return i
		}
	}
	return -1
}

// ChatStream opens a streaming chat request. It returns once an attempt has
// produced content, so a plan whose every candidate fails before sending
// anything yields an error here (and a proper HTTP status) rather than a
// broken stream; failures after that are handled by the stream itself.
// It is PrepareStream and then the prepared stream's Start.
func (s *Service) ChatStream(ctx context.Context, req *octomesh.ChatRequest) (octomesh.ChatStream, *octomesh.Served, error) {
	f, served, err := s.prepareStream(ctx, req)
	if err != nil {
		return nil, served, err
	}
	st, err := f.Start()
	return st, served, err
}

// PrepareStream is the first half of ChatStream: it validates, admits,
// routes and reserves, touching no upstream. The prepared stream's Start
// does the rest.
func (s *Service) PrepareStream(ctx context.Context, req *octomesh.ChatRequest) (octomesh.PreparedStream, *octomesh.Served, error) {
	f, served, err := s.prepareStream(ctx, req)
	if err != nil {
		return nil, served, err
	}
	return f, served, nil
}

// prepareStream plans req and readies the stream that will serve it. Its
// frames (the router's, the limits') are the request path's deepest, and
// it returns before anything waits for an upstream.
//
//go:noinline
func (s *Service) prepareStream(ctx context.Context, req *octomesh.ChatRequest) (*failoverStream, *octomesh.Served, error) {
	start := s.now()
	if err := req.Validate(); err != nil {
		s.rejected(ctx, true, start, err)
		return nil, nil, err
	}
	c := new(streamCall)
	c.init(s, octomesh.RequestIDFrom(ctx))
	served := &c.served
	prompt := req.EstimateTokens()
	mt, err := s.admit(ctx, served, int64(prompt+maxOutput(req, nil)), &c.mt)
	if err != nil {
		s.rejected(ctx, true, start, err)
		return nil, served, err
	}
	if s.router != nil {
		s.router.Admit()
	}
	p, err := s.makePlan(ctx, req, &c.plan)
	if err != nil {
		mt.release(ctx)
		s.rejected(ctx, true, start, err)
		return nil, served, err
	}
	if err := mt.reserve(ctx, maxCost(p, req, prompt)); err != nil {
		s.rejected(ctx, true, start, err)
		return nil, served, err
	}
	e := c.begin(p, start)
	e.spareAttempt = &c.first
	first := p.attempts[0].d
	served.Model, served.Provider = first.Name, first.Provider
	// Field by field: a composite literal of the whole stream is built on
	// the stack first, 650 bytes of this frame.
	f := &c.stream
	f.e, f.ctx, f.req, f.orig, f.reqTokens, f.served, f.curIdx, f.mt, f.first = e, ctx, req, req, prompt, served, -1, mt, first
	for i := range p.attempts {
		f.keepText = f.keepText || p.attempts[i].d.Capabilities.Continuation
	}
	return f, served, nil
}

// Start opens attempts until one sends content (or the plan is
// exhausted), and returns the stream, or the error ChatStream reports.
// It is called once; after an error the stream needs no Close.
func (f *failoverStream) Start() (octomesh.ChatStream, error) {
	f.started = true
	defer f.endIfPanicking()
	e, ctx := f.e, f.ctx
	p := e.plan
	i := e.pickNext(ctx, -1, nil)
	if i < 0 {
		f.mt.release(ctx)
		return nil, e.finalErr()
	}
	if p.hedgeAfter > 0 && len(p.attempts) > 1 {
		if !f.hedgedStart(i) {
			err := f.err
			if err == nil {
				err = e.finalErr()
			}
			return nil, f.failStart(err)
		}
		return f.ready(p), nil
	}
	la, err := e.open(ctx, f.req, &p.attempts[i], false)
	if err != nil {
		if ctx.Err() != nil || afterFailure(err) == stop {
			return nil, f.failStart(err)
		}
		f.curIdx = i
		if !f.recover(err) {
			return nil, f.failStart(f.err)
		}
	} else {
		f.setCurrent(la, i, false)
	}
	if !f.Next() {
		err := f.Err()
		if err == nil {
			err = octomesh.Errorf(octomesh.EUPSTREAM, "the provider ended the stream without sending anything")
		}
		f.closed = true
		if f.settled {
			return nil, err // Next already recorded it
		}
		return nil, f.failStart(err)
	}
	f.pending = true
	return f.ready(p), nil
}

// endIfPanicking, deferred by Start, ends the stream when Start panics:
// its attempt is closed and recorded, the reservation settled, and the
// request recorded as an internal error, before the panic goes on (the
// relay answers it with a 500, as the API's recovery answers a handler's).
func (f *failoverStream) endIfPanicking() {
	v := recover()
	if v == nil {
		return
	}
	if f.err == nil {
		f.err = octomesh.Errorf(octomesh.EINTERNAL, "internal error")
	}
	f.Close()
	panic(v)
}

// Abandon ends a prepared stream that will not be started (the handler
// that prepared it panicked): it is recorded as cancelled, at no cost.
// After Start it does nothing: the stream, or Start's error, has ended it.
func (f *failoverStream) Abandon() {
	if f.started {
		return
	}
	f.started = true
	f.failStart(context.Canceled)
}

// failStart ends a stream that never reached the client: its failed
// attempts are recorded (at zero cost) and the error returned.
func (f *failoverStream) failStart(err error) error {
	s, p := f.e.svc, f.e.plan
	f.served.Route = s.routes.header(p.decision.Attempts)
	if serr := f.mt.settle(f.ctx, p.decision, nil); serr != nil {
		err = serr
	}
	s.finish(f.ctx, outcome{route: "chat", stream: true, d: f.first, start: f.e.start, err: err, decision: p.decision})
	return err
}

// ready names the deployment now streaming in served and hands the stream out.
func (f *failoverStream) ready(p *plan) octomesh.ChatStream {
	served := f.served
	d := f.cur.a.d
	served.Model, served.Provider = d.Name, d.Provider
	served.Route = f.e.svc.routes.streaming(d, f.cur.rec.Hedge)
	if prior := f.e.svc.routes.header(p.decision.Attempts); prior != "" {
		served.Route = prior + ">" + served.Route
	}
	return f
}

// Embed serves an embeddings request.
func (s *Service) Embed(ctx context.Context, req *octomesh.EmbeddingRequest) (*octomesh.EmbeddingResponse, *octomesh.Served, error) {
	start := s.now()
	if err := req.Validate(); err != nil {
		return nil, nil, err
	}
	d, ok := s.cat.Deployment(req.Model)
	if !ok {
		return nil, nil, s.notFound(req.Model)
	}
	emb, isEmb := s.providers[d.Provider].(octomesh.Embedder)
	if !d.Capabilities.Embeddings || !isEmb {
		return nil, nil, octomesh.Errorf(octomesh.EINVALID, "model %q is not an embedding model", d.Name).WithParam("model")
	}
	served := &octomesh.Served{RequestID: octomesh.RequestIDFrom(ctx), Model: d.Name, Provider: d.Provider, Attempts: 1}
	prompt := req.EstimateTokens()
	mt, err := s.admit(ctx, served, int64(prompt), nil)
	if err != nil {
		return nil, served, err
	}
	price, _ := d.PriceAt(time.Now())
	if err := mt.reserve(ctx, price.Cost(octomesh.Usage{PromptTokens: prompt})); err != nil {
		return nil, served, err
	}
	up := *req
	up.Model = d.UpstreamModel
	up.EncodingFormat = "" // the upstream answers floats; the inbound layer encodes
	uctx := withTimeout(ctx, s.timeout)
	defer uctx.stop()
	at := s.now()
	resp, err := emb.Embed(&uctx.Ctx, &up)
	dec := &octomesh.Decision{Attempts: []octomesh.AttemptRecord{{Deployment: d.Name, Provider: d.Provider, Outcome: outcomeOf(err), Start: at.Sub(start), Duration: s.now().Sub(at)}}}
	if err != nil {
		err = s.upstreamErr(ctx, d, err)
		if serr := mt.settle(ctx, dec, nil); serr != nil {
			err = serr
		}
		s.finish(ctx, outcome{route: "embeddings", d: d, start: start, err: err})
		return nil, served, err
	}
	resp.Model = d.Name
	u := metered{Usage: resp.Usage}
	if u.PromptTokens <= 0 {
		// No usage report: bill the estimate, marked as such (as Chat does).
		u = metered{Usage: octomesh.Usage{PromptTokens: prompt, TotalTokens: prompt}, Estimated: true}
		resp.Usage = u.Usage
	}
	served.Cost = mt.costOf(d, resp.Usage)
	if err := mt.settle(ctx, dec, []billed{{attempt: 0, d: d, usage: u}}); err != nil {
		s.finish(ctx, outcome{route: "embeddings", d: d, start: start, err: err})
		return nil, served, err
	}
	s.finish(ctx, outcome{route: "embeddings", d: d, start: start, usage: u, cost: served.Cost})
	return resp, served, nil
}

// upstreamRequest returns a shallow copy of req addressed to d's upstream
// model. Slices are shared read-only: adapters must not modify requests.
func upstreamRequest(req *octomesh.ChatRequest, d *octomesh.Deployment) *octomesh.ChatRequest {
	up := *req
	up.Model = d.UpstreamModel
	up.Octomesh = nil // OctoMesh's own options never reach a provider
	return &up
}

// upstreamErr turns the expiry of the upstream deadline into a provider
// timeout (ETIMEOUT, 504). A caller that went away keeps context.Canceled.
func (s *Service) upstreamErr(ctx context.Context, d *octomesh.Deployment, err error) error {
	if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		e := octomesh.Errorf(octomesh.ETIMEOUT, "the provider did not finish within the upstream timeout of %s", s.timeout)
		e.Provider = d.Provider
		return e.WithCause(err)
	}
	return err
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
