package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/octomesh/octomesh"
)

// writeTx is one write transaction: it holds the store_head row lock, so
// the revision and the audit chain's head are its alone until it commits.
type writeTx struct {
	ctx   context.Context
	tx    pgx.Tx
	now   time.Time
	actor octomesh.Actor
	rev   int64
	seq   int64
	hash  []byte
}

// write runs fn in a write transaction and commits it, with every audit
// entry fn appended, or rolls everything back when fn fails.
func (d *DB) write(ctx context.Context, fn func(w *writeTx) error) error {
	return d.withConn(ctx, func(c *pgx.Conn) error {
		tx, err := c.Begin(ctx)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		defer tx.Rollback(ctx)
		w := &writeTx{ctx: ctx, tx: tx, now: d.now().UTC(), actor: octomesh.ActorFrom(ctx)}
		if err := tx.QueryRow(ctx, `UPDATE store_head SET rev = rev + 1 WHERE id = 1 RETURNING rev, audit_seq, audit_hash`).
			Scan(&w.rev, &w.seq, &w.hash); err != nil {
			return fmt.Errorf("lock store head: %w", err)
		}
		if w.hash == nil {
			w.hash = []byte{}
		}
		if err := fn(w); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE store_head SET audit_seq = $1, audit_hash = $2 WHERE id = 1`, w.seq, w.hash); err != nil {
			return fmt.Errorf("update store head: %w", err)
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	})
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
	if _, err := w.tx.Exec(w.ctx,
		`INSERT INTO audit_log (seq, time, org_id, actor_type, actor_key_id, actor_user_id, actor_org_id, source, action, target, details, prev_hash, hash)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		e.Seq, e.Time.UnixNano(), e.OrgID, e.Actor.Type, e.Actor.KeyID, e.Actor.UserID, e.Actor.OrgID, e.Actor.Source,
		e.Action, e.Target, string(details), e.PrevHash, e.Hash); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	w.seq, w.hash = e.Seq, e.Hash
	return nil
}

func (w *writeTx) exec(query string, args ...any) (pgconn.CommandTag, error) {
	return w.tx.Exec(w.ctx, query, args...)
}

func (w *writeTx) queryRow(query string, args ...any) pgx.Row {
	return w.tx.QueryRow(w.ctx, query, args...)
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
