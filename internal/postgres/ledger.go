package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/octomesh/octomesh"
)

var _ octomesh.MeterStore = (*DB)(nil)

const ledgerCols = `org_id, kind, request_id, attempt, key_id, user_id, project, deployment, provider, price_version,
	prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, estimated, cost, outcome, ref, note, started_at, ended_at`

// insertEntries inserts a batch in one statement from one array per
// column, in the batch's order, skipping an entry already stored (earlier
// in the batch too) and one whose organisation no longer exists (erasure
// wins over late usage).
const insertEntries = `INSERT INTO ledger (` + ledgerCols + `)
	SELECT ` + ledgerCols + ` FROM unnest(
		$1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
		$11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::boolean[], $16::bigint[], $17::text[], $18::text[], $19::text[],
		$20::bigint[], $21::bigint[]
	) WITH ORDINALITY AS e (` + ledgerCols + `, n)
	WHERE EXISTS (SELECT 1 FROM orgs o WHERE o.id = e.org_id)
	ORDER BY n
	ON CONFLICT (org_id, request_id, attempt, kind) DO NOTHING`

// AppendEntries stores entries in one transaction, skipping those already
// stored or of an organisation that does not exist, and returns how many
// were new. EINVALID (nothing stored) for an invalid entry.
//
// It does not take the store_head row (ledger writes are not admin
// changes). It takes a transaction advisory lock instead, so that appends
// from every replica commit one at a time and seq order is commit order:
// a reader paging on seq never misses an entry that committed after a
// higher seq. The writer's group commit makes that one short transaction
// per batch.
func (d *DB) AppendEntries(ctx context.Context, entries []octomesh.LedgerEntry) (int, error) {
	for i := range entries {
		if err := entries[i].Validate(); err != nil {
			return 0, err
		}
	}
	if len(entries) == 0 {
		return 0, nil
	}
	n := len(entries)
	var (
		org, kind, req, key, user, project, deployment, provider, price, outcome, ref, note = make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		attempt, prompt, completion, cached, cacheWrite, cost, start, end = make([]int64, n), make([]int64, n), make([]int64, n),
			make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		estimated = make([]bool, n)
	)
	for i := range entries {
		e := &entries[i]
		org[i], kind[i], req[i], attempt[i], key[i], user[i], project[i] = e.OrgID, string(e.Kind), e.RequestID, int64(e.Attempt), e.KeyID, e.UserID, e.Project
		deployment[i], provider[i], price[i] = e.Deployment, e.Provider, e.PriceVersion
		prompt[i], completion[i], cached[i], cacheWrite[i] = e.PromptTokens, e.CompletionTokens, e.CachedTokens, e.CacheWriteTokens
		estimated[i], cost[i], outcome[i], ref[i], note[i], start[i], end[i] = e.Estimated, int64(e.Cost), e.Outcome, e.Ref, e.Note, nanos(e.Start), nanos(e.End)
	}
	var added int64
	err := d.withConn(ctx, func(c *pgx.Conn) error {
		// One pipeline, one round trip: statements sent before a Sync run
		// in one implicit transaction, committed at the Sync (or rolled
		// back whole when one fails), so the lock is held to the commit.
		var b pgx.Batch
		b.Queue(`SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':octomesh-ledger'))`)
		b.Queue(insertEntries, org, kind, req, attempt, key, user, project, deployment, provider, price,
			prompt, completion, cached, cacheWrite, estimated, cost, outcome, ref, note, start, end)
		br := c.SendBatch(ctx, &b)
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return err
		}
		added = tag.RowsAffected()
		return br.Close()
	})
	if err != nil {
		if code, _ := pgCode(err); strings.HasPrefix(code, "22") {
			// A data exception is the entries' own fault and would fail
			// every retry: report it as such, not as an outage.
			return 0, octomesh.Errorf(octomesh.EINVALID, "ledger entry: a value the database cannot store").WithCause(err)
		}
		return 0, fmt.Errorf("append ledger: %w", err)
	}
	return int(added), nil
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

// params collects a query's arguments and names their placeholders.
type params []any

// add appends v and returns its placeholder.
func (p *params) add(v any) string {
	*p = append(*p, v)
	return "$" + strconv.Itoa(len(*p))
}

// entryWhere is the WHERE clause (without the keyword) that selects
// orgID's entries matching f, its arguments added to p.
func entryWhere(p *params, orgID string, f octomesh.EntryFilter, withSeq bool) string {
	conds := []string{"org_id = " + p.add(orgID)}
	if !f.From.IsZero() {
		conds = append(conds, "started_at >= "+p.add(f.From.UnixNano()))
	}
	if !f.To.IsZero() {
		conds = append(conds, "started_at < "+p.add(f.To.UnixNano()))
	}
	for _, c := range []struct{ col, v string }{{"key_id", f.KeyID}, {"user_id", f.UserID}, {"project", f.Project}, {"deployment", f.Model}} {
		if c.v != "" {
			conds = append(conds, c.col+" = "+p.add(c.v))
		}
	}
	if len(f.Kinds) > 0 {
		kinds := make([]string, len(f.Kinds))
		for i, k := range f.Kinds {
			kinds[i] = string(k)
		}
		conds = append(conds, "kind = ANY("+p.add(kinds)+"::text[])")
	}
	if withSeq && f.AfterSeq > 0 {
		conds = append(conds, "seq > "+p.add(f.AfterSeq))
	}
	return strings.Join(conds, " AND ")
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
	var p params
	where := entryWhere(&p, orgID, f, true)
	rows, err := d.query(ctx, `SELECT seq, `+ledgerCols+` FROM ledger WHERE `+where+` ORDER BY seq LIMIT `+p.add(entryLimit(f)), p...)
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
// towards zero, hence the case for times before 1970). Strings group and
// order in byte order (COLLATE "C"), as in SQLite, whatever the
// database's collation.
var groupExprs = map[octomesh.UsageGroup]string{
	octomesh.GroupDay:     fmt.Sprintf("CASE WHEN started_at >= 0 THEN started_at / %[1]d ELSE (started_at + 1) / %[1]d - 1 END", nanosPerDay),
	octomesh.GroupModel:   `deployment COLLATE "C"`,
	octomesh.GroupKey:     `key_id COLLATE "C"`,
	octomesh.GroupUser:    `user_id COLLATE "C"`,
	octomesh.GroupProject: `project COLLATE "C"`,
	octomesh.GroupKind:    `kind COLLATE "C"`,
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
	var cols, by []string
	for i, g := range groups {
		cols = append(cols, fmt.Sprintf("%s AS g%d", groupExprs[g], i))
		by = append(by, fmt.Sprintf("g%d", i))
	}
	cols = append(cols,
		`COUNT(DISTINCT CASE WHEN kind = 'usage' THEN request_id END)`,
		`COUNT(*) FILTER (WHERE kind = 'usage')`,
		`COALESCE(SUM(prompt_tokens), 0)::bigint`, `COALESCE(SUM(completion_tokens), 0)::bigint`,
		`COALESCE(SUM(cached_tokens), 0)::bigint`, `COALESCE(SUM(cache_write_tokens), 0)::bigint`,
		`COUNT(*) FILTER (WHERE estimated)`, `COALESCE(SUM(cost), 0)::bigint`)
	var p params
	query := `SELECT ` + strings.Join(cols, ", ") + ` FROM ledger WHERE ` + entryWhere(&p, orgID, f, false)
	if len(groups) > 0 {
		query += " GROUP BY " + strings.Join(by, ", ") + " ORDER BY " + strings.Join(by, ", ")
	}
	rows, err := d.query(ctx, query, p...)
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
	var p params
	query := `SELECT COALESCE(SUM(cost), 0)::bigint FROM ledger WHERE org_id = ` + p.add(orgID) + ` AND kind <> 'topup'`
	if !since.IsZero() {
		query += ` AND started_at >= ` + p.add(since.UnixNano())
	}
	if col := subjectColumn(scope); col != "" {
		query += ` AND ` + col + ` = ` + p.add(subject)
	}
	var spend int64
	if err := d.queryRow(ctx, query, p...).Scan(&spend); err != nil {
		return 0, fmt.Errorf("spend: %w", err)
	}
	return octomesh.Money(spend), nil
}

// Balance returns an organisation's prepaid balance, -(sum of Cost).
func (d *DB) Balance(ctx context.Context, orgID string) (octomesh.Money, error) {
	var sum int64
	if err := d.queryRow(ctx, `SELECT COALESCE(SUM(cost), 0)::bigint FROM ledger WHERE org_id = $1`, orgID).Scan(&sum); err != nil {
		return 0, fmt.Errorf("balance: %w", err)
	}
	return -octomesh.Money(sum), nil
}
