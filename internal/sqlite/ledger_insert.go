package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
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
// WHERE skips them (no organisation has a NULL id). A NULL row costs about
// a quarter of an entry (binding its 21 NULLs, mostly), so the sizes grow
// by half, not double: at most a third of a statement's rows are padding,
// not a half (130 entries: 192 rows, not 256). Each size prepared takes
// about 2 KiB of SQLite's memory per row.
var insertSizes = [...]int{1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, maxInsertRows}

// maxInsertRows is the largest statement's row count: the ledger writer's
// default batch size, so its batches are one statement.
const maxInsertRows = 512

// ledgerColCount is the number of columns in ledgerCols.
const ledgerColCount = 21

// hasDefault marks the columns (ledgerCols order) with a default: one of
// the statement's lead parameters (insertShape) holds the first entry's
// value, and a row leaves NULL a value equal to its column's default. A
// NULL binds without what a text costs besides (some 550 instructions:
// the driver copies it into C memory, and afterwards unbinds and frees
// it), and most of a batch's texts repeat. They are the
// texts but org_id (NULL marks a padding row) and request_id (unique).
var hasDefault = [ledgerColCount]bool{1: true, 4: true, 5: true, 6: true, 7: true, 8: true, 9: true, 16: true, 17: true, 18: true}

// insertShape is the layout of an INSERT's parameters: first one for each
// column of lead, in ledgerCols order, then one per row for each column of
// perRow. A lead column is one with a default (hasDefault), or one bound
// once for the whole batch (once).
type insertShape struct {
	once   [ledgerColCount]bool
	lead   []int
	perRow []int
}

func newInsertShape(once [ledgerColCount]bool) *insertShape {
	sh := &insertShape{once: once}
	for c := range ledgerColCount {
		if once[c] || hasDefault[c] {
			sh.lead = append(sh.lead, c)
		}
		if !once[c] {
			sh.perRow = append(sh.perRow, c)
		}
	}
	return sh
}

// insertShapes are the two layouts of a statement: every column per row,
// and lean, where the columns that gateway traffic leaves the same in
// every entry (kind, cache_write_tokens, estimated, ref and note) are
// bound once for the batch. A batch whose entries share those values
// takes lean: a column bound per row costs about 570 instructions a row
// even when NULL (binding it, and copying it through the statement's
// registers), so lean saves 2,860 of 52,730 an entry (valgrind's count,
// BenchmarkAppendEntries128). Each shape's statements are prepared when
// first used: a steady kind of traffic uses one.
var insertShapes = [2]*insertShape{
	newInsertShape([ledgerColCount]bool{}),
	newInsertShape([ledgerColCount]bool{1: true, 13: true, 14: true, 17: true, 18: true}),
}

// lean reports whether entries share the values that the lean shape binds
// once.
func lean(entries []octomesh.LedgerEntry) bool {
	f := &entries[0]
	for i := range entries {
		e := &entries[i]
		if e.Kind != f.Kind || e.CacheWriteTokens != f.CacheWriteTokens || e.Estimated != f.Estimated || e.Ref != f.Ref || e.Note != f.Note {
			return false
		}
	}
	return true
}

// insertEntriesSQL is the INSERT of rows entries in shape sh. It skips an
// entry already stored, and one whose organisation does not exist (erasure
// wins over late usage). Rows go in in order, so an entry repeated within
// a batch is stored once (its first copy) and seq follows the batch's
// order. The VALUES columns are sh.perRow in order, so column1 is org_id;
// their parameters follow the lead's.
func insertEntriesSQL(rows int, sh *insertShape) string {
	row := "(?" + strings.Repeat(", ?", len(sh.perRow)-1) + ")"
	cols := make([]string, ledgerColCount)
	for k, c := range sh.perRow {
		cols[c] = fmt.Sprintf("column%d", k+1)
		if hasDefault[c] {
			// An anonymous parameter: SQLite numbers them in the order
			// they appear, so the lead's come first. A numbered one
			// (?1) costs more: with one in the statement, SQLite looks
			// up every parameter's name, which the driver asks for, in
			// a list.
			cols[c] = fmt.Sprintf("coalesce(column%d, ?)", k+1)
		}
	}
	for c := range ledgerColCount {
		if sh.once[c] {
			cols[c] = "?"
		}
	}
	return `INSERT INTO ledger (` + ledgerCols + `)
	SELECT ` + strings.Join(cols, ", ") + ` FROM (VALUES ` + row + strings.Repeat(", "+row, rows-1) + `)
	WHERE EXISTS (SELECT 1 FROM orgs WHERE id = column1)
	ON CONFLICT (org_id, request_id, attempt, kind) DO NOTHING`
}

// ledgerInserts runs the INSERTs on a connection of its own, on the
// driver's connection itself (sql.Conn.Raw): through database/sql, each
// statement converted and checked every argument (thousands of them) and
// copied them into a new slice, and that bookkeeping cost as much CPU as
// binding them. Here the arguments are written straight into one
// []driver.NamedValue that is kept from batch to batch.
//
// The statements of the sizes in insertSizes are prepared on first use and
// kept (only the sizes a database sees: the largest takes milliseconds to
// prepare). The connection is held from the first insert until close, or
// until it goes bad (see insert); the pool has one connection less for
// everything else meanwhile. It is safe for concurrent use: inserts take
// turns (SQLite runs one writer at a time anyway).
type ledgerInserts struct {
	db *sql.DB

	once sync.Once
	turn chan struct{} // held by the insert running; a channel, so that waiting for it ends with the context

	// Guarded by turn.
	conn   *sql.Conn // nil before the first insert and after a bad connection
	stmts  [len(insertShapes)][len(insertSizes)]driver.Stmt
	args   []driver.NamedValue // the largest statement's so far, Ordinals set, Values nil between inserts
	closed bool
}

// insertPragmas set up the inserts' connection, which never goes back to
// the pool with them (close and a bad connection close it).
//
// They drop two checks of every row that the statement makes already
// (instructions per entry of BenchmarkAppendEntries128, counted by
// valgrind: 62,100 → 52,700):
//   - the ledger's CHECK (kind IN (...)): SQLite builds a CHECK's IN list
//     of three or more as a temporary table, anew for every row (12%).
//     AppendEntries validates every entry first, the kind among the rest,
//     and the kind is the ledger's only CHECK;
//   - its foreign key, a lookup in orgs per row (3%): the statement's
//     WHERE EXISTS makes the same lookup and skips the entry, in the same
//     statement, so the organisation cannot go in between.
//
// TestLedgerConstraints fails if the ledger gains a CHECK or a foreign key
// that this does not cover. NOT NULL and UNIQUE still hold: these pragmas
// do not touch them.
var insertPragmas = []string{"PRAGMA ignore_check_constraints = ON", "PRAGMA foreign_keys = OFF"}

// errClosed is the error of an insert after close.
var errClosed = errors.New("the database is closed")

// lock waits for the inserts' turn, or for ctx to end.
func (s *ledgerInserts) lock(ctx context.Context) error {
	s.once.Do(func() { s.turn = make(chan struct{}, 1) })
	select {
	case s.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *ledgerInserts) unlock() { <-s.turn }

// close finalizes the statements and closes the connection (not back to
// the pool, with insertPragmas set); later inserts fail.
func (s *ledgerInserts) close() {
	s.lock(context.Background())
	defer s.unlock()
	s.closed = true
	if s.conn != nil {
		s.conn.Raw(func(any) error {
			s.closeStmts()
			return driver.ErrBadConn // Raw closes it
		})
		s.conn = nil
	}
}

// closeStmts finalizes the statements (before their connection closes:
// SQLite keeps a connection with statements left open until they are).
func (s *ledgerInserts) closeStmts() {
	for k := range s.stmts {
		for i, st := range s.stmts[k] {
			if st != nil {
				st.Close()
				s.stmts[k][i] = nil
			}
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
// were new. Its errors are the driver's, as database/sql would return them.
func (s *ledgerInserts) insert(ctx context.Context, entries []octomesh.LedgerEntry) (int, error) {
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	defer s.unlock()
	if s.closed {
		return 0, errClosed
	}
	if s.conn == nil {
		c, err := s.db.Conn(ctx)
		if err != nil {
			return 0, err
		}
		for _, p := range insertPragmas {
			if _, err := c.ExecContext(ctx, p); err != nil {
				c.Raw(func(any) error { return driver.ErrBadConn }) // not back to the pool half set
				return 0, fmt.Errorf("set up the ledger connection: %w", err)
			}
		}
		s.conn = c
	}
	var n int
	var err error
	rawErr := s.conn.Raw(func(dc any) error {
		n, err = s.insertOn(ctx, dc.(driver.Conn), entries)
		if v, ok := dc.(driver.Validator); ok && err != nil && !v.IsValid() {
			// As database/sql would, drop the connection: one whose
			// statement the context's end interrupted, for one.
			s.closeStmts()
			return driver.ErrBadConn // Raw closes it
		}
		return nil
	})
	if rawErr != nil {
		// Raw has closed the connection (on ErrBadConn, after the
		// function finalized the statements, or else it was closed).
		s.conn, s.stmts = nil, [len(insertShapes)][len(insertSizes)]driver.Stmt{}
		if err == nil {
			err = rawErr
		}
	}
	return n, err
}

// insertOn is insert on the driver's connection c.
func (s *ledgerInserts) insertOn(ctx context.Context, c driver.Conn, entries []octomesh.LedgerEntry) (int, error) {
	if len(entries) <= maxInsertRows {
		return s.exec(ctx, c, sizeFor(len(entries)), entries)
	}
	// More than one statement: one transaction. database/sql's would
	// roll back once ctx ends; this one is rolled back on any error.
	tx, err := c.(driver.ConnBeginTx).BeginTx(ctx, driver.TxOptions{})
	if err != nil {
		return 0, err
	}
	committed := false
	defer func() {
		if !committed {
			tx.Rollback()
		}
	}()
	n := 0
	for len(entries) > 0 {
		batch := entries[:min(len(entries), maxInsertRows)]
		entries = entries[len(batch):]
		k, err := s.exec(ctx, c, sizeFor(len(batch)), batch)
		if err != nil {
			return 0, err
		}
		n += k
	}
	if err := ctx.Err(); err != nil { // database/sql's Commit refuses too
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	committed = true
	return n, nil
}

// exec runs the INSERT of insertSizes[i] ≥ len(entries) rows on c, in the
// lean shape if the entries allow it, with the lead's values (the first
// entry's), the entries, and NULL rows after them, and returns how many
// were new.
func (s *ledgerInserts) exec(ctx context.Context, c driver.Conn, i int, entries []octomesh.LedgerEntry) (int, error) {
	k := 0
	if lean(entries) {
		k = 1
	}
	sh := insertShapes[k]
	if s.stmts[k][i] == nil {
		st, err := c.(driver.ConnPrepareContext).PrepareContext(ctx, insertEntriesSQL(insertSizes[i], sh))
		if err != nil {
			return 0, fmt.Errorf("prepare: %w", err)
		}
		s.stmts[k][i] = st
	}
	lead, width := len(sh.lead), len(sh.perRow)
	nargs := lead + insertSizes[i]*width
	if len(s.args) < nargs {
		s.args = make([]driver.NamedValue, nargs)
		for j := range s.args {
			s.args[j].Ordinal = j + 1 // the driver binds by ordinal: a mismatch makes it search
		}
	}
	args := s.args[:nargs]
	// Only the lead and the entries' rows are written: the rest stays
	// nil, the padding. They are cleared again afterwards, not to keep the
	// entries' strings.
	used := args[:lead+len(entries)*width]
	defer func() {
		for j := range used {
			used[j].Value = nil
		}
	}()
	def := &entries[0]
	var rows [2][ledgerColCount]driver.NamedValue // an entry's values and the previous one's
	setEntryArgs(rows[0][:], def, nil, nil, nil)
	for j, col := range sh.lead {
		args[j].Value = rows[0][col].Value
	}
	var prev *octomesh.LedgerEntry
	var last []driver.NamedValue // prev's values
	for n := range entries {
		vals := rows[n%2][:]
		setEntryArgs(vals, &entries[n], def, prev, last)
		row := used[lead+n*width : lead+(n+1)*width]
		for j, col := range sh.perRow {
			row[j].Value = vals[col].Value
		}
		prev, last = &entries[n], vals
	}
	res, err := s.stmts[k][i].(driver.StmtExecContext).ExecContext(ctx, args)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// setEntryArgs sets row's values to e's, in ledgerCols order, but leaves
// NULL a value equal to its column's default, def's (none if def is nil).
// Integers go in as int64 and the flag as bool, which the driver binds as
// they are. Another text value equal to the previous row's (prev, nil for
// the first row, and its values last) reuses its interface value: boxing a
// string allocates.
func setEntryArgs(row []driver.NamedValue, e, def, prev *octomesh.LedgerEntry, last []driver.NamedValue) {
	first, defaults := prev == nil, def != nil
	if first {
		prev = e // text ignores it
	}
	if !defaults {
		def = e // text ignores it
	}
	text := func(col int, s, d, was string) any {
		switch {
		case defaults && hasDefault[col] && s == d:
			return nil
		case !first && s == was:
			return last[col].Value
		}
		return s
	}
	vals := [ledgerColCount]any{text(0, e.OrgID, "", prev.OrgID), text(1, string(e.Kind), string(def.Kind), string(prev.Kind)),
		e.RequestID, int64(e.Attempt), text(4, e.KeyID, def.KeyID, prev.KeyID), text(5, e.UserID, def.UserID, prev.UserID),
		text(6, e.Project, def.Project, prev.Project), text(7, e.Deployment, def.Deployment, prev.Deployment),
		text(8, e.Provider, def.Provider, prev.Provider), text(9, e.PriceVersion, def.PriceVersion, prev.PriceVersion),
		e.PromptTokens, e.CompletionTokens, e.CachedTokens, e.CacheWriteTokens, e.Estimated, int64(e.Cost),
		text(16, e.Outcome, def.Outcome, prev.Outcome), text(17, e.Ref, def.Ref, prev.Ref), text(18, e.Note, def.Note, prev.Note),
		nanos(e.Start), nanos(e.End)}
	for j, v := range vals {
		row[j].Value = v
	}
}
