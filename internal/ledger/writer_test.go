package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/sqlite"
)

// switchStore wraps a real store: it counts AppendEntries calls, fails
// them while down is set (as an unreachable database would), and refuses
// as invalid any batch holding the request id "poison" (as a store check
// Validate does not know would).
type switchStore struct {
	octomesh.LedgerStore
	down  atomic.Bool
	calls atomic.Int64
}

var errDown = errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")

func (s *switchStore) AppendEntries(ctx context.Context, es []octomesh.LedgerEntry) (int, error) {
	s.calls.Add(1)
	if s.down.Load() {
		return 0, errDown
	}
	for _, e := range es {
		if e.RequestID == "poison" {
			return 0, octomesh.Errorf(octomesh.EINVALID, "ledger entry: refused by the store")
		}
	}
	return s.LedgerStore.AppendEntries(ctx, es)
}

// openSQLite opens a real SQLite store with the organisations org_a and org_b.
func openSQLite(t testing.TB) *sqlite.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "octomesh.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	createOrgs(t, db)
	return db
}

func createOrgs(t testing.TB, s octomesh.OrgStore) {
	t.Helper()
	for _, org := range []string{"org_a", "org_b"} {
		if err := s.CreateOrg(context.Background(), &octomesh.Org{ID: org, Name: org}, &octomesh.User{ID: "usr_" + org, Name: "Owner"}, nil); err != nil {
			t.Fatal(err)
		}
	}
}

var testStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// entry is org_a's usage entry for request req, costing cost.
func entry(req string, cost octomesh.Money) octomesh.LedgerEntry {
	return octomesh.LedgerEntry{Kind: octomesh.EntryUsage, OrgID: "org_a", KeyID: "key_1", RequestID: req, Attempt: 1,
		Deployment: "sim/fast", Provider: "sim", PromptTokens: 10, CompletionTokens: 5, Cost: cost, Outcome: "ok",
		Start: testStart, End: testStart.Add(time.Second)}
}

func newWriter(t testing.TB, store octomesh.LedgerStore, o Options) *Writer {
	t.Helper()
	if o.RetryMin == 0 {
		o.RetryMin, o.RetryMax = 5*time.Millisecond, 50*time.Millisecond
	}
	w, err := NewWriter(store, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(context.Background()) })
	return w
}

// usage returns org_a's total usage row.
func usage(t testing.TB, s octomesh.LedgerStore) octomesh.UsageRow {
	t.Helper()
	rows, err := s.UsageReport(context.Background(), "org_a", octomesh.EntryFilter{}, nil)
	if err != nil || len(rows) != 1 {
		t.Fatalf("UsageReport = %v, %v", rows, err)
	}
	return rows[0]
}

// wantLedger fails unless org_a holds exactly n usage entries of distinct
// requests costing cost in total.
func wantLedger(t testing.TB, s octomesh.LedgerStore, n int64, cost octomesh.Money) {
	t.Helper()
	u := usage(t, s)
	if u.Attempts != n || u.Requests != n || u.Cost != cost {
		t.Errorf("ledger holds %d entries of %d requests costing %d; want %d entries costing %d", u.Attempts, u.Requests, u.Cost, n, cost)
	}
}

// writeConcurrently has writers goroutines write each entries, entry i of
// writer g being request "w<g>-<i>" costing 1, and returns their errors.
func writeConcurrently(w *Writer, writers, each int) []error {
	var wg sync.WaitGroup
	errs := make([]error, writers*each)
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				errs[g*each+i] = w.Write(context.Background(), entry(fmt.Sprintf("w%d-%d", g, i), 1))
			}
		}()
	}
	wg.Wait()
	return errs
}

func noErrors(t testing.TB, errs []error) {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
}

func spoolFiles(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if _, ok := segmentNumber(e.Name()); ok {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestGroupCommit(t *testing.T) {
	db := openSQLite(t)
	store := &switchStore{LedgerStore: db}
	w := newWriter(t, store, Options{SpoolDir: t.TempDir()})
	const writers, each = 64, 20
	noErrors(t, writeConcurrently(w, writers, each))

	wantLedger(t, db, writers*each, writers*each)
	st := w.Stats()
	calls := store.calls.Load()
	t.Logf("%d writes in %d transactions (%.1f entries per transaction)", writers*each, calls, float64(writers*each)/float64(calls))
	if calls >= writers*each {
		t.Errorf("%d transactions for %d writes: no batching", calls, writers*each)
	}
	if st.Batches != calls || st.Entries != writers*each || st.Spooled != 0 || st.StoreErrors != 0 {
		t.Errorf("stats = %+v, want %d batches of %d entries", st, calls, writers*each)
	}
	// Every Write returned after its commit: the writer holds nothing.
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantLedger(t, db, writers*each, writers*each)
}

func TestMaxBatch(t *testing.T) {
	db := openSQLite(t)
	store := &batchSizes{LedgerStore: db}
	w := newWriter(t, store, Options{MaxBatch: 7})
	noErrors(t, writeConcurrently(w, 16, 10))
	wantLedger(t, db, 160, 160)
	for _, n := range store.batches() {
		if n > 7 {
			t.Fatalf("a batch of %d entries with MaxBatch 7 (sizes %v)", n, store.batches())
		}
	}
	// One Write larger than MaxBatch is one transaction, never split.
	big := make([]octomesh.LedgerEntry, 20)
	for i := range big {
		big[i] = entry(fmt.Sprintf("big-%d", i), 2)
	}
	if err := w.Write(context.Background(), big...); err != nil {
		t.Fatal(err)
	}
	if sizes := store.batches(); sizes[len(sizes)-1] != 20 {
		last := sizes[len(sizes)-1]
		t.Errorf("the large write went in a batch of %d", last)
	}
	wantLedger(t, db, 180, 200)
}

type batchSizes struct {
	octomesh.LedgerStore
	mu    sync.Mutex
	sizes []int
}

func (b *batchSizes) batches() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int(nil), b.sizes...)
}

func (b *batchSizes) AppendEntries(ctx context.Context, es []octomesh.LedgerEntry) (int, error) {
	b.mu.Lock()
	b.sizes = append(b.sizes, len(es))
	b.mu.Unlock()
	return b.LedgerStore.AppendEntries(ctx, es)
}

func TestSpoolWhileTheStoreFails(t *testing.T) {
	db := openSQLite(t)
	store := &switchStore{LedgerStore: db}
	dir := t.TempDir()
	w := newWriter(t, store, Options{SpoolDir: dir, RetryMin: time.Hour, RetryMax: time.Hour}) // replay only when asked
	store.down.Store(true)

	// Writes succeed while the database is down: durable in the spool.
	const writers, each = 64, 5
	noErrors(t, writeConcurrently(w, writers, each))
	wantLedger(t, db, 0, 0)
	st := w.Stats()
	if st.Spooled != writers*each || st.Entries != 0 || !st.Degraded || st.SpoolBytes == 0 {
		t.Errorf("stats while down = %+v", st)
	}
	// Degraded: after the first failure batches go straight to the spool.
	if calls := store.calls.Load(); calls != 1 {
		t.Errorf("%d store calls while down, want 1 (then straight to the spool)", calls)
	}
	if files := spoolFiles(t, dir); len(files) != 1 {
		t.Errorf("spool files = %v", files)
	}
	// A replay while the database is still down fails and keeps everything.
	if err := w.Sync(context.Background()); !errors.Is(err, errDown) {
		t.Errorf("Sync while down = %v", err)
	}

	// The database returns: everything lands exactly once.
	store.down.Store(false)
	if err := w.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantLedger(t, db, writers*each, writers*each)
	st = w.Stats()
	if st.Replayed != writers*each || st.SpoolBytes != 0 || st.Degraded || st.TornRecords != 0 {
		t.Errorf("stats after replay = %+v", st)
	}
	if files := spoolFiles(t, dir); len(files) != 0 {
		t.Errorf("spool files after replay = %v", files)
	}
	// New writes go to the database again.
	if err := w.Write(context.Background(), entry("after", 10)); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Batches != 1 || st.Spooled != writers*each {
		t.Errorf("stats after recovery = %+v", st)
	}
	wantLedger(t, db, writers*each+1, writers*each+10)
}

func TestBackgroundDrain(t *testing.T) {
	db := openSQLite(t)
	store := &switchStore{LedgerStore: db}
	w := newWriter(t, store, Options{SpoolDir: t.TempDir()})
	store.down.Store(true)
	noErrors(t, writeConcurrently(w, 8, 10))
	time.Sleep(20 * time.Millisecond) // a few failed replays
	store.down.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for usage(t, db).Attempts < 80 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	wantLedger(t, db, 80, 80)
	// The first batch the store takes ends degraded mode; the replayed
	// segment is removed (SpoolBytes back to 0) only after the rest of
	// it is in: wait for both.
	for st := w.Stats(); (st.Degraded || st.SpoolBytes != 0) && time.Now().Before(deadline); st = w.Stats() {
		time.Sleep(5 * time.Millisecond)
	}
	if st := w.Stats(); st.Degraded || st.SpoolBytes != 0 || st.Replayed != 80 || st.StoreErrors < 2 {
		t.Errorf("stats after the drain = %+v", st)
	}
}

func TestSpoolFull(t *testing.T) {
	db := openSQLite(t)
	store := &switchStore{LedgerStore: db}
	one, err := encodeRecords([]octomesh.LedgerEntry{entry("r-00", 1)})
	if err != nil {
		t.Fatal(err)
	}
	// Room for three records.
	w := newWriter(t, store, Options{SpoolDir: t.TempDir(), SpoolMaxBytes: int64(3*len(one) + len(one)/2), RetryMin: time.Hour, RetryMax: time.Hour})
	store.down.Store(true)
	for i := range 3 {
		if err := w.Write(context.Background(), entry(fmt.Sprintf("r-%02d", i), 1)); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	err = w.Write(context.Background(), entry("r-03", 1))
	if octomesh.ErrorCodeOf(err) != octomesh.EUNAVAILABLE {
		t.Fatalf("write to a full spool = %v, want EUNAVAILABLE", err)
	}
	if st := w.Stats(); st.Spooled != 3 {
		t.Errorf("stats = %+v", st)
	}
	store.down.Store(false)
	if err := w.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantLedger(t, db, 3, 3) // the acknowledged three, not the refused one
	if err := w.Write(context.Background(), entry("r-04", 1)); err != nil {
		t.Errorf("write after the replay: %v", err)
	}
}

func TestNoSpool(t *testing.T) {
	db := openSQLite(t)
	store := &switchStore{LedgerStore: db}
	w := newWriter(t, store, Options{})
	store.down.Store(true)
	err := w.Write(context.Background(), entry("r", 1))
	if octomesh.ErrorCodeOf(err) != octomesh.EUNAVAILABLE || !errors.Is(err, errDown) {
		t.Errorf("write without a spool while down = %v, want EUNAVAILABLE caused by the store's error", err)
	}
	store.down.Store(false)
	if err := w.Write(context.Background(), entry("r", 1)); err != nil {
		t.Fatal(err)
	}
	wantLedger(t, db, 1, 1)
	if err := w.Sync(context.Background()); err != nil {
		t.Errorf("Sync without a spool = %v", err)
	}
}

func TestCrashRecovery(t *testing.T) {
	db := openSQLite(t)
	store := &switchStore{LedgerStore: db}
	dir := t.TempDir()
	w, err := NewWriter(store, Options{SpoolDir: dir, RetryMin: time.Hour, RetryMax: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	store.down.Store(true)
	noErrors(t, writeConcurrently(w, 10, 5))
	w.crash() // no Close: the process died

	// The crash tore a batch mid-write: its last line is half there.
	files := spoolFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("spool files = %v", files)
	}
	torn, err := encodeRecords([]octomesh.LedgerEntry{entry("torn", 1000)})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, files[0]), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(torn[:len(torn)/2])
	f.Close()

	// The next start replays the spool; the torn record is skipped.
	store.down.Store(false)
	w2 := newWriter(t, store, Options{SpoolDir: dir})
	if err := w2.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantLedger(t, db, 50, 50)
	if st := w2.Stats(); st.Replayed != 50 || st.TornRecords != 1 || st.SpoolBytes != 0 {
		t.Errorf("stats after recovery = %+v", st)
	}
	if files := spoolFiles(t, dir); len(files) != 0 {
		t.Errorf("spool files after recovery = %v", files)
	}
}

// TestRecoveryOnStart checks a new Writer replays a crash's spool by
// itself, without Sync.
func TestRecoveryOnStart(t *testing.T) {
	db := openSQLite(t)
	store := &switchStore{LedgerStore: db}
	dir := t.TempDir()
	w, err := NewWriter(store, Options{SpoolDir: dir, RetryMin: time.Hour, RetryMax: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	store.down.Store(true)
	noErrors(t, writeConcurrently(w, 4, 5))
	w.crash()
	store.down.Store(false)
	w2 := newWriter(t, store, Options{SpoolDir: dir, RetryMin: time.Hour, RetryMax: time.Hour})
	deadline := time.Now().Add(10 * time.Second)
	for len(spoolFiles(t, dir)) > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	wantLedger(t, db, 20, 20)
	if st := w2.Stats(); st.Replayed != 20 {
		t.Errorf("stats = %+v", st)
	}
}

// TestReplayIsIdempotent replays a spool whose entries are partly in the
// database already, as after a crash between a replay's commit and the
// segment's removal.
func TestReplayIsIdempotent(t *testing.T) {
	db := openSQLite(t)
	store := &switchStore{LedgerStore: db}
	dir := t.TempDir()
	w := newWriter(t, store, Options{SpoolDir: dir, RetryMin: time.Hour, RetryMax: time.Hour})
	var first []octomesh.LedgerEntry
	for i := range 10 {
		first = append(first, entry(fmt.Sprintf("r-%d", i), 1))
	}
	if err := w.Write(context.Background(), first...); err != nil {
		t.Fatal(err)
	}
	store.down.Store(true)
	// The same ten again (a retry) and five new ones go to the spool.
	if err := w.Write(context.Background(), first...); err != nil {
		t.Fatal(err)
	}
	for i := 10; i < 15; i++ {
		if err := w.Write(context.Background(), entry(fmt.Sprintf("r-%d", i), 1)); err != nil {
			t.Fatal(err)
		}
	}
	w.crash()
	// Replay the spool twice: once into the database, then again from a
	// copy, as if the crash came before the segment was deleted.
	files := spoolFiles(t, dir)
	copyDir := t.TempDir()
	for _, name := range files {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(copyDir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	store.down.Store(false)
	for _, d := range []string{dir, copyDir} {
		w := newWriter(t, store, Options{SpoolDir: d})
		if err := w.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		if st := w.Stats(); st.Replayed != 15 {
			t.Errorf("replayed %d, want 15", st.Replayed)
		}
		wantLedger(t, db, 15, 15)
	}
}

func TestInvalidEntries(t *testing.T) {
	db := openSQLite(t)
	store := &switchStore{LedgerStore: db}
	w := newWriter(t, store, Options{SpoolDir: t.TempDir()})
	bad := entry("bad", 1)
	bad.Kind = "refund"
	err := w.Write(context.Background(), entry("good", 1), bad)
	if octomesh.ErrorCodeOf(err) != octomesh.EINVALID {
		t.Errorf("write with an invalid entry = %v, want EINVALID", err)
	}
	if calls := store.calls.Load(); calls != 0 {
		t.Errorf("an invalid write reached the store (%d calls)", calls)
	}
	// A batch the store refuses is split: the culprit's caller gets the
	// error, the others' entries land, and nothing is spooled.
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := fmt.Sprintf("r-%d", i)
			if i == 7 {
				req = "poison"
			}
			errs[i] = w.Write(context.Background(), entry(req, 1))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		want := octomesh.ErrorCode("")
		if i == 7 {
			want = octomesh.EINVALID
		}
		if got := octomesh.ErrorCodeOf(err); got != want {
			t.Errorf("write %d = %v, want code %q", i, err, want)
		}
	}
	wantLedger(t, db, 19, 19)
	if st := w.Stats(); st.Spooled != 0 || st.Degraded {
		t.Errorf("stats = %+v", st)
	}
}

// TestRejectedOnReplay checks a spooled entry the store refuses is set
// aside rather than blocking the spool.
func TestRejectedOnReplay(t *testing.T) {
	db := openSQLite(t)
	store := &switchStore{LedgerStore: db}
	dir := t.TempDir()
	w := newWriter(t, store, Options{SpoolDir: dir, RetryMin: time.Hour, RetryMax: time.Hour})
	store.down.Store(true)
	if err := w.Write(context.Background(), entry("a", 1), entry("poison", 1), entry("b", 1)); err != nil {
		t.Fatal(err)
	}
	store.down.Store(false)
	if err := w.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantLedger(t, db, 2, 2)
	if st := w.Stats(); st.Rejected != 1 || st.Replayed != 2 || st.SpoolBytes != 0 {
		t.Errorf("stats = %+v", st)
	}
	b, err := os.ReadFile(filepath.Join(dir, rejectedFile))
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	if _, err := readSegment(bytes.NewReader(b), 10, func(es []octomesh.LedgerEntry) error {
		for _, e := range es {
			kept = append(kept, e.RequestID)
		}
		return nil
	}); err != nil || len(kept) != 1 || kept[0] != "poison" {
		t.Errorf("rejected.jsonl holds %v, %v", kept, err)
	}
}

func TestClose(t *testing.T) {
	db := openSQLite(t)
	store := &switchStore{LedgerStore: db}
	dir := t.TempDir()
	w, err := NewWriter(store, Options{SpoolDir: dir, RetryMin: time.Hour, RetryMax: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// Something spooled while the database was down is replayed by Close.
	store.down.Store(true)
	if err := w.Write(context.Background(), entry("spooled", 1)); err != nil {
		t.Fatal(err)
	}
	store.down.Store(false)
	errs := make(chan error, 32)
	for i := range 32 {
		go func() { errs <- w.Write(context.Background(), entry(fmt.Sprintf("r-%d", i), 1)) }()
	}
	for range 32 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantLedger(t, db, 33, 33)
	if files := spoolFiles(t, dir); len(files) != 0 {
		t.Errorf("spool files after Close = %v", files)
	}
	if err := w.Write(context.Background(), entry("late", 1)); octomesh.ErrorCodeOf(err) != octomesh.EUNAVAILABLE {
		t.Errorf("write after Close = %v, want EUNAVAILABLE", err)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// TestCloseKeepsTheSpool checks Close with the database still down leaves
// the spool for the next start.
func TestCloseKeepsTheSpool(t *testing.T) {
	db := openSQLite(t)
	store := &switchStore{LedgerStore: db}
	dir := t.TempDir()
	w, err := NewWriter(store, Options{SpoolDir: dir, RetryMin: time.Hour, RetryMax: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	store.down.Store(true)
	if err := w.Write(context.Background(), entry("a", 1), entry("b", 1)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if files := spoolFiles(t, dir); len(files) != 1 {
		t.Fatalf("spool files after Close = %v", files)
	}
	store.down.Store(false)
	w2 := newWriter(t, store, Options{SpoolDir: dir})
	if err := w2.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantLedger(t, db, 2, 2)
}

func TestWriteContext(t *testing.T) {
	db := openSQLite(t)
	w := newWriter(t, &slowStore{LedgerStore: db, delay: 200 * time.Millisecond}, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := w.Write(ctx, entry("slow", 1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Write with an expiring context = %v", err)
	}
	// The entry is still written; writing it again is harmless.
	if err := w.Write(context.Background(), entry("slow", 1)); err != nil {
		t.Fatal(err)
	}
	wantLedger(t, db, 1, 1)
}

type slowStore struct {
	octomesh.LedgerStore
	delay time.Duration
}

func (s *slowStore) AppendEntries(ctx context.Context, es []octomesh.LedgerEntry) (int, error) {
	time.Sleep(s.delay)
	return s.LedgerStore.AppendEntries(ctx, es)
}

// TestHungStore checks a store that hangs counts as failing after
// CommitTimeout: callers are released from the spool.
func TestHungStore(t *testing.T) {
	db := openSQLite(t)
	w := newWriter(t, &hungStore{LedgerStore: db}, Options{SpoolDir: t.TempDir(), CommitTimeout: 50 * time.Millisecond, RetryMin: time.Hour, RetryMax: time.Hour})
	start := time.Now()
	if err := w.Write(context.Background(), entry("r", 1)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Write took %v with a hung store", d)
	}
	if st := w.Stats(); st.Spooled != 1 || !st.Degraded {
		t.Errorf("stats = %+v", st)
	}
}

type hungStore struct{ octomesh.LedgerStore }

func (hungStore) AppendEntries(ctx context.Context, _ []octomesh.LedgerEntry) (int, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

// TestRecoveryOnStartWhileDown checks a crash's spool found while the
// database is still down is replayed once it returns, with no new writes
// to prompt it.
func TestRecoveryOnStartWhileDown(t *testing.T) {
	db := openSQLite(t)
	store := &switchStore{LedgerStore: db}
	dir := t.TempDir()
	w, err := NewWriter(store, Options{SpoolDir: dir, RetryMin: time.Hour, RetryMax: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	store.down.Store(true)
	noErrors(t, writeConcurrently(w, 4, 5))
	w.crash()
	w2 := newWriter(t, store, Options{SpoolDir: dir})
	deadline := time.Now().Add(10 * time.Second)
	for w2.Stats().StoreErrors < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // the start-up replay and a retry fail
	}
	store.down.Store(false)
	for len(spoolFiles(t, dir)) > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	wantLedger(t, db, 20, 20)
}

// crash stops the Writer as a crash would, for tests: goroutines end, no
// flush, no replay, the spool's files stay as they are.
func (w *Writer) crash() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.cancel()
	<-w.committerDone
	<-w.drainDone
	w.failQueued()
	if w.spool != nil {
		w.spool.mu.Lock()
		if w.spool.mapped != nil {
			unmapSegment(w.spool.mapped) // no truncate: the NUL tail stays, as after a kill
			w.spool.mapped = nil
		}
		if w.spool.active != nil {
			w.spool.active.Close() // no rotate: the file stays exactly as written
			w.spool.active = nil
		}
		w.spool.mu.Unlock()
	}
}
