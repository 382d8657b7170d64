package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	msqlite "modernc.org/sqlite"

	"github.com/octomesh/octomesh"
)

// The tests here check AppendEntries' multi-row statements: batch sizes on
// both sides of each statement size and of maxInsertRows (past which a
// batch takes several statements in one transaction), duplicates within a
// batch and against stored rows, and entries of a missing organisation
// anywhere in a batch.

// ledgerDB opens a database with organisations "o" and "p".
func ledgerDB(t *testing.T) *DB {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "o.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, id := range []string{"o", "p"} {
		if err := db.CreateOrg(ctx, &octomesh.Org{ID: id, Name: strings.ToUpper(id)}, &octomesh.User{ID: "u_" + id, Name: "U"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// testEntry is entry i of org: every column differs from entry to entry,
// so values landing in the wrong column or row show.
func testEntry(org, tag string, i int) octomesh.LedgerEntry {
	start := time.Unix(1700000000, 0).Add(time.Duration(i) * time.Second).UTC()
	e := octomesh.LedgerEntry{OrgID: org, RequestID: fmt.Sprintf("%s_%d", tag, i), Attempt: i % 4,
		KeyID: fmt.Sprint("key_", i), UserID: fmt.Sprint("user_", i), Project: fmt.Sprint("proj_", i),
		Deployment: fmt.Sprint("model_", i), Provider: fmt.Sprint("prov_", i), PriceVersion: fmt.Sprint("v", i),
		PromptTokens: int64(1000 + i), CompletionTokens: int64(2000 + i), CachedTokens: int64(i), CacheWriteTokens: int64(i / 2),
		Estimated: i%2 == 1, Outcome: fmt.Sprint("out_", i), Ref: fmt.Sprint("ref_", i), Note: fmt.Sprint("note ", i),
		Start: start, End: start.Add(time.Duration(i) * time.Millisecond)}
	switch i % 3 {
	case 0:
		e.Kind, e.Cost = octomesh.EntryUsage, octomesh.Money(1_000_000_007*int64(i))
	case 1:
		e.Kind, e.Cost = octomesh.EntryCorrection, octomesh.Money(-3*int64(i))
	case 2:
		e.Kind, e.Cost = octomesh.EntryTopUp, octomesh.Money(-5*int64(i)-1)
	}
	return e
}

func testEntries(org, tag string, n int) []octomesh.LedgerEntry {
	es := make([]octomesh.LedgerEntry, n)
	for i := range es {
		es[i] = testEntry(org, tag, i)
	}
	return es
}

// storedEntries returns every ledger row in seq order.
func storedEntries(t *testing.T, db *DB) []octomesh.LedgerEntry {
	t.Helper()
	rows, err := db.db.Query(`SELECT seq, ` + ledgerCols + ` FROM ledger ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []octomesh.LedgerEntry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// entryKey is an entry's identity in the ledger.
type entryKey struct {
	org, request string
	attempt      int
	kind         octomesh.EntryKind
}

// wantNew is the reference for AppendEntries: the entries of batch that
// are new, in batch order, given the stored ones and the organisations
// that exist.
func wantNew(stored, batch []octomesh.LedgerEntry, orgs ...string) []octomesh.LedgerEntry {
	exists := map[string]bool{}
	for _, o := range orgs {
		exists[o] = true
	}
	seen := map[entryKey]bool{}
	for _, e := range stored {
		seen[entryKey{e.OrgID, e.RequestID, e.Attempt, e.Kind}] = true
	}
	var out []octomesh.LedgerEntry
	for _, e := range batch {
		k := entryKey{e.OrgID, e.RequestID, e.Attempt, e.Kind}
		if seen[k] || !exists[e.OrgID] {
			continue
		}
		seen[k] = true
		out = append(out, e)
	}
	return out
}

// appendAndCheck appends batch and checks the count and the rows against
// wantNew.
func appendAndCheck(t *testing.T, db *DB, batch []octomesh.LedgerEntry) {
	t.Helper()
	before := storedEntries(t, db)
	want := wantNew(before, batch, "o", "p")
	n, err := db.AppendEntries(context.Background(), batch)
	if err != nil || n != len(want) {
		t.Fatalf("AppendEntries(%d entries) = %d, %v; want %d new", len(batch), n, err, len(want))
	}
	got := storedEntries(t, db)
	if diff := cmp.Diff(append(before, want...), got, cmpopts.IgnoreFields(octomesh.LedgerEntry{}, "Seq")); diff != "" {
		t.Fatalf("stored after AppendEntries(%d entries) (-want +got):\n%s", len(batch), diff)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq {
			t.Fatalf("seq %d after %d: not increasing", got[i].Seq, got[i-1].Seq)
		}
	}
}

func TestAppendEntriesBatchSizes(t *testing.T) {
	sizes := []int{200, maxInsertRows + 1, 2*maxInsertRows + 77}
	for _, n := range insertSizes {
		sizes = append(sizes, n-1, n, n+1)
	}
	slices.Sort(sizes)
	for _, size := range slices.Compact(sizes)[1:] { // not 0
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			db := ledgerDB(t)
			batch := testEntries("o", "r", size)
			appendAndCheck(t, db, batch)
			// The same batch again stores nothing.
			if n, err := db.AppendEntries(context.Background(), batch); err != nil || n != 0 {
				t.Errorf("AppendEntries(same batch) = %d, %v; want 0 new", n, err)
			}
			if got := len(storedEntries(t, db)); got != size {
				t.Errorf("%d rows after appending the same batch twice, want %d", got, size)
			}
		})
	}
}

// TestAppendEntriesSkips mixes, in batches of one statement and of
// several, entries already stored, repeats within the batch (a repeat with
// other values loses to the first copy), and entries of an organisation
// that does not exist, at the start, in the middle and at the end.
func TestAppendEntriesSkips(t *testing.T) {
	for _, size := range []int{3, 65, 200, maxInsertRows + 1, 1300} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			db := ledgerDB(t)
			all := testEntries("o", "r", size)
			stored := append([]octomesh.LedgerEntry{}, all[size/3:size/2+1]...)
			appendAndCheck(t, db, stored)

			batch := append([]octomesh.LedgerEntry{}, all...)
			for _, i := range []int{0, size / 2, size - 1} {
				batch[i].OrgID = "missing"
			}
			repeat := all[size-2] // a repeat of an entry of this batch, at its start
			repeat.Note, repeat.PromptTokens = "second copy", 1
			batch = append([]octomesh.LedgerEntry{repeat}, batch...)
			other := testEntry("p", "r", 1) // another organisation's entry with the same identity
			batch = append(batch[:size/4], append([]octomesh.LedgerEntry{other, all[1], other}, batch[size/4:]...)...)
			appendAndCheck(t, db, batch)
		})
	}
}

// TestAppendEntriesAllOrNothing fails an insert late in a batch (a trigger
// aborts it) and checks nothing of the batch was stored, whether the batch
// is one statement or several.
func TestAppendEntriesAllOrNothing(t *testing.T) {
	for _, size := range []int{200, maxInsertRows + 1, 1300} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			db := ledgerDB(t)
			if _, err := db.db.Exec(`CREATE TRIGGER ledger_boom BEFORE INSERT ON ledger WHEN NEW.request_id = 'boom'
				BEGIN SELECT RAISE(ABORT, 'boom'); END`); err != nil {
				t.Fatal(err)
			}
			appendAndCheck(t, db, testEntries("o", "old", 5))
			batch := testEntries("o", "r", size)
			batch[size-2].RequestID = "boom"
			if n, err := db.AppendEntries(context.Background(), batch); err == nil || !strings.Contains(err.Error(), "boom") {
				t.Fatalf("AppendEntries = %d, %v; want the trigger's error", n, err)
			}
			if got := len(storedEntries(t, db)); got != 5 {
				t.Errorf("%d rows after a failed batch, want the 5 stored before", got)
			}
		})
	}
}

// TestAppendEntriesInvalid checks an invalid entry anywhere in a batch
// fails it with EINVALID before anything is stored.
func TestAppendEntriesInvalid(t *testing.T) {
	db := ledgerDB(t)
	batch := testEntries("o", "r", maxInsertRows+10)
	batch[len(batch)-1].Attempt = -1
	if n, err := db.AppendEntries(context.Background(), batch); octomesh.ErrorCodeOf(err) != octomesh.EINVALID || n != 0 {
		t.Fatalf("AppendEntries with an invalid entry = %d, %v; want EINVALID", n, err)
	}
	if got := len(storedEntries(t, db)); got != 0 {
		t.Errorf("%d rows after an invalid batch, want 0", got)
	}
}

// TestAppendEntriesRepeatedValues stores batches whose text columns repeat
// from row to row, each changing on its own period (empty strings among
// the values), since a value equal to the previous row's reuses its
// argument, and one equal to the first entry's is left NULL for the
// statement's default: once with an empty first entry, once (the batch
// reversed) with texts in the first entry and empty ones after.
func TestAppendEntriesRepeatedValues(t *testing.T) {
	text := func(i, period int) string {
		if v := i / period % 3; v > 0 {
			return fmt.Sprint("t", v)
		}
		return ""
	}
	for _, reversed := range []bool{false, true} {
		for _, lean := range []bool{false, true} {
			t.Run(fmt.Sprint("reversed=", reversed, "/lean=", lean), func(t *testing.T) {
				db := ledgerDB(t)
				batch := testEntries("o", "r", 300)
				if lean {
					batch = leanEntries("o", "r", 300)
				}
				for i := range batch {
					e := &batch[i]
					if i%7 == 3 {
						e.OrgID = "p"
					}
					e.KeyID, e.UserID, e.Project, e.Deployment = text(i, 1), text(i, 2), text(i, 3), text(i, 4)
					e.Provider, e.PriceVersion, e.Outcome = text(i, 5), text(i, 6), text(i, 7)
					if !lean {
						e.Ref, e.Note = text(i, 8), text(i, 9)
					}
				}
				if reversed {
					slices.Reverse(batch)
				}
				appendAndCheck(t, db, batch)
				if got := db.ledgerInserts.stmts[1][sizeFor(300)] != nil; got != lean {
					t.Errorf("the lean statement was prepared: %v, want %v", got, lean)
				}
			})
		}
	}
}

// leanEntries is testEntries with the values that the lean shape binds
// once the same in every entry, and not their columns' defaults, so that
// such a value in the wrong place shows: usage entries, all estimated,
// with the same cache writes, reference and note.
func leanEntries(org, tag string, n int) []octomesh.LedgerEntry {
	es := testEntries(org, tag, n)
	for i := range es {
		e := &es[i]
		e.Kind, e.Cost = octomesh.EntryUsage, octomesh.Money(1_000_000_007*int64(i))
		e.CacheWriteTokens, e.Estimated, e.Ref, e.Note = 11, true, "ref", "a note"
	}
	return es
}

// TestAppendEntriesLean stores batches whose entries allow the lean shape,
// and batches whose last entry differs in one of the values it binds once
// (so that they take the full one), in statements of several sizes and
// across statements: a batch of several takes the shape statement by
// statement.
func TestAppendEntriesLean(t *testing.T) {
	breaks := []struct {
		name string
		set  func(e *octomesh.LedgerEntry)
	}{
		{"none", nil},
		{"kind", func(e *octomesh.LedgerEntry) { e.Kind, e.Cost = octomesh.EntryCorrection, -3 }},
		{"cache_write_tokens", func(e *octomesh.LedgerEntry) { e.CacheWriteTokens = 0 }},
		{"estimated", func(e *octomesh.LedgerEntry) { e.Estimated = false }},
		{"ref", func(e *octomesh.LedgerEntry) { e.Ref = "" }},
		{"note", func(e *octomesh.LedgerEntry) { e.Note = "another" }},
	}
	for _, size := range []int{2, 65, 200, maxInsertRows + 2, 2*maxInsertRows + 77} { // a lone entry takes lean whatever its values
		for _, b := range breaks {
			t.Run(fmt.Sprint(size, "/", b.name), func(t *testing.T) {
				db := ledgerDB(t)
				batch := leanEntries("o", "r", size)
				if size > 2 {
					batch[size/2].OrgID = "missing"
					batch[size/3].OrgID = "p"
				}
				if b.set != nil {
					b.set(&batch[size-1])
				}
				appendAndCheck(t, db, batch)
				first, last := min(size, maxInsertRows), (size-1)%maxInsertRows+1 // the first statement's entries, the last's
				if got, want := db.ledgerInserts.stmts[1][sizeFor(first)] != nil, b.set == nil || size > maxInsertRows; got != want {
					t.Errorf("the lean statement of the first %d entries was prepared: %v, want %v", first, got, want)
				}
				if got, want := db.ledgerInserts.stmts[0][sizeFor(last)] != nil, b.set != nil; got != want {
					t.Errorf("the full statement of the last %d entries was prepared: %v, want %v", last, got, want)
				}
			})
		}
	}
}

// TestAppendEntriesOneConnection appends a batch of several statements,
// none prepared yet, with a pool of one connection: they are prepared, and
// the transaction runs, on the inserts' own connection.
func TestAppendEntriesOneConnection(t *testing.T) {
	db := ledgerDB(t)
	db.db.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if n, err := db.AppendEntries(ctx, testEntries("o", "r", maxInsertRows+3)); err != nil || n != maxInsertRows+3 {
		t.Fatalf("AppendEntries = %d, %v; want %d new", n, err, maxInsertRows+3)
	}
}

// cancelRunning is what the SQL function test_cancel() calls (nothing when
// nil): TestAppendEntriesInterrupted's trigger ends its batch's context with
// it, from inside the batch's statement.
var cancelRunning atomic.Pointer[context.CancelFunc]

func init() {
	msqlite.MustRegisterScalarFunction("test_cancel", 0, func(*msqlite.FunctionContext, []driver.Value) (driver.Value, error) {
		if cancel := cancelRunning.Load(); cancel != nil {
			(*cancel)()
		}
		return nil, nil
	})
}

// TestAppendEntriesInterrupted ends a batch's context while its statement
// runs (a trigger ends it, then keeps the statement busy), so that the
// driver interrupts it: nothing of the batch is stored, the context's error
// is returned, and the next batch goes in (on another connection:
// database/sql drops an interrupted one, and so does AppendEntries).
//
// The trigger ends the context, not a timer, so that it ends while the
// statement steps. A 100 ms timer ended now and then (half the runs on a
// busy machine, under -race) before that: while the statement was prepared
// or its 2,688 arguments bound. That leaves no interrupt pending on the
// connection (the driver returns the context's error before stepping, or
// SQLite clears the interrupt when the statement starts with none running,
// and the driver's progress handler stops it instead), so the driver
// rightly reports the connection valid, AppendEntries keeps it, and the
// check below failed.
func TestAppendEntriesInterrupted(t *testing.T) {
	db := ledgerDB(t)
	if _, err := db.db.Exec(`CREATE TRIGGER ledger_slow BEFORE INSERT ON ledger WHEN NEW.request_id = 'slow'
		BEGIN SELECT test_cancel(); SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) SELECT x FROM c); END`); err != nil {
		t.Fatal(err)
	}
	batch := testEntries("o", "r", 100)
	batch[50].RequestID = "slow"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cancelRunning.Store(&cancel)
	defer cancelRunning.Store(nil)
	if n, err := db.AppendEntries(ctx, batch); !errors.Is(err, context.Canceled) {
		t.Fatalf("AppendEntries with a statement outliving its context = %d, %v; want the context's error", n, err)
	}
	if got := len(storedEntries(t, db)); got != 0 {
		t.Errorf("%d rows after an interrupted batch, want 0", got)
	}
	if db.ledgerInserts.conn != nil {
		t.Error("the interrupted connection is kept")
	}
	if _, err := db.db.Exec(`DROP TRIGGER ledger_slow`); err != nil {
		t.Fatal(err)
	}
	appendAndCheck(t, db, batch)
}

// TestAppendEntriesWaitsWithContext checks a batch waiting for another's
// turn gives up when its context ends.
func TestAppendEntriesWaitsWithContext(t *testing.T) {
	db := ledgerDB(t)
	if err := db.ledgerInserts.lock(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if n, err := db.AppendEntries(ctx, testEntries("o", "r", 3)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("AppendEntries while another batch runs = %d, %v; want the context's error", n, err)
	}
	db.ledgerInserts.unlock()
	appendAndCheck(t, db, testEntries("o", "r", 3))
}

// TestAppendEntriesConcurrent appends batches of several sizes from several
// goroutines at once (run it with -race).
func TestAppendEntriesConcurrent(t *testing.T) {
	db := ledgerDB(t)
	var wg sync.WaitGroup
	want := 0
	for g := range 6 {
		size := []int{1, 7, 100, 130, 600, 3}[g]
		want += 5 * size
		wg.Go(func() {
			for b := range 5 {
				batch := testEntries("o", fmt.Sprintf("g%d_b%d", g, b), size)
				if n, err := db.AppendEntries(context.Background(), batch); err != nil || n != size {
					t.Errorf("AppendEntries(%d entries) = %d, %v; want %d new", size, n, err, size)
				}
			}
		})
	}
	wg.Wait()
	if got := len(storedEntries(t, db)); got != want {
		t.Errorf("%d rows after concurrent batches, want %d", got, want)
	}
}

// TestAppendEntriesAfterClose checks a batch fails once the inserts are
// closed, before the pool is (DB.Close closes both, in this order): it must
// not take a connection that the pool's Close would leave open.
func TestAppendEntriesAfterClose(t *testing.T) {
	db := ledgerDB(t)
	appendAndCheck(t, db, testEntries("o", "r", 3))
	db.ledgerInserts.close()
	if n, err := db.AppendEntries(context.Background(), testEntries("o", "s", 3)); err == nil {
		t.Errorf("AppendEntries after close = %d, nil; want an error", n)
	}
}

// TestLedgerConstraints checks the ledger's CHECK constraints and foreign
// keys are those that the inserts' connection may leave unchecked (see
// insertPragmas): the kind, which AppendEntries validates, and the
// organisation, which the statement looks up. A new one fails here: it
// needs a check of its own before the insert, or insertPragmas changed.
func TestLedgerConstraints(t *testing.T) {
	db := ledgerDB(t)
	var schema string
	if err := db.db.QueryRow(`SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'ledger'`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Count(strings.ToUpper(schema), "CHECK"), 1; got != want {
		t.Errorf("the ledger has %d CHECK constraints, want %d:\n%s", got, want, schema)
	}
	if !strings.Contains(schema, "CHECK (kind IN ('usage', 'correction', 'topup'))") {
		t.Errorf("the ledger's CHECK is not the kind's:\n%s", schema)
	}
	for _, k := range []octomesh.EntryKind{octomesh.EntryUsage, octomesh.EntryCorrection, octomesh.EntryTopUp, "other"} {
		if !k.Valid() != (k == "other") {
			t.Errorf("EntryKind(%q).Valid() = %v, the CHECK's answer differs", k, k.Valid())
		}
	}
	rows, err := db.db.Query(`SELECT "table", "from", "to" FROM pragma_foreign_key_list('ledger')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var fks []string
	for rows.Next() {
		var table, from, to string
		if err := rows.Scan(&table, &from, &to); err != nil {
			t.Fatal(err)
		}
		fks = append(fks, from+" → "+table+"."+to)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"org_id → orgs.id"}, fks); diff != "" {
		t.Errorf("the ledger's foreign keys (-want +got):\n%s", diff)
	}
}

// TestLedgerPragmasStayOnTheInsertConnection checks every connection the
// pool hands out still enforces CHECK constraints and foreign keys, while
// the inserts hold theirs and after they close it.
func TestLedgerPragmasStayOnTheInsertConnection(t *testing.T) {
	db := ledgerDB(t)
	db.db.SetMaxIdleConns(100) // so that the pool would keep it
	ctx := context.Background()
	checkPool := func(when string) {
		t.Helper()
		conns := make([]*sql.Conn, db.db.Stats().Idle+1) // every idle one and a new one
		for i := range conns {
			c, err := db.db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			conns[i] = c
		}
		for i, c := range conns {
			var fk, ignore int
			if err := c.QueryRowContext(ctx, `SELECT * FROM pragma_foreign_keys, pragma_ignore_check_constraints`).Scan(&fk, &ignore); err != nil {
				t.Fatal(err)
			}
			if fk != 1 || ignore != 0 {
				t.Errorf("%s: connection %d of the pool has foreign_keys = %d, ignore_check_constraints = %d; want 1, 0", when, i, fk, ignore)
			}
		}
	}
	appendAndCheck(t, db, testEntries("o", "r", 3))
	checkPool("with the inserts' connection held")
	db.ledgerInserts.close()
	checkPool("after the inserts closed")
}
