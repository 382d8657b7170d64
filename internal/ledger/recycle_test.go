package ledger

import (
	"testing"

	"github.com/octomesh/octomesh"
)

// TestAppliedSegmentsLendTheirEntrySlices: the next journal segment takes
// the entry slice of one applied and removed, emptied: it holds only its
// own entries, and the old entries' strings are not kept reachable.
func TestAppliedSegmentsLendTheirEntrySlices(t *testing.T) {
	s, err := openSpool(t.TempDir(), 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	journal := func(ids ...string) {
		t.Helper()
		for _, id := range ids {
			e := entry(id, 1)
			buf, err := encodeRecords([]octomesh.LedgerEntry{e})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.appendJournal(buf, []octomesh.LedgerEntry{e}); err != nil {
				t.Fatal(err)
			}
		}
	}
	journal("a1", "a2", "a3")
	segs := s.next()
	if len(segs) != 1 {
		t.Fatalf("%d segments", len(segs))
	}
	first := segs[0].mem
	if err := s.remove(segs[0]); err != nil {
		t.Fatal(err)
	}
	journal("b1")
	if &s.cur.mem[0] != &first[:1][0] {
		t.Error("the new segment did not take the applied segment's slice")
	}
	if len(s.cur.mem) != 1 || s.cur.mem[0].RequestID != "b1" {
		t.Fatalf("new segment holds %+v; want b1 alone", s.cur.mem)
	}
	for i, e := range s.cur.mem[1:cap(s.cur.mem)] {
		if e.RequestID != "" || e.OrgID != "" {
			t.Errorf("recycled slot %d still holds %q", i+1, e.RequestID)
		}
	}
	// A segment still to be applied (in closed) keeps its slice.
	segs = s.next()
	journal("c1")
	if len(segs) != 1 || len(segs[0].mem) != 1 || segs[0].mem[0].RequestID != "b1" {
		t.Fatalf("a pending segment's entries changed: %+v", segs)
	}
}
