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
}

// Service is the gateway pipeline. It implements octomesh.ChatService.
type Service struct {
	cat       *Catalog
	providers map[string]octomesh.Provider
	metrics   *telemetry.Metrics
	log       *slog.Logger
	now       octomesh.Clock
	timeout   time.Duration
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
	s := &Service{cat: o.Catalog, providers: o.Providers, metrics: o.Metrics, log: o.Logger, now: o.Now, timeout: o.UpstreamTimeout}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.timeout <= 0 {
		s.timeout = 10 * time.Minute
	}
	return s, nil
}

// Models lists every deployment.
func (s *Service) Models(context.Context) []*octomesh.Deployment { return s.cat.Deployments() }

// Model returns a deployment by name or alias, or ENOTFOUND.
func (s *Service) Model(_ context.Context, name string) (*octomesh.Deployment, error) {
	if d, ok := s.cat.Deployment(name); ok {
		return d, nil
	}
	return nil, s.notFound(name)
}

func (s *Service) notFound(name string) error {
	msg := fmt.Sprintf("The model %q does not exist or you do not have access to it.", clip(name, 128))
	if sug := s.cat.suggest(name); len(sug) > 0 {
		msg += " Did you mean " + strings.Join(sug, ", ") + "?"
	}
	return octomesh.Errorf(octomesh.ENOTFOUND, "%s", msg).WithParam("model")
}

// Chat serves a non-streaming chat request.
func (s *Service) Chat(ctx context.Context, req *octomesh.ChatRequest) (*octomesh.ChatResponse, *octomesh.Served, error) {
	start := s.now()
	if err := req.Validate(); err != nil {
		return nil, nil, err
	}
	d, p, err := s.pick(req)
	if err != nil {
		return nil, nil, err
	}
	served := &octomesh.Served{RequestID: octomesh.RequestIDFrom(ctx), Model: d.Name, Provider: d.Provider, Attempts: 1}
	up := upstreamRequest(req, d)
	uctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := p.Chat(uctx, up)
	if err != nil {
		err = s.upstreamErr(ctx, d, err)
		s.finish(ctx, outcome{route: "chat", d: d, start: start, err: err})
		return nil, served, err
	}
	resp.Model = d.Name
	u := usageOrEstimate(resp.Usage, req, responseText(resp))
	resp.Usage = &u.Usage
	served.Cost = d.Price.Cost(u.Usage)
	s.finish(ctx, outcome{route: "chat", d: d, start: start, usage: u, cost: served.Cost})
	return resp, served, nil
}

// ChatStream opens a streaming chat request. The first chunk is fetched
// before returning, so a provider that fails before sending anything yields
// an error here (and a proper HTTP status) rather than a broken stream.
func (s *Service) ChatStream(ctx context.Context, req *octomesh.ChatRequest) (octomesh.ChatStream, *octomesh.Served, error) {
	start := s.now()
	if err := req.Validate(); err != nil {
		return nil, nil, err
	}
	d, p, err := s.pick(req)
	if err != nil {
		return nil, nil, err
	}
	if !d.Capabilities.Streaming {
		return nil, nil, octomesh.Errorf(octomesh.EINVALID, "model %q does not support streaming", d.Name).WithParam("stream")
	}
	served := &octomesh.Served{RequestID: octomesh.RequestIDFrom(ctx), Model: d.Name, Provider: d.Provider, Attempts: 1}
	up := upstreamRequest(req, d)
	sctx, cancel := context.WithTimeout(ctx, s.timeout)
	inner, err := p.ChatStream(sctx, up)
	if err != nil {
		cancel()
		err = s.upstreamErr(ctx, d, err)
		s.finish(ctx, outcome{route: "chat", stream: true, d: d, start: start, err: err})
		return nil, served, err
	}
	st := &stream{svc: s, ctx: ctx, cancel: cancel, inner: inner, req: req, d: d, served: served, start: start}
	if !st.prefetch() {
		err := st.Err()
		if err == nil {
			err = octomesh.Errorf(octomesh.EUPSTREAM, "the provider ended the stream without sending anything")
		}
		st.Close()
		return nil, served, err
	}
	return st, served, nil
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
	up := *req
	up.Model = d.UpstreamModel
	up.EncodingFormat = "" // the upstream answers floats; the inbound layer encodes
	uctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := emb.Embed(uctx, &up)
	if err != nil {
		err = s.upstreamErr(ctx, d, err)
		s.finish(ctx, outcome{route: "embeddings", d: d, start: start, err: err})
		return nil, served, err
	}
	resp.Model = d.Name
	u := metered{Usage: resp.Usage}
	served.Cost = d.Price.Cost(resp.Usage)
	s.finish(ctx, outcome{route: "embeddings", d: d, start: start, usage: u, cost: served.Cost})
	return resp, served, nil
}

// pick resolves the requested model and checks the deployment can serve the
// request, failing with a 4xx that names the unmet need.
func (s *Service) pick(req *octomesh.ChatRequest) (*octomesh.Deployment, octomesh.Provider, error) {
	if req.Model == AutoModel {
		d, err := s.auto(req)
		if err != nil {
			return nil, nil, err
		}
		return d, s.providers[d.Provider], nil
	}
	d, ok := s.cat.Deployment(req.Model)
	if !ok {
		return nil, nil, s.notFound(req.Model)
	}
	if err := eligible(d, req); err != nil {
		return nil, nil, err
	}
	return d, s.providers[d.Provider], nil
}

// auto picks the cheapest deployment able to serve the request. It is the
// interim policy until the learned router (issue: learned quality routing)
// replaces it; it already respects every hard constraint.
func (s *Service) auto(req *octomesh.ChatRequest) (*octomesh.Deployment, error) {
	var best *octomesh.Deployment
	var bestCost octomesh.Money
	var firstErr error
	in := req.EstimateTokens()
	out := req.MaxOutputTokens()
	if out == 0 {
		out = 256
	}
	for _, d := range s.cat.Deployments() {
		if d.Capabilities.Embeddings {
			continue
		}
		if err := eligible(d, req); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if req.Stream && !d.Capabilities.Streaming {
			continue
		}
		c := d.Price.Cost(octomesh.Usage{PromptTokens: in, CompletionTokens: out})
		if best == nil || c < bestCost {
			best, bestCost = d, c
		}
	}
	if best == nil {
		if firstErr != nil {
			return nil, octomesh.Errorf(octomesh.EINVALID, "no model can serve this request: %s", octomesh.ErrorMessage(firstErr)).WithParam("model")
		}
		return nil, octomesh.Errorf(octomesh.EUNAVAILABLE, "no chat models are configured")
	}
	return best, nil
}

// eligible checks a deployment's capabilities and context window against
// what the request needs.
func eligible(d *octomesh.Deployment, req *octomesh.ChatRequest) error {
	c := d.Capabilities
	switch {
	case c.Embeddings && !c.Tools && !c.Streaming && d.ContextWindow == 0:
		return octomesh.Errorf(octomesh.EINVALID, "model %q is an embedding model; use /v1/embeddings", d.Name).WithParam("model")
	case len(req.Tools) > 0 && !c.Tools:
		return octomesh.Errorf(octomesh.EINVALID, "model %q does not support tools", d.Name).WithParam("tools")
	case req.ResponseFormat != nil && req.ResponseFormat.Type == octomesh.FormatJSONSchema && !c.JSONSchema:
		return octomesh.Errorf(octomesh.EINVALID, "model %q does not support json_schema response formats", d.Name).WithParam("response_format")
	case req.HasImages() && !c.Vision:
		return octomesh.Errorf(octomesh.EINVALID, "model %q does not accept images", d.Name).WithParam("messages")
	}
	if d.MaxOutputTokens > 0 && req.MaxOutputTokens() > d.MaxOutputTokens {
		return octomesh.Errorf(octomesh.EINVALID, "max tokens %d exceeds model %q's output limit of %d", req.MaxOutputTokens(), d.Name, d.MaxOutputTokens).WithParam("max_tokens")
	}
	if d.ContextWindow > 0 {
		if need := req.EstimateTokens() + req.MaxOutputTokens(); need > d.ContextWindow {
			return octomesh.Errorf(octomesh.ECONTEXTLENGTH, "this model's maximum context length is %d tokens; the request needs about %d (prompt estimate plus max tokens)", d.ContextWindow, need).WithParam("messages")
		}
	}
	return nil
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
