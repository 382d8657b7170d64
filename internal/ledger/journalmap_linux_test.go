package ledger

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/octomesh/octomesh"
)

// TestMapSegmentFailureLeavesTheFileEmpty: when mapping fails (here: a
// file not open for reading) the segment is left empty, so the write
// path's O_APPEND writes start at its beginning, not past a preallocation.
func TestMapSegmentFailureLeavesTheFileEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seg")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if b, err := mapSegment(f, 1<<20); err == nil {
		unmapSegment(b)
		t.Fatal("mapped a write-only file")
	}
	if fi, err := f.Stat(); err != nil || fi.Size() != 0 {
		t.Fatalf("after a failed mapping: %v, %v; want an empty file", fi.Size(), err)
	}
}

// TestJournalMappingFault: a store that faults (the file was cut under
// the mapping, as a filesystem that fails fallocate's promise could make
// a store fail) is an append error, not a crash, and the journal goes on
// in a new segment.
func TestJournalMappingFault(t *testing.T) {
	dir := t.TempDir()
	s, err := openSpool(dir, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	add := func(id string) error {
		e := entry(id, 1)
		rec, err := appendRecord(nil, &e)
		if err != nil {
			t.Fatal(err)
		}
		return s.appendJournal(rec, []octomesh.LedgerEntry{e})
	}
	if err := add("r0"); err != nil {
		t.Fatal(err)
	}
	if s.mapped == nil {
		t.Fatal("the journal segment is not mapped")
	}
	if err := os.Truncate(s.cur.path, 0); err != nil {
		t.Fatal(err)
	}
	if err := add("r1"); err == nil {
		t.Fatal("a store past the file's end succeeded")
	}
	if s.mapped != nil || s.active != nil {
		t.Fatal("the faulted segment is still active")
	}
	if err := add("r2"); err != nil {
		t.Fatal(err)
	}
	if s.mapped == nil {
		t.Error("the next segment is not mapped")
	}
	segs := s.next()
	if len(segs) != 2 || len(segs[0].mem) != 1 || len(segs[1].mem) != 1 || segs[1].mem[0].RequestID != "r2" {
		t.Errorf("segments = %+v", segs)
	}
}
