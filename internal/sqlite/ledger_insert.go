package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"

	"github.com/octomesh/octomesh"
)

// Ledger batches go in as multi-row INSERTs: one statement per row cost
// the database/sql round trip, the driver's bind and context watch, and
// SQLite's statement start and end per entry.
//
// A batch of at most maxInsertRows entries is one statement, run on its
// own (autocommit), so it is its own transaction. Inside an explicit
// transaction SQLite keeps a statement journal for such a statement (a copy
// of each page it changes, so that it can undo that statement alone), and
// that journal spills to a temporary file past 64 KiB. A larger batch runs
// statements of maxInsertRows in one transaction.
//
// Each statement has a fixed row count from insertSizes, the smallest that
// holds the batch; the rows past the batch are NULL, and the statement's
// WHERE skips them (no organisation has a NULL id).
var insertSizes = [...]int{1, 2, 4, 8, 16, 32, 64, 128, 256, maxInsertRows}

// maxInsertRows is the largest statement's row count: the ledger writer's
// default batch size, so its batches are one statement.
const maxInsertRows = 512

// ledgerColCount is the number of columns in ledgerCols: the parameters
// per row of an insert.
const ledgerColCount = 21

// insertEntriesSQL is the INSERT of rows entries. It skips an entry already
// stored, and one whose organisation does not exist (erasure wins over late
// usage). Rows go in in order, so an entry repeated within a batch is
// stored once (its first copy) and seq follows the batch's order. The
// VALUES columns are ledgerCols in order, so column1 is org_id.
func insertEntriesSQL(rows int) string {
	row := "(?" + strings.Repeat(", ?", ledgerColCount-1) + ")"
	cols := make([]string, ledgerColCount)
	for i := range cols {
		cols[i] = fmt.Sprintf("column%d", i+1)
	}
	return `INSERT INTO ledger (` + ledgerCols + `)
	SELECT ` + strings.Join(cols, ", ") + ` FROM (VALUES ` + row + strings.Repeat(", "+row, rows-1) + `)
	WHERE EXISTS (SELECT 1 FROM orgs WHERE id = column1)
	ON CONFLICT (org_id, request_id, attempt, kind) DO NOTHING`
}

// ledgerInserts prepares the INSERT of each size in insertSizes on first
// use and keeps it: database/sql prepares a statement on a pooled
// connection the first time it runs there, and keeps it, so a ledger
// commit parses no SQL. Only the sizes a database sees are prepared (the
// largest takes milliseconds). It is safe for concurrent use.
type ledgerInserts struct {
	db    *sql.DB
	mu    sync.Mutex
	stmts [len(insertSizes)]*sql.Stmt
}

// stmt returns the INSERT of insertSizes[i] rows.
func (s *ledgerInserts) stmt(ctx context.Context, i int) (*sql.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stmts[i] == nil {
		stmt, err := s.db.PrepareContext(ctx, insertEntriesSQL(insertSizes[i]))
		if err != nil {
			return nil, fmt.Errorf("prepare: %w", err)
		}
		s.stmts[i] = stmt
	}
	return s.stmts[i], nil
}

func (s *ledgerInserts) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, stmt := range s.stmts {
		if stmt != nil {
			stmt.Close()
		}
	}
}

// sizeFor returns the index in insertSizes of the smallest statement that
// holds n ≤ maxInsertRows entries.
func sizeFor(n int) int {
	i := 0
	for insertSizes[i] < n {
		i++
	}
	return i
}

// insert stores entries (already valid, at least one) and returns how many
// were new.
func (s *ledgerInserts) insert(ctx context.Context, entries []octomesh.LedgerEntry) (int, error) {
	if len(entries) > maxInsertRows {
		return s.insertTx(ctx, entries)
	}
	i := sizeFor(len(entries))
	stmt, err := s.stmt(ctx, i)
	if err != nil {
		return 0, err
	}
	return exec(ctx, stmt, insertSizes[i], make([]any, 0, insertSizes[i]*ledgerColCount), entries)
}

// insertTx stores more than maxInsertRows entries in one transaction,
// maxInsertRows at a time.
func (s *ledgerInserts) insertTx(ctx context.Context, entries []octomesh.LedgerEntry) (int, error) {
	// Both statements are prepared before the transaction begins:
	// preparing takes a connection of its own.
	full, err := s.stmt(ctx, len(insertSizes)-1)
	if err != nil {
		return 0, err
	}
	var rest *sql.Stmt // for the entries after the last full statement
	restRows := 0
	if r := len(entries) % maxInsertRows; r > 0 {
		i := sizeFor(r)
		if rest, err = s.stmt(ctx, i); err != nil {
			return 0, err
		}
		restRows = insertSizes[i]
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	args := make([]any, 0, maxInsertRows*ledgerColCount)
	n := 0
	for len(entries) > 0 {
		stmt, rows := full, maxInsertRows
		if len(entries) < maxInsertRows {
			stmt, rows = rest, restRows
		}
		batch := entries[:min(len(entries), rows)]
		entries = entries[len(batch):]
		k, err := exec(ctx, tx.StmtContext(ctx, stmt), rows, args, batch)
		if err != nil {
			return 0, err
		}
		n += k
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	return n, nil
}

// exec runs stmt, the INSERT of rows ≥ len(entries) rows, with entries and
// NULL rows after them, in args' memory, and returns how many were new.
func exec(ctx context.Context, stmt *sql.Stmt, rows int, args []any, entries []octomesh.LedgerEntry) (int, error) {
	args = args[:0]
	var prev *octomesh.LedgerEntry
	for i := range entries {
		args = appendEntryArgs(args, &entries[i], prev)
		prev = &entries[i]
	}
	args = args[:rows*ledgerColCount]
	clear(args[len(entries)*ledgerColCount:])
	res, err := stmt.ExecContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// appendEntryArgs appends e's values in ledgerCols order. Integers go in as
// int64, which the driver binds as they are (an int would be converted
// through reflection). A text value equal to the previous row's, prev's
// (nil for the first row), reuses its interface value: boxing a string
// allocates, and a batch's entries mostly share their organisation, kind,
// key, model, provider and outcome.
func appendEntryArgs(args []any, e, prev *octomesh.LedgerEntry) []any {
	first := prev == nil
	var last []any // prev's values
	if first {
		prev = e // text ignores it
	} else {
		last = args[len(args)-ledgerColCount:]
	}
	text := func(col int, s, was string) any {
		if !first && s == was {
			return last[col]
		}
		return s
	}
	return append(args, text(0, e.OrgID, prev.OrgID), text(1, string(e.Kind), string(prev.Kind)), e.RequestID,
		int64(e.Attempt), text(4, e.KeyID, prev.KeyID), text(5, e.UserID, prev.UserID), text(6, e.Project, prev.Project),
		text(7, e.Deployment, prev.Deployment), text(8, e.Provider, prev.Provider), text(9, e.PriceVersion, prev.PriceVersion),
		e.PromptTokens, e.CompletionTokens, e.CachedTokens, e.CacheWriteTokens, e.Estimated, int64(e.Cost),
		text(16, e.Outcome, prev.Outcome), e.Ref, e.Note, nanos(e.Start), nanos(e.End))
}
