package ledger

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/sqlite"
)

// TestWriteBehind: callers return once their entries are journaled; the
// store gets them within WriteBehind, in few transactions, exactly once.
func TestWriteBehind(t *testing.T) {
	db := openSQLite(t)
	sizes := &batchSizes{LedgerStore: db}
	dir := t.TempDir()
	w := newWriter(t, sizes, Options{SpoolDir: dir, WriteBehind: 30 * time.Millisecond})
	began := time.Now()
	noErrors(t, writeConcurrently(w, 16, 40))
	if st := w.Stats(); st.Journaled != 640 || st.Batches != 0 {
		t.Fatalf("stats after writing = %+v, want 640 journaled and no direct commits", st)
	}
	// The deadline is generous for a busy machine; a healthy run waits
	// about one write-behind interval.
	deadline := time.Now().Add(20 * time.Second)
	for w.Stats().Applied < 640 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(began)
	wantLedger(t, db, 640, 640)
	// Batched: at most one transaction an interval while entries came in
	// (a busy machine stretches the writing over more intervals), and
	// never one an entry.
	most := min(int(took/(30*time.Millisecond))+2, 640/4)
	if n := len(sizes.batches()); n == 0 || n > most {
		t.Errorf("640 entries applied in %d transactions over %v, want at most %d", n, took, most)
	}
	// Applied segments are removed.
	w.Flush(context.Background())
	if files := spoolFiles(t, dir); len(files) > 1 {
		t.Errorf("journal files left = %v", files)
	}
}

// TestConsistentReadsSeeOwnWrites: a read through Consistent right after a
// Write sees it, however long WriteBehind is.
func TestConsistentReadsSeeOwnWrites(t *testing.T) {
	db := openSQLite(t)
	w := newWriter(t, db, Options{SpoolDir: t.TempDir(), WriteBehind: time.Hour})
	c := Consistent{MeterStore: db, W: w}
	for i := range 5 {
		if err := w.Write(context.Background(), entry("r"+string(rune('a'+i)), 10)); err != nil {
			t.Fatal(err)
		}
		if u := usage(t, db); u.Requests != int64(i) {
			t.Fatalf("the store saw %d requests before the flush, want %d (an hour of write-behind)", u.Requests, i)
		}
		wantLedger(t, c, int64(i+1), octomesh.Money(10*(i+1)))
		if bal, err := c.Balance(context.Background(), "org_a"); err != nil || bal != octomesh.Money(-10*(i+1)) {
			t.Errorf("Balance = %d, %v", bal, err)
		}
	}
}

// TestWriteBehindSurvivesACrash: journaled entries of a process that died
// before applying them reach the store when the next Writer starts, once.
func TestWriteBehindSurvivesACrash(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(t.TempDir(), "o.db")
	db, err := sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	createOrgs(t, db)
	w, err := NewWriter(db, Options{SpoolDir: dir, WriteBehind: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	noErrors(t, writeConcurrently(w, 8, 25))
	w.crash()
	if u := usage(t, db); u.Requests != 0 {
		t.Fatalf("store holds %d requests before recovery", u.Requests)
	}
	if files := spoolFiles(t, dir); len(files) != 1 {
		t.Fatalf("journal files = %v", files)
	}
	// Half of them had been applied just before the crash: replay skips them.
	half := make([]octomesh.LedgerEntry, 0, 100)
	for g := range 4 {
		for i := range 25 {
			half = append(half, entry("w"+strconv.Itoa(g)+"-"+strconv.Itoa(i), 1))
		}
	}
	if _, err := db.AppendEntries(context.Background(), half); err != nil {
		t.Fatal(err)
	}
	w2 := newWriter(t, db, Options{SpoolDir: dir, WriteBehind: time.Hour})
	if err := w2.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantLedger(t, db, 200, 200)
	if files := spoolFiles(t, dir); len(files) != 0 {
		t.Errorf("journal files after recovery = %v", files)
	}
}

// TestWriteBehindWhileTheStoreFails: the journal keeps acknowledging while
// the store is down, up to its bound, and everything lands once it is back.
func TestWriteBehindWhileTheStoreFails(t *testing.T) {
	db := openSQLite(t)
	store := &switchStore{LedgerStore: db}
	dir := t.TempDir()
	w := newWriter(t, store, Options{SpoolDir: dir, WriteBehind: 5 * time.Millisecond, SpoolMaxBytes: 64 << 10})
	store.down.Store(true)
	var ok, refused int
	for i := range 400 {
		err := w.Write(context.Background(), entry("d"+strconv.Itoa(i), 1))
		switch {
		case err == nil:
			ok++
		case octomesh.ErrorCodeOf(err) == octomesh.EUNAVAILABLE:
			refused++
		default:
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if ok == 0 || refused == 0 {
		t.Fatalf("%d acknowledged, %d refused; want the journal to fill and then refuse", ok, refused)
	}
	store.down.Store(false)
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantLedger(t, db, int64(ok), octomesh.Money(ok))
}

// TestJournalReportsAFailingStore: in journal mode writes keep succeeding
// while the store fails, so Stats.Degraded (octomesh_ledger_degraded) must
// say the store is failing, and clear once it is back.
func TestJournalReportsAFailingStore(t *testing.T) {
	db := openSQLite(t)
	store := &switchStore{LedgerStore: db}
	w := newWriter(t, store, Options{SpoolDir: t.TempDir(), WriteBehind: 2 * time.Millisecond})
	store.down.Store(true)
	if err := w.Write(context.Background(), entry("down", 1)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for !w.Stats().Degraded && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	if !w.Stats().Degraded {
		t.Fatal("the store has been failing; Stats.Degraded is still false")
	}
	store.down.Store(false)
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Degraded {
		t.Errorf("after a successful flush: %+v", st)
	}
	wantLedger(t, db, 1, 1)
}
