package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/router"
)

// simplePlan is the built-in planner: the named deployment (or the cheapest
// eligible one for "auto"), retried within the attempt cap. The router
// replaces it with multi-candidate plans.
//
// It makes the plan in *dst (nil: a new plan), appending to dst's attempts.
func (s *Service) simplePlan(ctx context.Context, req *octomesh.ChatRequest, dst *plan) (*plan, error) {
	d, p, err := s.pick(req)
	if err != nil {
		return nil, err
	}
	if req.Stream && !d.Capabilities.Streaming {
		return nil, octomesh.Errorf(octomesh.EINVALID, "model %q does not support streaming", d.Name).WithParam("stream")
	}
	requested := req.Model
	if d.Name == requested {
		requested = d.Name // the catalog's string: the decision outlives the request's (see router.requested)
	}
	dec := &octomesh.Decision{RequestID: octomesh.RequestIDFrom(ctx), Time: s.now(), Requested: requested,
		Objective: octomesh.ObjectiveCheapest, PolicyVersion: "simple", Plan: []string{d.Name},
		Candidates: []octomesh.CandidateScore{{Deployment: d.Name}}}
	if pr := octomesh.PrincipalFrom(ctx); pr != nil {
		dec.OrgID = pr.OrgID
	}
	pl := dst
	if pl == nil {
		pl = new(plan)
	}
	pl.attempts = append(pl.attempts, planned{d: d, p: p, timeouts: timeouts{total: s.timeout}})
	pl.maxAttempts, pl.decision = 3, dec
	return pl, nil
}

// localHealth is the health state of the simple planner: cool-downs from
// Retry-After only; no circuits and an unlimited retry budget.
type localHealth struct {
	mu      sync.Mutex
	cooling map[string]time.Time
}

func newLocalHealth() *localHealth { return &localHealth{cooling: map[string]time.Time{}} }

func (h *localHealth) begin(*planned, *router.Inflight) (begun, error) {
	return begun{}, nil
}
func (h *localHealth) coolDown(d string, until time.Time) {
	h.mu.Lock()
	if until.After(h.cooling[d]) {
		h.cooling[d] = until
	}
	h.mu.Unlock()
}
func (h *localHealth) coolingUntil(d string) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cooling[d]
}
func (h *localHealth) allowRetry() bool { return true }
func (h *localHealth) allowHedge() bool { return false }

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
