package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/octomesh/octomesh"
)

// writeTx is one write transaction: it holds the store_head row, so the
// revision and the audit chain's head are its alone until it commits.
type writeTx struct {
	ctx   context.Context
	tx    *sql.Tx
	now   time.Time
	actor octomesh.Actor
	rev   int64  // the revision this transaction stamps on what it changes
	seq   int64  // the audit chain's head
	hash  []byte // the head's hash
}

// write runs fn in a write transaction and commits it, with every audit
// entry fn appended, or rolls everything back when fn fails.
func (d *DB) write(ctx context.Context, fn func(w *writeTx) error) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	w := &writeTx{ctx: ctx, tx: tx, now: d.now().UTC(), actor: octomesh.ActorFrom(ctx)}
	if err := tx.QueryRowContext(ctx, `UPDATE store_head SET rev = rev + 1 WHERE id = 1 RETURNING rev, audit_seq, audit_hash`).
		Scan(&w.rev, &w.seq, &w.hash); err != nil {
		return fmt.Errorf("lock store head: %w", err)
	}
	if w.hash == nil {
		w.hash = []byte{} // the chain's start; the driver would store nil as NULL
	}
	if err := fn(w); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE store_head SET audit_seq = ?, audit_hash = ? WHERE id = 1`, w.seq, w.hash); err != nil {
		return fmt.Errorf("update store head: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// audit appends e to the chain: the transaction's time and actor, the next
// sequence number, and the hash over the previous hash and the entry.
func (w *writeTx) audit(e *octomesh.AuditEntry) error {
	e.Seq, e.Time, e.Actor, e.PrevHash = w.seq+1, w.now, w.actor, w.hash
	e.Sanitize()
	e.Hash = e.ComputeHash()
	details, err := json.Marshal(orEmpty(e.Details))
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if _, err := w.tx.ExecContext(w.ctx,
		`INSERT INTO audit_log (seq, time, org_id, actor_type, actor_key_id, actor_user_id, actor_org_id, source, action, target, details, prev_hash, hash)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, e.Time.UnixNano(), e.OrgID, e.Actor.Type, e.Actor.KeyID, e.Actor.UserID, e.Actor.OrgID, e.Actor.Source,
		e.Action, e.Target, string(details), e.PrevHash, e.Hash); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	w.seq, w.hash = e.Seq, e.Hash
	return nil
}

func (w *writeTx) exec(query string, args ...any) (sql.Result, error) {
	return w.tx.ExecContext(w.ctx, query, args...)
}

func (w *writeTx) queryRow(query string, args ...any) *sql.Row {
	return w.tx.QueryRowContext(w.ctx, query, args...)
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func isForeignKey(err error) bool {
	return err != nil && strings.Contains(err.Error(), "FOREIGN KEY constraint failed")
}

func noRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

type scanner interface{ Scan(...any) error }

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
