package gateway

import (
	"context"
	"sync"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/router"
	"github.com/octomesh/octomesh/internal/router/online"
)

// This file is the gateway's side of online learning: it stamps each routed
// request's decision with its prompt cluster, lets the learner explore on
// auto requests, and applies feedback to the learner.

var _ octomesh.FeedbackService = (*Service)(nil)

// learning is the online learner and the feedback applied per request (so
// that feedback given again replaces the earlier one). Nil when online
// learning is off.
type learning struct {
	l *online.Learner

	mu      sync.Mutex // serialises feedback: retracting and observing go together
	applied map[feedbackKey]online.Observation
	order   []feedbackKey // ring of rated requests, oldest at head
	head    int
	cap     int
}

// newLearning returns nil for a nil learner. It remembers the feedback of
// the last capacity requests (the decisions' capacity: feedback on older
// requests finds no decision anyway).
func newLearning(l *online.Learner, capacity int) *learning {
	if l == nil {
		return nil
	}
	if capacity <= 0 {
		capacity = 20_000
	}
	return &learning{l: l, applied: map[feedbackKey]online.Observation{}, cap: capacity}
}

// feedbackKey names a rated request: request ids are the clients' own
// (X-Request-Id), so two organisations may use the same one.
type feedbackKey struct{ org, id string }

// remember records o as the request's feedback and returns the earlier one.
// The caller holds mu.
func (g *learning) remember(id feedbackKey, o online.Observation) (prev online.Observation, had bool) {
	prev, had = g.applied[id]
	if !had {
		if len(g.order) < g.cap {
			g.order = append(g.order, id)
		} else {
			delete(g.applied, g.order[g.head])
			g.order[g.head] = id
			g.head = (g.head + 1) % g.cap
		}
	}
	g.applied[id] = o
	return prev, had
}

// explainKey marks Explain's context: a dry run does not explore, so it
// neither spends the exploration budget nor shows a random detour.
type explainKey struct{}

// learn stamps the decision with the prompt's cluster and, for an auto
// request under the quality objective (auto's default), asks the learner
// whether to explore: if so, it moves the chosen candidate, which the
// router found eligible, to the front of the plan and marks the decision
// Explored. The router's choice follows it, so a failure falls back there.
func (s *Service) learn(ctx context.Context, req *octomesh.ChatRequest, opts *octomesh.RouteOptions, rp *router.Plan) {
	if s.learning == nil || rp == nil || rp.Decision == nil {
		return
	}
	l := s.learning.l
	cluster := l.Cluster(userPrompt(req))
	rp.Decision.PromptCluster = cluster
	if req.Model != router.AutoModel || opts.Objective != octomesh.ObjectiveQuality || len(rp.Attempts) < 2 ||
		ctx.Value(explainKey{}) != nil {
		return
	}
	dec := rp.Decision
	if len(dec.Candidates) != len(rp.Attempts) || len(dec.Plan) != len(rp.Attempts) {
		return // not the router's usual shape: leave it alone
	}
	// Candidates are the plan's ordinary attempts: not explicit fallbacks,
	// not a half-open circuit's probe, not kept by the panic floor.
	var buf [16]online.Candidate
	var idx [16]int
	cands, at := buf[:0], idx[:0]
	for k, a := range rp.Attempts {
		if a.Fallback || a.Probe || a.Panic {
			if k == 0 {
				return
			}
			continue
		}
		if len(cands) == len(buf) {
			break
		}
		cands = append(cands, online.Candidate{Model: a.Deployment.Name, Cost: dec.Candidates[k].ExpectedCost})
		at = append(at, k)
	}
	var costCap octomesh.Money
	hasCap := opts.MaxCostUSD != ""
	if hasCap {
		m, err := octomesh.ParseMoney(opts.MaxCostUSD)
		if err != nil {
			return // Decide validated it; never explore on a cap we cannot read
		}
		costCap = m
	}
	i := l.Explore(cluster, cands, costCap, hasCap)
	if i <= 0 {
		return
	}
	toFront(rp.Attempts, at[i])
	toFront(dec.Candidates, at[i])
	toFront(dec.Plan, at[i])
	dec.Explored = true
}

// toFront moves xs[i] to the front, keeping the others in order.
func toFront[T any](xs []T, i int) {
	x := xs[i]
	copy(xs[1:i+1], xs[:i])
	xs[0] = x
}

// userPrompt is the text the learner clusters: the last user message's
// (as the router's quality predictor sees it).
func userPrompt(req *octomesh.ChatRequest) string {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == octomesh.RoleUser {
			return req.Messages[i].Content.Text()
		}
	}
	return ""
}

// Feedback credits the deployment that answered one of the caller's org's
// requests with fb.Score in the request's prompt cluster, and counts
// fb.Label. Feedback on the same request again replaces the earlier one
// (last write wins). Errors are *octomesh.Error: EINVALID for invalid
// feedback, a request that got no answer or one routed without a prompt
// cluster; ENOTFOUND for an unknown request id, another org's request
// (exactly as for an unknown id) or one whose decision has been evicted,
// and when online learning is off. It is safe for concurrent use.
func (s *Service) Feedback(ctx context.Context, fb *octomesh.Feedback) (*octomesh.FeedbackReceipt, error) {
	if err := fb.Validate(); err != nil {
		return nil, err
	}
	if s.learning == nil {
		return nil, octomesh.Errorf(octomesh.ENOTFOUND, "online learning is not enabled on this server")
	}
	dec, err := s.Decision(ctx, fb.RequestID)
	if err != nil {
		return nil, err
	}
	served := ""
	for _, a := range dec.Attempts {
		if a.Outcome == "ok" {
			served = a.Deployment
		}
	}
	if served == "" || dec.Outcome != "ok" {
		return nil, octomesh.Errorf(octomesh.EINVALID, "request %q got no answer to rate", clip(fb.RequestID, 128)).WithParam("request_id")
	}
	if dec.PromptCluster == 0 {
		return nil, octomesh.Errorf(octomesh.EINVALID, "request %q was not routed with online learning", clip(fb.RequestID, 128)).WithParam("request_id")
	}
	g := s.learning
	g.mu.Lock()
	defer g.mu.Unlock()
	o, err := g.l.Observe(dec.PromptCluster, served, fb.Score, fb.Label)
	if err != nil {
		return nil, err
	}
	prev, replaced := g.remember(feedbackKey{dec.OrgID, fb.RequestID}, o)
	if replaced {
		g.l.Retract(prev)
	}
	return &octomesh.FeedbackReceipt{Object: "feedback", RequestID: fb.RequestID, Deployment: served,
		PromptCluster: dec.PromptCluster, Score: fb.Score, Label: fb.Label, Replaced: replaced}, nil
}
