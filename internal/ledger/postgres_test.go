package ledger

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/postgres"
	"github.com/octomesh/octomesh/internal/storetest"
)

// openPostgres opens a real PostgreSQL store on a fresh schema with the
// organisations org_a and org_b, and returns its DSN too.
func openPostgres(t testing.TB) (*postgres.DB, string) {
	t.Helper()
	dsn := storetest.PostgresDSN(t)
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	createOrgs(t, db)
	return db, dsn
}

func TestPostgresGroupCommit(t *testing.T) {
	db, _ := openPostgres(t)
	store := &switchStore{LedgerStore: db}
	w := newWriter(t, store, Options{SpoolDir: t.TempDir()})
	const writers, each = 64, 10
	noErrors(t, writeConcurrently(w, writers, each))
	wantLedger(t, db, writers*each, writers*each)
	calls := store.calls.Load()
	t.Logf("%d writes in %d transactions", writers*each, calls)
	if calls >= writers*each {
		t.Errorf("%d transactions for %d writes: no batching", calls, writers*each)
	}
}

// swapStore delegates to whichever store is current.
type swapStore struct {
	cur atomic.Pointer[octomesh.LedgerStore]
}

func (s *swapStore) set(st octomesh.LedgerStore) { s.cur.Store(&st) }

func (s *swapStore) AppendEntries(ctx context.Context, es []octomesh.LedgerEntry) (int, error) {
	return (*s.cur.Load()).AppendEntries(ctx, es)
}

func (s *swapStore) Entries(ctx context.Context, org string, f octomesh.EntryFilter) ([]octomesh.LedgerEntry, error) {
	return (*s.cur.Load()).Entries(ctx, org, f)
}

func (s *swapStore) UsageReport(ctx context.Context, org string, f octomesh.EntryFilter, g []octomesh.UsageGroup) ([]octomesh.UsageRow, error) {
	return (*s.cur.Load()).UsageReport(ctx, org, f, g)
}

func (s *swapStore) SpendSince(ctx context.Context, org string, sc octomesh.BudgetScope, sub string, since time.Time) (octomesh.Money, error) {
	return (*s.cur.Load()).SpendSince(ctx, org, sc, sub, since)
}

func (s *swapStore) Balance(ctx context.Context, org string) (octomesh.Money, error) {
	return (*s.cur.Load()).Balance(ctx, org)
}

// TestPostgresOutage points a Writer at a handle on the real server whose
// connections are closed (the shared server keeps running), then at a
// live one: every acknowledged entry lands exactly once.
func TestPostgresOutage(t *testing.T) {
	live, dsn := openPostgres(t)
	dead, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	dead.Close()
	store := &swapStore{}
	store.set(dead)
	dir := t.TempDir()
	w := newWriter(t, store, Options{SpoolDir: dir})

	const writers, each = 32, 5
	noErrors(t, writeConcurrently(w, writers, each))
	wantLedger(t, live, 0, 0)
	if st := w.Stats(); st.Spooled != writers*each || st.StoreErrors == 0 {
		t.Errorf("stats during the outage = %+v", st)
	}

	store.set(live)
	if err := w.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantLedger(t, live, writers*each, writers*each)
	// Writing the same entries again (a retry) adds nothing.
	noErrors(t, writeConcurrently(w, 4, 5)) // already stored: w0-0 … w3-4
	wantLedger(t, live, writers*each, writers*each)
	if files := spoolFiles(t, dir); len(files) != 0 {
		t.Errorf("spool files = %v", files)
	}
}
