package gateway

import (
	"context"
	"sync"

	"github.com/octomesh/octomesh"
)

// decisionStore keeps the most recent routing decisions in memory, by request
// id, evicting the oldest past its capacity. Decisions hold metadata only.
// It is safe for concurrent use.
type decisionStore struct {
	mu    sync.Mutex
	cap   int
	byID  map[string]*octomesh.Decision
	order []string // ring of ids, oldest at head
	head  int
}

func newDecisionStore(capacity int) *decisionStore {
	if capacity <= 0 {
		capacity = 20_000
	}
	return &decisionStore{cap: capacity, byID: make(map[string]*octomesh.Decision, 1024)}
}

func (d *decisionStore) put(dec *octomesh.Decision) {
	if dec.RequestID == "" {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.byID[dec.RequestID]; ok {
		d.byID[dec.RequestID] = dec
		return
	}
	if len(d.order) < d.cap {
		d.order = append(d.order, dec.RequestID)
	} else {
		delete(d.byID, d.order[d.head])
		d.order[d.head] = dec.RequestID
		d.head = (d.head + 1) % d.cap
	}
	d.byID[dec.RequestID] = dec
}

// get returns the decision for id if it belongs to org ("" matches only
// decisions without an org).
func (d *decisionStore) get(id, org string) (*octomesh.Decision, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dec, ok := d.byID[id]
	if !ok || dec.OrgID != org {
		return nil, false
	}
	cp := *dec
	return &cp, true
}

// Decision returns the routing decision of a request made by the caller's
// org, or ENOTFOUND (also for other orgs' requests: their existence is not
// revealed).
func (s *Service) Decision(ctx context.Context, requestID string) (*octomesh.Decision, error) {
	org := ""
	if p := octomesh.PrincipalFrom(ctx); p != nil {
		org = p.OrgID
	}
	if dec, ok := s.decisions.get(requestID, org); ok {
		return dec, nil
	}
	return nil, octomesh.Errorf(octomesh.ENOTFOUND, "no routing decision for request %q", clip(requestID, 128))
}

// Explain returns the decision the router would make for req, without
// sending it anywhere.
func (s *Service) Explain(ctx context.Context, req *octomesh.ChatRequest) (*octomesh.Decision, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	p, err := s.planner(context.WithValue(ctx, explainKey{}, true), req)
	if err != nil {
		return nil, err
	}
	return p.decision, nil
}
