package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/octomesh/octomesh"
)

// AppendAudit records an action that is not a store change.
func (d *DB) AppendAudit(ctx context.Context, e *octomesh.AuditEntry) error {
	return d.write(ctx, func(w *writeTx) error { return w.audit(e) })
}

const auditCols = `seq, time, org_id, actor_type, actor_key_id, actor_user_id, actor_org_id, source, action, target, details, prev_hash, hash`

func scanAudit(s scanner) (*octomesh.AuditEntry, error) {
	var e octomesh.AuditEntry
	var t int64
	var details string
	if err := s.Scan(&e.Seq, &t, &e.OrgID, &e.Actor.Type, &e.Actor.KeyID, &e.Actor.UserID, &e.Actor.OrgID, &e.Actor.Source,
		&e.Action, &e.Target, &details, &e.PrevHash, &e.Hash); err != nil {
		return nil, err
	}
	e.Time = fromNanos(t)
	if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
		// An edited entry may not even be JSON any more; verification
		// reports it through the hash.
		e.Details = map[string]string{"unreadable": details}
	}
	if len(e.Details) == 0 {
		e.Details = nil
	}
	return &e, nil
}

// ListAudit returns entries matching f, newest first.
func (d *DB) ListAudit(ctx context.Context, f octomesh.AuditFilter) ([]*octomesh.AuditEntry, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := d.db.QueryContext(ctx, `SELECT `+auditCols+` FROM audit_log
		WHERE (? = '' OR org_id = ?) AND (? = '' OR action = ?) AND (? = '' OR target = ?) AND time >= ? AND (? = 0 OR seq < ?)
		ORDER BY seq DESC LIMIT ?`,
		f.OrgID, f.OrgID, f.Action, f.Action, f.Target, f.Target, nanos(f.Since), f.Before, f.Before, limit)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var out []*octomesh.AuditEntry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// VerifyAudit checks the whole chain against the recorded head, reading
// both in one transaction so concurrent writers cannot confuse it.
func (d *DB) VerifyAudit(ctx context.Context) (*octomesh.AuditReport, error) {
	tx, err := d.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("verify audit: %w", err)
	}
	defer tx.Rollback()
	var headSeq int64
	var headHash []byte
	if err := tx.QueryRowContext(ctx, `SELECT audit_seq, audit_hash FROM store_head WHERE id = 1`).Scan(&headSeq, &headHash); err != nil {
		return nil, fmt.Errorf("verify audit: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+auditCols+` FROM audit_log ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("verify audit: %w", err)
	}
	defer rows.Close()
	var v octomesh.AuditVerifier
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, fmt.Errorf("verify audit: %w", err)
		}
		if !v.Check(e) {
			break
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("verify audit: %w", err)
	}
	return v.Finish(headSeq, headHash), nil
}
