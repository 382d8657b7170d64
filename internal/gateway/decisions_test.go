package gateway

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/octomesh/octomesh"
)

// dec is a small decision with request id id for org org.
func dec(id, org string) *octomesh.Decision {
	return &octomesh.Decision{RequestID: id, OrgID: org, Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Requested: "auto",
		Plan: []string{"p/cheap"}, Attempts: []octomesh.AttemptRecord{{Deployment: "p/cheap", Provider: "p", Outcome: "ok"}}, Outcome: "ok"}
}

// wantStored fails unless the store holds exactly the decisions in want
// (by id, each for its org) and none of the ids in gone, for any org.
func wantStored(t *testing.T, s *decisionStore, want []*octomesh.Decision, gone ...string) {
	t.Helper()
	for _, w := range want {
		got, ok := s.get(w.RequestID, w.OrgID)
		if !ok {
			t.Errorf("get(%q, %q) found nothing", w.RequestID, w.OrgID)
			continue
		}
		if w := normalised(w); !reflect.DeepEqual(got, w) {
			t.Errorf("get(%q) (-want +got):\n%s", w.RequestID, cmp.Diff(w, got))
		}
	}
	for _, id := range gone {
		for i := range s.slots { // every slot holds a live record
			if got, _ := decodeDecision(s.arena.bytes(s.slots[i].span), s.syms.names); got != nil && got.RequestID == id {
				t.Errorf("the store holds %+v, want %q evicted", got, id)
			}
		}
	}
}

func TestDecisionStoreEvictsTheOldest(t *testing.T) {
	s := newDecisionStore(3)
	var all []*octomesh.Decision
	for i := range 5 {
		d := dec(fmt.Sprint("r", i), "")
		all = append(all, d)
		s.put(d)
	}
	wantStored(t, s, all[2:], "r0", "r1")
}

// TestDecisionStoreReplaces: a put for a stored id replaces its decision,
// which keeps its place in the eviction order.
func TestDecisionStoreReplaces(t *testing.T) {
	s := newDecisionStore(3)
	s.put(dec("a", "o"))
	s.put(dec("b", "o"))
	s.put(dec("c", "o"))
	a2 := dec("a", "o")
	a2.Outcome = "upstream_error"
	a2.Plan = append(a2.Plan, "p/dear")
	s.put(a2)
	wantStored(t, s, []*octomesh.Decision{a2, dec("b", "o"), dec("c", "o")})
	s.put(dec("d", "o"))
	wantStored(t, s, []*octomesh.Decision{dec("b", "o"), dec("c", "o"), dec("d", "o")}, "a")
}

func TestDecisionStoreScopesByOrg(t *testing.T) {
	s := newDecisionStore(10)
	s.put(dec("mine", "org_a"))
	s.put(dec("shared-nothing", ""))
	tests := []struct {
		id, org string
		found   bool
	}{
		{"mine", "org_a", true},
		{"mine", "org_b", false},
		{"mine", "", false},
		{"shared-nothing", "", true},
		{"shared-nothing", "org_a", false},
		{"unknown", "org_a", false},
	}
	for _, tt := range tests {
		if _, ok := s.get(tt.id, tt.org); ok != tt.found {
			t.Errorf("get(%q, %q) found %v, want %v", tt.id, tt.org, ok, tt.found)
		}
	}
}

// TestDecisionStoreKeysByOrgAndID: request ids come from clients
// (X-Request-Id), so two orgs may use the same one; each org's decision is
// kept apart, neither replaces the other, and each org reads only its own.
func TestDecisionStoreKeysByOrgAndID(t *testing.T) {
	s := newDecisionStore(10)
	a, b := dec("same", "org_a"), dec("same", "org_b")
	b.Outcome, b.Plan = "upstream_error", []string{"p/dear"}
	s.put(a)
	s.put(b)
	wantStored(t, s, []*octomesh.Decision{a, b})
	if got, ok := s.get("same", "org_c"); ok {
		t.Errorf("get(%q, org_c) = %+v, want nothing", "same", got)
	}
	if got, ok := s.get("same", ""); ok {
		t.Errorf("get(%q, \"\") = %+v, want nothing", "same", got)
	}
	// A replacement replaces the org's own decision only.
	a2 := dec("same", "org_a")
	a2.Outcome = "cancelled"
	s.put(a2)
	wantStored(t, s, []*octomesh.Decision{a2, b})
	if n := len(s.slots); n != 2 {
		t.Errorf("the store has %d slots, want 2", n)
	}
}

func TestDecisionStoreDropsDecisionsWithoutID(t *testing.T) {
	s := newDecisionStore(10)
	s.put(dec("", "o"))
	if _, ok := s.get("", "o"); ok || len(s.slots) != 0 {
		t.Errorf("a decision without an id was stored (%d slots)", len(s.slots))
	}
}

// TestDecisionStoreCopies: neither later changes to a put decision nor
// changes to a got one reach the store.
func TestDecisionStoreCopies(t *testing.T) {
	s := newDecisionStore(10)
	d := dec("r", "o")
	s.put(d)
	want := normalised(dec("r", "o"))
	d.Outcome, d.Plan[0] = "changed", "changed"
	got, _ := s.get("r", "o")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("stored decision followed the caller's changes (-want +got):\n%s", cmp.Diff(want, got))
	}
	got.Outcome, got.Attempts[0].Deployment = "changed", "changed"
	if again, _ := s.get("r", "o"); !reflect.DeepEqual(again, want) {
		t.Errorf("stored decision followed a reader's changes (-want +got):\n%s", cmp.Diff(want, again))
	}
}

// TestDecisionStoreSurvivesHashCollisions: ids whose hashes are equal, or
// share a home position, are told apart, also across evictions that shift
// entries in the index.
func TestDecisionStoreSurvivesHashCollisions(t *testing.T) {
	for name, hash := range map[string]func(string, string) uint32{
		"all equal":   func(string, string) uint32 { return 7 },
		"by length":   func(_, id string) uint32 { return uint32(len(id)) },
		"wrap around": func(_, id string) uint32 { return ^uint32(0) - uint32(id[len(id)-1]%3) },
	} {
		t.Run(name, func(t *testing.T) {
			s := newDecisionStore(20)
			s.hash = hash
			var all []*octomesh.Decision
			for i := range 100 {
				d := dec(fmt.Sprint("r", i), fmt.Sprint("o", i%3))
				all = append(all, d)
				s.put(d)
				if i%7 == 0 && i >= 10 { // replace one of the stored
					r := dec(fmt.Sprint("r", i-5), fmt.Sprint("o", (i-5)%3))
					r.Outcome = "replaced"
					all[i-5] = r
					s.put(r)
				}
				lo := max(0, i-19)
				var gone []string
				for j := range lo {
					gone = append(gone, fmt.Sprint("r", j))
				}
				wantStored(t, s, all[lo:], gone...)
				if t.Failed() {
					t.Fatalf("after put %d", i)
				}
			}
		})
	}
}

// TestDecisionStoreCompactsDeadSpace: replacing records over and over (a
// client reusing one request id) while new ids arrive leaves each arena
// chunk with one live record; the store compacts rather than keep them.
func TestDecisionStoreCompactsDeadSpace(t *testing.T) {
	s := newDecisionStore(51) // the 50 new ids and "hot"
	s.arena.chunkSize = 1024
	var want []*octomesh.Decision
	for round := range 50 {
		d := dec(fmt.Sprint("new-", round), "o")
		want = append(want, d)
		s.put(d)
		for k := range 12 {
			hot := dec("hot", "o")
			hot.PromptCluster = round*100 + k
			s.put(hot)
			if a := &s.arena; a.held > 2*a.live+4*a.chunkSize {
				t.Fatalf("round %d: the arena holds %d bytes for %d live", round, a.held, a.live)
			}
		}
	}
	if s.compactions == 0 {
		t.Error("the store never compacted")
	}
	last := dec("hot", "o")
	last.PromptCluster = 49*100 + 11
	wantStored(t, s, append(want, last))
}

// TestDecisionStoreFreesChunksInOrder: with eviction in order and no
// replacements, chunks empty and are released (and reused) without ever
// compacting.
func TestDecisionStoreFreesChunksInOrder(t *testing.T) {
	s := newDecisionStore(100)
	s.arena.chunkSize = 1024
	for i := range 5000 {
		s.put(dec(fmt.Sprint("r", i), "o"))
		if a := &s.arena; i > 100 && a.held > a.live+2*a.chunkSize {
			t.Fatalf("put %d: the arena holds %d bytes for %d live", i, a.held, a.live)
		}
	}
	if s.compactions != 0 {
		t.Errorf("the store compacted %d times", s.compactions)
	}
	if n := len(s.arena.chunks); n > 12 {
		t.Errorf("the arena has %d chunk numbers; released ones are not reused", n)
	}
}

// TestDecisionStoreBoundsScratch: one huge decision does not leave its
// encoding buffer behind.
func TestDecisionStoreBoundsScratch(t *testing.T) {
	s := newDecisionStore(10)
	d := dec("huge", "o")
	d.Excluded = []octomesh.Exclusion{{Reason: strings.Repeat("9 reasons ", 10_000)}}
	s.put(d)
	if cap(s.buf) > maxScratch {
		t.Errorf("scratch buffer keeps %d bytes", cap(s.buf))
	}
	wantStored(t, s, []*octomesh.Decision{d})
}

// TestDecisionStoreIsSafeForConcurrentUse: run with -race.
func TestDecisionStoreIsSafeForConcurrentUse(t *testing.T) {
	s := newDecisionStore(64)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				id := fmt.Sprint("r", (g*1000+i)%150)
				s.put(dec(id, "o"))
				if got, ok := s.get(id, "o"); ok && got.RequestID != id {
					t.Errorf("get(%q) returned %q", id, got.RequestID)
				}
			}
		})
	}
	wg.Wait()
}

// TestDecisionStoreRetainsLittle: a full store of the default capacity
// keeps little heap per realistic decision, and next to nothing that GC
// marking must visit. (The pointer store kept 622 B, 6.5 objects and 390
// scannable bytes per decision of the load benchmark's shape.)
func TestDecisionStoreRetainsLittle(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a store of 20,000 decisions")
	}
	src := decisionSources(t)[0] // the load benchmark's shape
	r := measureRetention(t, src, 20_000)
	t.Logf("%s: %.1f B, %.4f objects, %.2f scannable B per decision", src.name, r.bytes, r.objects, r.scan)
	if r.bytes > 200 || r.objects > 0.05 || r.scan > 16 {
		t.Errorf("per decision the store retains %.1f B in %.4f objects, %.2f B to scan; want at most 200 B, 0.05, 16 B", r.bytes, r.objects, r.scan)
	}
}

// refKey is refStore's key.
type refKey struct{ org, id string }

// refStore is the decision store as it was, pointers and all (keyed by org
// and request id): the model FuzzDecisionStore checks the compact store
// against.
type refStore struct {
	cap   int
	byKey map[refKey]*octomesh.Decision
	order []refKey
	head  int
}

func (d *refStore) put(dec *octomesh.Decision) {
	if dec.RequestID == "" {
		return
	}
	k := refKey{dec.OrgID, dec.RequestID}
	if _, ok := d.byKey[k]; ok {
		d.byKey[k] = dec
		return
	}
	if len(d.order) < d.cap {
		d.order = append(d.order, k)
	} else {
		delete(d.byKey, d.order[d.head])
		d.order[d.head] = k
		d.head = (d.head + 1) % d.cap
	}
	d.byKey[k] = dec
}

// FuzzDecisionStore runs puts (new ids, replacements, big records, one id
// for several orgs) and gets from the input on the store, with small chunks
// and a weak hash so that chunk reuse, compaction and index collisions all
// happen, and checks it against refStore after every step.
func FuzzDecisionStore(f *testing.F) {
	f.Add([]byte{3, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte("\x05\xc0\xc4\xc8\xcc\x40\x44\x48\x4c\x50\x81\x85\x89\x8d\xf0\xf4\xf8\xfc"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		capacity := 1 + int(data[0]%8)
		s := newDecisionStore(capacity)
		s.arena.chunkSize = 96
		s.hash = func(_, id string) uint32 { return uint32(id[len(id)-1] % 5) }
		ref := &refStore{cap: capacity, byKey: map[refKey]*octomesh.Decision{}}
		ids := make([]string, 24)
		for i := range ids {
			ids[i] = fmt.Sprint("r", i)
		}
		for step, b := range data[1:] {
			id := ids[int(b>>3)%len(ids)]
			d := dec(id, fmt.Sprint("o", b&1))
			d.PromptCluster = step
			switch b & 6 {
			case 2: // a record bigger than a chunk
				d.Excluded = []octomesh.Exclusion{{Reason: strings.Repeat("at 9 ", 40)}}
			case 4: // no org, more attempts
				d.OrgID = ""
				d.Attempts = append(d.Attempts, d.Attempts...)
			}
			s.put(d)
			ref.put(d)
			for _, id := range ids {
				for _, org := range []string{"o0", "o1", ""} {
					w, stored := ref.byKey[refKey{org, id}]
					got, ok := s.get(id, org)
					if ok != stored {
						t.Fatalf("step %d: get(%q, %q) found %v, want %v", step, id, org, ok, stored)
					}
					if stored && !reflect.DeepEqual(got, normalised(w)) {
						t.Fatalf("step %d: get(%q, %q) (-want +got):\n%s", step, id, org, cmp.Diff(normalised(w), got))
					}
				}
			}
			if a := &s.arena; a.wasteful() {
				t.Fatalf("step %d: the arena holds %d bytes for %d live", step, a.held, a.live)
			}
		}
	})
}

// TestDecisionsOfTwoOrgsWithOneRequestID: two orgs send the same
// X-Request-Id; each reads its own request's decision through the service,
// and a third org reads neither.
func TestDecisionsOfTwoOrgsWithOneRequestID(t *testing.T) {
	p := &scripted{id: "p", resp: okResp()}
	svc := newService(t, p)
	for org, model := range map[string]string{"org_a": "p/big", "org_b": "p/small"} {
		if _, _, err := svc.Chat(orgCtx(org, "req-same"), userReq(model)); err != nil {
			t.Fatalf("%s: %v", org, err)
		}
	}
	for org, want := range map[string]string{"org_a": "p/big", "org_b": "p/small"} {
		dec, err := svc.Decision(orgCtx(org, ""), "req-same")
		if err != nil {
			t.Errorf("%s: Decision: %v", org, err)
			continue
		}
		if dec.OrgID != org || dec.Requested != want {
			t.Errorf("%s read the decision of org %q for %q, want its own for %q", org, dec.OrgID, dec.Requested, want)
		}
	}
	if dec, err := svc.Decision(orgCtx("org_c", ""), "req-same"); octomesh.ErrorCodeOf(err) != octomesh.ENOTFOUND {
		t.Errorf("org_c: Decision = %+v, %v; want ENOTFOUND", dec, err)
	}
}
