package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/octomesh/octomesh"
)

var _ octomesh.MeterStore = (*DB)(nil)

const ledgerCols = `org_id, kind, request_id, attempt, key_id, user_id, project, deployment, provider, price_version,
	prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, estimated, cost, outcome, ref, note, started_at, ended_at`

// AppendEntries stores entries in one transaction, skipping those already
// stored or of an organisation that does not exist, and returns how many
// were new. EINVALID (nothing stored) for an invalid entry. A batch goes
// in as multi-row INSERTs (ledger_insert.go).
//
// It does not take the store_head row: ledger writes are not admin
// changes and need neither a revision nor the audit chain. SQLite still
// serialises them with every other writer.
func (d *DB) AppendEntries(ctx context.Context, entries []octomesh.LedgerEntry) (int, error) {
	for i := range entries {
		if err := entries[i].Validate(); err != nil {
			return 0, err
		}
	}
	if len(entries) == 0 {
		return 0, nil
	}
	n, err := d.ledgerInserts.insert(ctx, entries)
	if err != nil {
		return 0, fmt.Errorf("append ledger: %w", err)
	}
	return n, nil
}

func scanEntry(s scanner) (octomesh.LedgerEntry, error) {
	var e octomesh.LedgerEntry
	var kind string
	var cost, start, end int64
	err := s.Scan(&e.Seq, &e.OrgID, &kind, &e.RequestID, &e.Attempt, &e.KeyID, &e.UserID, &e.Project, &e.Deployment, &e.Provider,
		&e.PriceVersion, &e.PromptTokens, &e.CompletionTokens, &e.CachedTokens, &e.CacheWriteTokens, &e.Estimated, &cost,
		&e.Outcome, &e.Ref, &e.Note, &start, &end)
	e.Kind, e.Cost, e.Start, e.End = octomesh.EntryKind(kind), octomesh.Money(cost), fromNanos(start), fromNanos(end)
	return e, err
}

// entryWhere is the WHERE clause (without the keyword) and arguments that
// select orgID's entries matching f.
func entryWhere(orgID string, f octomesh.EntryFilter, withSeq bool) (string, []any) {
	conds := []string{"org_id = ?"}
	args := []any{orgID}
	add := func(cond string, v any) {
		conds = append(conds, cond)
		args = append(args, v)
	}
	if !f.From.IsZero() {
		add("started_at >= ?", f.From.UnixNano())
	}
	if !f.To.IsZero() {
		add("started_at < ?", f.To.UnixNano())
	}
	if f.KeyID != "" {
		add("key_id = ?", f.KeyID)
	}
	if f.UserID != "" {
		add("user_id = ?", f.UserID)
	}
	if f.Project != "" {
		add("project = ?", f.Project)
	}
	if f.Model != "" {
		add("deployment = ?", f.Model)
	}
	if len(f.Kinds) > 0 {
		conds = append(conds, "kind IN (?"+strings.Repeat(", ?", len(f.Kinds)-1)+")")
		for _, k := range f.Kinds {
			args = append(args, string(k))
		}
	}
	if withSeq && f.AfterSeq > 0 {
		add("seq > ?", f.AfterSeq)
	}
	return strings.Join(conds, " AND "), args
}

// entryLimit is f's page size.
func entryLimit(f octomesh.EntryFilter) int {
	switch {
	case f.Limit == 0:
		return octomesh.DefaultEntryLimit
	case f.Limit > octomesh.MaxEntryLimit:
		return octomesh.MaxEntryLimit
	}
	return f.Limit
}

// Entries lists an organisation's entries matching f in seq order.
func (d *DB) Entries(ctx context.Context, orgID string, f octomesh.EntryFilter) ([]octomesh.LedgerEntry, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	where, args := entryWhere(orgID, f, true)
	rows, err := d.db.QueryContext(ctx, `SELECT seq, `+ledgerCols+` FROM ledger WHERE `+where+` ORDER BY seq LIMIT ?`,
		append(args, entryLimit(f))...)
	if err != nil {
		return nil, fmt.Errorf("list ledger: %w", err)
	}
	defer rows.Close()
	out := []octomesh.LedgerEntry{}
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("list ledger: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// nanosPerDay divides unix nanoseconds into UTC days.
const nanosPerDay = 24 * int64(time.Hour)

// groupExprs are the SQL expressions of the usage groups. The day is the
// floor of started_at over a day's nanoseconds (SQL division truncates
// towards zero, hence the case for times before 1970).
var groupExprs = map[octomesh.UsageGroup]string{
	octomesh.GroupDay:     fmt.Sprintf("CASE WHEN started_at >= 0 THEN started_at / %[1]d ELSE (started_at + 1) / %[1]d - 1 END", nanosPerDay),
	octomesh.GroupModel:   "deployment",
	octomesh.GroupKey:     "key_id",
	octomesh.GroupUser:    "user_id",
	octomesh.GroupProject: "project",
	octomesh.GroupKind:    "kind",
}

// dayString formats a day number (days since 1970-01-01 UTC).
func dayString(day int64) string {
	return time.Unix(day*86400, 0).UTC().Format(time.DateOnly)
}

// UsageReport aggregates an organisation's entries matching f by groups.
func (d *DB) UsageReport(ctx context.Context, orgID string, f octomesh.EntryFilter, groups []octomesh.UsageGroup) ([]octomesh.UsageRow, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if err := octomesh.ValidateGroups(groups); err != nil {
		return nil, err
	}
	var cols []string
	for i, g := range groups {
		cols = append(cols, fmt.Sprintf("%s AS g%d", groupExprs[g], i))
	}
	cols = append(cols,
		`COUNT(DISTINCT CASE WHEN kind = 'usage' THEN request_id END)`,
		`COALESCE(SUM(CASE WHEN kind = 'usage' THEN 1 ELSE 0 END), 0)`,
		`COALESCE(SUM(prompt_tokens), 0)`, `COALESCE(SUM(completion_tokens), 0)`,
		`COALESCE(SUM(cached_tokens), 0)`, `COALESCE(SUM(cache_write_tokens), 0)`,
		`COALESCE(SUM(estimated), 0)`, `COALESCE(SUM(cost), 0)`)
	where, args := entryWhere(orgID, f, false)
	query := `SELECT ` + strings.Join(cols, ", ") + ` FROM ledger WHERE ` + where
	if len(groups) > 0 {
		var by []string
		for i := range groups {
			by = append(by, fmt.Sprintf("g%d", i))
		}
		query += " GROUP BY " + strings.Join(by, ", ") + " ORDER BY " + strings.Join(by, ", ")
	}
	rows, err := d.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("usage report: %w", err)
	}
	defer rows.Close()
	out := []octomesh.UsageRow{}
	for rows.Next() {
		var r octomesh.UsageRow
		keys := make([]any, len(groups))
		var day int64
		var kind string
		for i, g := range groups {
			switch g {
			case octomesh.GroupDay:
				keys[i] = &day
			case octomesh.GroupModel:
				keys[i] = &r.Model
			case octomesh.GroupKey:
				keys[i] = &r.KeyID
			case octomesh.GroupUser:
				keys[i] = &r.UserID
			case octomesh.GroupProject:
				keys[i] = &r.Project
			case octomesh.GroupKind:
				keys[i] = &kind
			}
		}
		var cost int64
		if err := rows.Scan(append(keys, &r.Requests, &r.Attempts, &r.PromptTokens, &r.CompletionTokens,
			&r.CachedTokens, &r.CacheWriteTokens, &r.EstimatedEntries, &cost)...); err != nil {
			return nil, fmt.Errorf("usage report: %w", err)
		}
		for _, g := range groups {
			switch g {
			case octomesh.GroupDay:
				r.Day = dayString(day)
			case octomesh.GroupKind:
				r.Kind = octomesh.EntryKind(kind)
			}
		}
		r.Cost = octomesh.Money(cost)
		out = append(out, r)
	}
	return out, rows.Err()
}

// subjectColumn is the ledger column a budget scope's subject matches ("" for
// the whole organisation).
func subjectColumn(scope octomesh.BudgetScope) string {
	switch scope {
	case octomesh.ScopeKey:
		return "key_id"
	case octomesh.ScopeUser:
		return "user_id"
	case octomesh.ScopeProject:
		return "project"
	}
	return ""
}

// SpendSince sums the cost of an organisation's entries other than top-ups
// with Start ≥ since (zero: all time) whose scope's subject matches.
func (d *DB) SpendSince(ctx context.Context, orgID string, scope octomesh.BudgetScope, subject string, since time.Time) (octomesh.Money, error) {
	if err := octomesh.ValidateSubject(scope, subject); err != nil {
		return 0, err
	}
	query := `SELECT COALESCE(SUM(cost), 0) FROM ledger WHERE org_id = ? AND kind <> 'topup'`
	args := []any{orgID}
	if !since.IsZero() {
		query += ` AND started_at >= ?`
		args = append(args, since.UnixNano())
	}
	if col := subjectColumn(scope); col != "" {
		query += ` AND ` + col + ` = ?`
		args = append(args, subject)
	}
	var spend int64
	if err := d.db.QueryRowContext(ctx, query, args...).Scan(&spend); err != nil {
		return 0, fmt.Errorf("spend: %w", err)
	}
	return octomesh.Money(spend), nil
}

// Balance returns an organisation's prepaid balance, -(sum of Cost).
func (d *DB) Balance(ctx context.Context, orgID string) (octomesh.Money, error) {
	var sum int64
	if err := d.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(cost), 0) FROM ledger WHERE org_id = ?`, orgID).Scan(&sum); err != nil {
		return 0, fmt.Errorf("balance: %w", err)
	}
	return -octomesh.Money(sum), nil
}
