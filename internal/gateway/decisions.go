package gateway

import (
	"context"
	"hash/maphash"
	"sync"

	"github.com/octomesh/octomesh"
)

// decisionStore keeps the most recent routing decisions in memory, by org
// and request id, evicting the oldest past its capacity. Decisions hold
// metadata only. It is safe for concurrent use.
//
// The key is the pair because request ids come from clients (X-Request-Id):
// two orgs may send the same one, and neither may replace, or hide, the
// other's decision.
//
// It holds each decision as a compact record (see decisioncodec.go) in an
// arena of a few large buffers (decisionarena.go), found through an index
// of slot numbers by a hash of the key (decisionindex.go). None of
// them holds pointers: the garbage collector marks a few dozen objects
// instead of several per decision, and a stored decision no longer keeps
// alive the router's plan it was allocated with.
type decisionStore struct {
	mu    sync.Mutex
	limit int
	hash  func(org, id string) uint32
	slots []slot   // ring of records, oldest at head once full
	head  int      // the oldest slot once the ring is full
	table []uint32 // the key index: slot+1 by hash, 0 for none
	arena arena
	syms  symbols
	buf   []byte // scratch for the record being encoded
	// compactions counts compactIfWasteful's copies, for tests.
	compactions int
}

// slot is one stored record.
type slot struct {
	hash uint32 // of its key: org and request id
	span
}

// maxScratch bounds the encoding buffer kept between puts, so one huge
// decision does not pin its size for the store's life.
const maxScratch = 16 << 10

func newDecisionStore(capacity int) *decisionStore {
	if capacity <= 0 {
		capacity = 20_000
	}
	// Two seeds, so that swapping org and id changes the hash.
	orgSeed, idSeed := maphash.MakeSeed(), maphash.MakeSeed()
	return &decisionStore{
		limit: capacity,
		hash: func(org, id string) uint32 {
			return uint32(maphash.String(orgSeed, org) ^ maphash.String(idSeed, id))
		},
	}
}

// put stores dec, replacing any decision with the same org and request id
// (which keeps its place in the eviction order). It copies what it keeps:
// later changes to dec are not seen. A decision without a request id is
// dropped.
func (d *decisionStore) put(dec *octomesh.Decision) {
	if dec.RequestID == "" {
		return
	}
	h := d.hash(dec.OrgID, dec.RequestID)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.buf = encodeDecision(d.buf[:0], dec, &d.syms)
	defer func() {
		if cap(d.buf) > maxScratch {
			d.buf = nil
		}
	}()
	if p, ok := d.lookup(dec.OrgID, dec.RequestID, h); ok {
		i := d.table[p] - 1
		d.arena.release(d.slots[i].span)
		d.slots[i].span = d.arena.add(d.buf)
		d.compactIfWasteful()
		return
	}
	var i int
	if len(d.slots) < d.limit {
		i = len(d.slots)
		d.grow()
		d.slots = append(d.slots, slot{})
	} else {
		i = d.head
		d.unindex(i)
		d.arena.release(d.slots[i].span)
		d.head = (d.head + 1) % d.limit
	}
	d.slots[i] = slot{hash: h, span: d.arena.add(d.buf)}
	d.index(i)
	d.compactIfWasteful()
}

// grow makes room for one more slot, growing the ring by doubling up to
// the limit (append would overshoot it by up to a quarter).
func (d *decisionStore) grow() {
	if len(d.slots) < cap(d.slots) {
		return
	}
	grown := make([]slot, len(d.slots), min(d.limit, max(64, 2*cap(d.slots))))
	copy(grown, d.slots)
	d.slots = grown
}

// keyIs reports whether slot i's record is of org's request id.
func (d *decisionStore) keyIs(i int, org, id string) bool {
	return recordIs(d.arena.bytes(d.slots[i].span), d.syms.names, org, id)
}

// compactIfWasteful copies the live records, oldest first, into a new
// arena when the old one holds too much dead space. The copying costs at
// most about what the puts that made the dead space cost.
func (d *decisionStore) compactIfWasteful() {
	if !d.arena.wasteful() {
		return
	}
	d.compactions++
	old := d.arena
	d.arena = arena{chunkSize: old.chunkSize}
	for k := range d.slots {
		s := &d.slots[(d.head+k)%len(d.slots)]
		s.span = d.arena.add(old.bytes(s.span))
	}
}

// get returns org's decision for request id ("" finds only decisions
// without an org). The decision is the caller's to change.
func (d *decisionStore) get(id, org string) (*octomesh.Decision, bool) {
	h := d.hash(org, id)
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.lookup(org, id, h)
	if !ok {
		return nil, false
	}
	i := d.table[p] - 1
	// A record that does not decode would be a bug here; the request
	// then simply has no decision to show. The org check repeats the
	// key's, as a guard: another org's decision is never returned.
	dec, err := decodeDecision(d.arena.bytes(d.slots[i].span), d.syms.names)
	if err != nil || dec.OrgID != org {
		return nil, false
	}
	return dec, true
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
	p, err := s.makePlan(context.WithValue(ctx, explainKey{}, true), req, nil)
	if err != nil {
		return nil, err
	}
	return p.decision, nil
}
