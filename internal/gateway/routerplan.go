package gateway

import (
	"context"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/router"
)

// routerPlan asks the router for a plan: the request's own route options
// (narrowed by the key's and the config's), the key's allow-list, the
// candidates in order with their timeouts, and the hedging rule. It makes
// it in *dst (nil: a new plan), appending to dst's attempts.
func (s *Service) routerPlan(ctx context.Context, req *octomesh.ChatRequest, dst *plan) (*plan, error) {
	var reqOpts, keyOpts octomesh.RouteOptions
	if req.Octomesh != nil {
		reqOpts = *req.Octomesh
	}
	var scope router.KeyScope
	org := ""
	if p := octomesh.PrincipalFrom(ctx); p != nil {
		org = p.OrgID
		// The key's and its organisation's constraints, already combined;
		// the router resolves names, aliases and groups in the allow-list.
		keyOpts = p.RouteOptions
		scope.Allowed = p.AllowedModels
	}
	opts, err := router.Merge(s.routeDefaults, keyOpts, reqOpts)
	if err != nil {
		return nil, err
	}
	if req.Model == router.AutoModel && reqOpts.Objective == "" && keyOpts.Objective == "" {
		// "auto" means: the cheapest model predicted to answer well (at or
		// above the quality floor), unless the caller chose an objective.
		opts.Objective = octomesh.ObjectiveQuality
	}
	var rp *router.Plan
	if dst != nil && dst.space != nil {
		rp, err = s.router.DecideIn(dst.space, req, opts, scope)
	} else {
		rp, err = s.router.Decide(req, opts, scope)
	}
	if rp != nil && rp.Decision != nil {
		rp.Decision.RequestID = octomesh.RequestIDFrom(ctx)
		rp.Decision.OrgID = org
		rp.Decision.Time = s.now()
	}
	if err != nil {
		if rp != nil && rp.Decision != nil {
			rp.Decision.Outcome = outcomeOf(err)
			s.decisions.put(rp.Decision)
		}
		return nil, err
	}
	s.learn(ctx, req, &opts, rp)
	p := dst
	if p == nil {
		p = &plan{attempts: make([]planned, 0, len(rp.Attempts))}
	}
	p.maxAttempts, p.decision = rp.MaxAttempts, rp.Decision
	if rp.Hedge.Enabled {
		p.hedgeAfter = rp.Hedge.After
	}
	for _, a := range rp.Attempts {
		prov, ok := s.providers[a.Deployment.Provider]
		if !ok {
			return nil, octomesh.Errorf(octomesh.EINTERNAL, "deployment %q has no provider", a.Deployment.Name)
		}
		total := a.Timeouts.Total
		if total <= 0 || total > s.timeout {
			total = s.timeout
		}
		p.attempts = append(p.attempts, planned{d: a.Deployment, p: prov, ra: a,
			timeouts: timeouts{firstByte: a.Timeouts.FirstByte, idle: a.Timeouts.Idle, total: total}})
	}
	if len(p.attempts) == 0 {
		return nil, octomesh.Errorf(octomesh.EUNAVAILABLE, "no deployment can serve this request now")
	}
	if p.maxAttempts <= 0 {
		p.maxAttempts = 3
	}
	return p, nil
}

// routerHealth adapts the router's live state to the executor.
type routerHealth struct{ r *router.Router }

func (h routerHealth) begin(a *planned, slot *router.Inflight) (begun, error) {
	if err := h.r.AcquireInto(slot, a.ra); err != nil {
		return begun{}, err
	}
	return begun{slot}, nil
}
func (h routerHealth) coolDown(d string, until time.Time) { h.r.CoolDown(d, until) }
func (h routerHealth) coolingUntil(d string) time.Time    { return h.r.CoolingUntil(d) }
func (h routerHealth) allowRetry() bool                   { return h.r.AllowRetry() }
func (h routerHealth) allowHedge() bool                   { return h.r.AllowHedge() }
