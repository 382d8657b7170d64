package ledger

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
)

// idStore records the request ids it is given; downStore fails every
// call. Both serve AppendEntries only.
type idStore struct {
	octomesh.LedgerStore
	mu  sync.Mutex
	ids map[string]int
}

func (s *idStore) AppendEntries(ctx context.Context, es []octomesh.LedgerEntry) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids == nil {
		s.ids = map[string]int{}
	}
	for _, e := range es {
		s.ids[e.RequestID]++
	}
	return len(es), nil
}

type downStore struct{ octomesh.LedgerStore }

func (downStore) AppendEntries(context.Context, []octomesh.LedgerEntry) (int, error) {
	return 0, errDown
}

const crashChildEnv = "OCTOMESH_LEDGER_CRASH_CHILD"

// TestJournalSurvivesSIGKILL runs a child process (this test binary) that
// journals entries from several goroutines, printing each id once its
// Write returned, and kills it with SIGKILL while it does. Every id the
// child acknowledged must be replayed from the journal it left. The
// child's store always fails, so nothing leaves the journal but the
// drain keeps rotating it, and its mapping is one page, so appends keep
// filling and rotating mappings too.
func TestJournalSurvivesSIGKILL(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestJournalSurvivesSIGKILL$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const n = 3000
	acked := map[string]bool{}
	mapped := false
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		switch line := sc.Text(); {
		case line == "mapped":
			mapped = true
		case strings.HasPrefix(line, "ack "):
			acked[strings.TrimPrefix(line, "ack ")] = true
		default:
			t.Errorf("child: %s", line)
		}
		if len(acked) >= n && !killed {
			// SIGKILL: no deferred code, no Close, no unmapping.
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true // what is already in the pipe was acknowledged too
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatalf("the child ended by itself after %d acknowledgements", len(acked))
	}
	if runtime.GOOS == "linux" && !mapped {
		t.Error("the child's journal segments were not mapped")
	}

	store := &idStore{}
	w := newWriter(t, store, Options{SpoolDir: dir, WriteBehind: time.Hour})
	if err := w.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	var lost []string
	for id := range acked {
		if store.ids[id] == 0 {
			lost = append(lost, id)
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d of %d acknowledged entries lost, e.g. %v", len(lost), len(acked), lost[:min(5, len(lost))])
	}
	// Copies happen under the spool's lock: at most the one in flight at
	// the kill is torn.
	st := w.Stats()
	if st.TornRecords > 1 {
		t.Errorf("%d torn records, want at most 1", st.TornRecords)
	}
	t.Logf("%d acknowledged, %d replayed, %d torn", len(acked), st.Replayed, st.TornRecords)
}

// crashChild is TestJournalSurvivesSIGKILL's child: it journals entries
// until it is killed.
func crashChild(dir string) {
	w, err := NewWriter(downStore{}, Options{SpoolDir: dir, WriteBehind: 2 * time.Millisecond,
		RetryMin: time.Millisecond, RetryMax: 2 * time.Millisecond, SpoolMaxBytes: 1 << 30})
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	w.spool.mu.Lock()
	w.spool.mapSize = os.Getpagesize()
	w.spool.mu.Unlock()
	var outMu sync.Mutex
	say := func(s string) {
		outMu.Lock()
		os.Stdout.WriteString(s + "\n") // one write each: nothing acknowledged waits in a buffer
		outMu.Unlock()
	}
	var once sync.Once
	for g := range 4 {
		go func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("c%d-%d", g, i)
				if err := w.Write(context.Background(), entry(id, 1)); err != nil {
					say("write " + id + ": " + err.Error())
					return
				}
				once.Do(func() {
					w.spool.mu.Lock()
					if w.spool.mapped != nil {
						say("mapped")
					}
					w.spool.mu.Unlock()
				})
				say("ack " + id)
			}
		}()
	}
	select {}
}

// journalRecords returns n entries' records, r0 …, together and one by one.
func journalRecords(t testing.TB, n int) ([]byte, [][]byte) {
	t.Helper()
	var es []octomesh.LedgerEntry
	for i := range n {
		es = append(es, entry(fmt.Sprintf("r%d", i), 1))
	}
	buf, err := encodeRecords(es)
	if err != nil {
		t.Fatal(err)
	}
	recs := bytes.SplitAfter(buf, []byte("\n"))
	return buf, recs[:len(recs)-1] // the empty piece after the last newline
}

// readIDs reads a segment's request ids.
func readIDs(t testing.TB, data []byte) ([]string, int) {
	t.Helper()
	var ids []string
	skipped, err := readSegment(bytes.NewReader(data), 2, func(b []octomesh.LedgerEntry) error {
		for _, e := range b {
			ids = append(ids, e.RequestID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids, skipped
}

// TestReadSegmentNULs: what a mapped journal segment can hold after a
// crash reads back without losing (or counting as torn) a valid record,
// and a torn one is still caught.
func TestReadSegmentNULs(t *testing.T) {
	_, recs := journalRecords(t, 3)
	nuls := func(n int) []byte { return make([]byte, n) }
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	half := recs[1][:len(recs[1])/2]
	tail := recs[1][len(recs[1])/2:]
	// A copy that stored the record's ends but not its middle (as a
	// vectorised memmove may) leaves a newline-ended piece after NULs.
	ends := join(recs[1][:20], nuls(len(recs[1])-40), recs[1][len(recs[1])-20:])
	for _, tc := range []struct {
		name    string
		data    []byte
		want    string
		skipped int
	}{
		{"NUL tail", join(recs[0], recs[1], nuls(1<<20)), "r0 r1", 0},
		{"NUL tail past the buffer", join(recs[0], nuls(200<<10), recs[2], nuls(70<<10)), "r0 r2", 0},
		{"NUL hole", join(recs[0], nuls(300), recs[1], recs[2]), "r0 r1 r2", 0},
		{"only NULs", nuls(5000), "", 0},
		{"torn record, then NULs", join(recs[0], half, nuls(len(tail)+4096)), "r0", 1},
		{"torn record in a hole", join(recs[0], half, nuls(len(tail)), recs[2]), "r0 r2", 1},
		{"torn record's ends in a hole", join(recs[0], ends, recs[2], nuls(100)), "r0 r2", 1},
		{"torn record's tail only", join(recs[0], nuls(len(half)), tail, recs[2]), "r0 r2", 1},
		{"record without its newline before NULs", join(recs[0], bytes.TrimSuffix(recs[1], []byte("\n")), nuls(10)), "r0", 1},
		{"corrupt record between NULs", join(nuls(3), recs[0], []byte(strings.Replace(string(recs[1]), `"cost":1`, `"cost":2`, 1)), nuls(3), recs[2]), "r0 r2", 1},
	} {
		ids, skipped := readIDs(t, tc.data)
		if got := strings.Join(ids, " "); got != tc.want || skipped != tc.skipped {
			t.Errorf("%s: read %q skipping %d; want %q skipping %d", tc.name, got, skipped, tc.want, tc.skipped)
		}
	}
}

// FuzzReadSegmentNULs tears one of three records as a crash mid-copy
// could (any of its bytes stored, the rest NUL), pads record boundaries
// and the tail with NUL runs, and checks the reader keeps every other
// record, keeps the torn one only if it is whole, and counts at most one
// torn record.
func FuzzReadSegmentNULs(f *testing.F) {
	f.Add([]byte{1}, uint8(1), []byte{0, 0, 0, 0})
	f.Add([]byte{0, 1, 1, 0}, uint8(2), []byte{7, 0, 200, 3})
	f.Add([]byte{1, 1, 1, 1, 1, 1, 1, 0}, uint8(0), []byte{})
	f.Fuzz(func(t *testing.T, mask []byte, which uint8, pads []byte) {
		_, recs := journalRecords(t, 3)
		k := int(which) % 3
		whole := true
		var data []byte
		for i, r := range recs {
			if i < len(pads) {
				data = append(data, make([]byte, int(pads[i])*17)...)
			}
			if i != k || len(mask) == 0 {
				data = append(data, r...)
				continue
			}
			for j, c := range r {
				if mask[j%len(mask)]&1 == 0 {
					c = 0
					whole = false
				}
				data = append(data, c)
			}
		}
		if len(pads) > 3 {
			data = append(data, make([]byte, int(pads[3])*31)...)
		}
		ids, skipped := readIDs(t, data)
		var want []string
		for i := range recs {
			if i != k || whole {
				want = append(want, fmt.Sprintf("r%d", i))
			}
		}
		if strings.Join(ids, " ") != strings.Join(want, " ") {
			t.Fatalf("read %v, want %v", ids, want)
		}
		if whole && skipped != 0 || skipped > 1 {
			t.Fatalf("skipped %d (record %d whole: %v)", skipped, k, whole)
		}
	})
}

// segmentFile returns a spool segment file's contents.
func segmentFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestJournalRotatesAFullMapping: appends that overflow a segment's
// mapping go on in a new segment; rotated and closed segments are cut to
// their records; the drain takes every entry once, those of the mapped
// segment still active too.
func TestJournalRotatesAFullMapping(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mapSize int
	}{{"mapped", os.Getpagesize()}, {"write path", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := openSpool(dir, 64<<20)
			if err != nil {
				t.Fatal(err)
			}
			s.mapSize = tc.mapSize
			buf, _ := journalRecords(t, 1)
			n := 3*os.Getpagesize()/len(buf) + 1 // three mappings and some
			for i := range n {
				e := entry(fmt.Sprintf("r%d", i), 1)
				rec, err := appendRecord(nil, &e)
				if err != nil {
					t.Fatal(err)
				}
				if err := s.appendJournal(rec, []octomesh.LedgerEntry{e}); err != nil {
					t.Fatal(err)
				}
			}
			s.mu.Lock()
			isMapped := s.mapped != nil
			s.mu.Unlock()
			if wantMapped := tc.mapSize > 0 && runtime.GOOS == "linux"; isMapped != wantMapped {
				t.Errorf("active segment mapped = %v, want %v", isMapped, wantMapped)
			}
			segs := s.next() // the drain's
			want := 1
			if isMapped {
				want = 4
			}
			if len(segs) < want {
				t.Errorf("%d segments, want at least %d", len(segs), want)
			}
			var ids []string
			var size int64
			for i, seg := range segs {
				if seg.path == "" {
					// The entries of the mapped segment, which stays
					// active: its file holds them, then NULs.
					if !isMapped || i != len(segs)-1 {
						t.Errorf("a segment without a file: %+v", seg)
					}
					seg.path, seg.size = s.cur.path, s.cur.size
				}
				data := segmentFile(t, seg.path)
				if seg.path == s.cur.path {
					data = bytes.TrimRight(data, "\x00")
				}
				if int64(len(data)) != seg.size || bytes.IndexByte(data, 0) >= 0 {
					t.Errorf("%s: %d bytes (%d NULs) for %d bytes of records", seg.path, len(data), bytes.Count(data, []byte{0}), seg.size)
				}
				got, skipped := readIDs(t, data)
				if skipped != 0 || len(got) != len(seg.mem) {
					t.Errorf("%s: %d records (%d skipped), %d in memory", seg.path, len(got), skipped, len(seg.mem))
				}
				for i, e := range seg.mem {
					if i < len(got) && got[i] != e.RequestID {
						t.Errorf("%s: record %d is %s, in memory %s", seg.path, i, got[i], e.RequestID)
					}
				}
				ids = append(ids, got...)
				size += seg.size
			}
			if len(ids) != n || ids[0] != "r0" || ids[n-1] != fmt.Sprintf("r%d", n-1) {
				t.Errorf("segments hold %d records (%v … %v), want r0 … r%d", len(ids), ids[:1], ids[len(ids)-1:], n-1)
			}
			if b, _ := s.state(); b != size {
				t.Errorf("spool counts %d bytes, segments hold %d", b, size)
			}
			// A journal append after a spool append, and the spool's
			// fsynced append after a mapped journal append, each start
			// their own segment only where they must, and Close cuts the
			// active one to its records.
			j, sp := entry("j1", 1), entry("spooled", 1)
			jrec, _ := appendRecord(nil, &j)
			sprec, _ := appendRecord(nil, &sp)
			if err := s.appendJournal(jrec, []octomesh.LedgerEntry{j}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.append(sprec, false); err != nil {
				t.Fatal(err)
			}
			s.close()
			var all []string
			for _, name := range spoolFiles(t, dir) {
				data := segmentFile(t, filepath.Join(dir, name))
				if bytes.IndexByte(data, 0) >= 0 {
					t.Errorf("%s holds NULs after close", name)
				}
				got, _ := readIDs(t, data)
				all = append(all, got...)
			}
			if got := strings.Join(all[len(all)-2:], " "); got != "j1 spooled" {
				t.Errorf("last records %q", got)
			}
		})
	}
}

// TestJournalBatchLargerThanTheMapping: a batch the mapping cannot hold
// goes to an unmapped segment with write(2).
func TestJournalBatchLargerThanTheMapping(t *testing.T) {
	dir := t.TempDir()
	s, err := openSpool(dir, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	s.mapSize = os.Getpagesize()
	var es []octomesh.LedgerEntry
	for i := range 2 * os.Getpagesize() / 200 {
		es = append(es, entry(fmt.Sprintf("r%d", i), 1))
	}
	buf, err := encodeRecords(es)
	if err != nil {
		t.Fatal(err)
	}
	if len(buf) <= s.mapSize {
		t.Fatalf("batch of %d bytes fits a mapping of %d", len(buf), s.mapSize)
	}
	if err := s.appendJournal(buf, es); err != nil {
		t.Fatal(err)
	}
	if s.mapped != nil {
		t.Error("a segment was mapped for a batch larger than the mapping")
	}
	s.close()
	files := spoolFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("files = %v", files)
	}
	if ids, skipped := readIDs(t, segmentFile(t, filepath.Join(dir, files[0]))); len(ids) != len(es) || skipped != 0 {
		t.Errorf("read %d records skipping %d, want %d", len(ids), skipped, len(es))
	}
}

// TestJournalMappingOutlivesDrainCycles: the drain applies a mapped
// segment's entries without rotating its file; Close removes the file
// once everything is applied; after a crash the file's entries, applied
// or not, are replayed (harmless: the ledger is idempotent).
func TestJournalMappingOutlivesDrainCycles(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("journal segments are mapped on Linux only")
	}
	for _, crash := range []bool{false, true} {
		dir := t.TempDir()
		store := &idStore{}
		w, err := NewWriter(store, Options{SpoolDir: dir, WriteBehind: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		for round := range 3 {
			noErrors(t, writeConcurrently(w, 2, 10))
			if err := w.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			if files := spoolFiles(t, dir); len(files) != 1 {
				t.Fatalf("round %d: files %v, want the one mapped segment", round, files)
			}
		}
		if st := w.Stats(); st.Applied != 60 || len(store.ids) != 20 {
			t.Fatalf("applied %d, store holds %d ids; want 60 entries of 20 requests", st.Applied, len(store.ids))
		}
		if !crash {
			if err := w.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if files := spoolFiles(t, dir); len(files) != 0 {
				t.Errorf("files after Close: %v", files)
			}
			continue
		}
		w.crash()
		store2 := &idStore{}
		w2 := newWriter(t, store2, Options{SpoolDir: dir, WriteBehind: time.Hour})
		if err := w2.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		if st := w2.Stats(); st.Replayed != 60 || st.TornRecords != 0 || len(store2.ids) != 20 {
			t.Errorf("after the crash: %+v, %d ids; want 60 replayed of 20 requests", st, len(store2.ids))
		}
		if files := spoolFiles(t, dir); len(files) != 0 {
			t.Errorf("files after recovery: %v", files)
		}
	}
}
