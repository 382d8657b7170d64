package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/octomesh/octomesh"
)

func errKeyNotFound() error { return octomesh.Errorf(octomesh.ENOTFOUND, "API key not found") }

// CreateKey stores a key's hash and metadata.
func (d *DB) CreateKey(ctx context.Context, k *octomesh.APIKey) error {
	if err := k.Validate(); err != nil {
		return err
	}
	return d.write(ctx, func(w *writeTx) error { return w.insertKey(k, nil) })
}

// insertKey checks that the organisation exists and that the key's user is
// a member whose role covers the key's, stores the key and audits it.
func (w *writeTx) insertKey(k *octomesh.APIKey, details map[string]string) error {
	var n int
	if err := w.queryRow(`SELECT COUNT(*) FROM orgs WHERE id = $1`, k.OrgID).Scan(&n); err != nil {
		return fmt.Errorf("create api key: %w", err)
	}
	if n == 0 {
		return octomesh.ErrOrgNotFound()
	}
	if err := w.checkKeyUser(k); err != nil {
		return err
	}
	scopes, err := toJSON(k.Scopes)
	if err != nil {
		return fmt.Errorf("create api key: %w", err)
	}
	if _, err := w.exec(`INSERT INTO api_keys (`+keyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		k.ID, k.OrgID, k.UserID, k.Project, k.Name, k.Prefix, k.Hash, string(k.Role), k.Platform, scopes,
		nanos(w.now), nanos(w.now), nanos(k.ExpiresAt), nanos(k.RevokedAt), int64(0), "", w.rev); err != nil {
		if isUnique(err) {
			return octomesh.Errorf(octomesh.EINVALID, "an API key with this id or value already exists")
		}
		return fmt.Errorf("create api key: %w", err)
	}
	k.CreatedAt, k.UpdatedAt, k.Rev = w.now, w.now, w.rev
	if details == nil {
		details = map[string]string{}
	}
	details["role"] = string(k.Role)
	if k.UserID != "" {
		details["user_id"] = k.UserID
	}
	return w.audit(&octomesh.AuditEntry{OrgID: k.OrgID, Action: octomesh.AuditKeyCreated, Target: k.ID, Details: details})
}

// checkKeyUser requires a user-bound key's user to be a member of the key's
// organisation with a role that covers the key's.
func (w *writeTx) checkKeyUser(k *octomesh.APIKey) error {
	if k.UserID == "" {
		return nil
	}
	var role string
	err := w.queryRow(`SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2`, k.OrgID, k.UserID).Scan(&role)
	if noRows(err) {
		return octomesh.Errorf(octomesh.EINVALID, "user_id: no member of this organisation has this id").WithParam("user_id")
	}
	if err != nil {
		return fmt.Errorf("check key user: %w", err)
	}
	if !octomesh.OrgRole(role).Covers(k.Role) {
		return octomesh.Errorf(octomesh.EINVALID, "role: the user's role (%s) does not cover %s", role, k.Role).WithParam("role")
	}
	return nil
}

const keyCols = `id, org_id, user_id, project, name, prefix, hash, role, platform, scopes, created_at, updated_at, expires_at, revoked_at, deleted_at, replaced_by, rev`

func scanKey(s scanner) (*octomesh.APIKey, error) {
	var k octomesh.APIKey
	var role, scopes string
	var created, updated, expires, revoked, deleted int64
	if err := s.Scan(&k.ID, &k.OrgID, &k.UserID, &k.Project, &k.Name, &k.Prefix, &k.Hash, &role, &k.Platform, &scopes,
		&created, &updated, &expires, &revoked, &deleted, &k.ReplacedBy, &k.Rev); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scopes), &k.Scopes); err != nil {
		return nil, fmt.Errorf("api key %s scopes: %w", k.ID, err)
	}
	k.Role = octomesh.OrgRole(role)
	k.CreatedAt, k.UpdatedAt, k.ExpiresAt = fromNanos(created), fromNanos(updated), fromNanos(expires)
	k.RevokedAt, k.DeletedAt = fromNanos(revoked), fromNanos(deleted)
	return &k, nil
}

// Key returns a key of an organisation, or ENOTFOUND.
func (d *DB) Key(ctx context.Context, orgID, id string) (*octomesh.APIKey, error) {
	k, err := scanKey(d.queryRow(ctx, `SELECT `+keyCols+` FROM api_keys WHERE org_id = $1 AND id = $2 AND deleted_at = 0`, orgID, id))
	if noRows(err) {
		return nil, errKeyNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get api key: %w", err)
	}
	return k, nil
}

// KeyByHash returns the key with the given hash, or ENOTFOUND.
func (d *DB) KeyByHash(ctx context.Context, hash []byte) (*octomesh.APIKey, error) {
	k, err := scanKey(d.queryRow(ctx, `SELECT `+keyCols+` FROM api_keys WHERE hash = $1`, hash))
	if noRows(err) {
		return nil, errKeyNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get api key: %w", err)
	}
	return k, nil
}

// ListKeys lists the keys of an organisation ("" for all), oldest first.
func (d *DB) ListKeys(ctx context.Context, orgID string, f octomesh.KeyFilter) ([]*octomesh.APIKey, error) {
	now := nanos(d.now())
	return d.queryKeys(ctx, `SELECT `+keyCols+` FROM api_keys
		WHERE deleted_at = 0 AND ($1::text = '' OR org_id = $2) AND ($3::text = '' OR user_id = $4) AND ($5::text = '' OR project = $6)
		  AND ($7::boolean OR (revoked_at = 0 AND (expires_at = 0 OR expires_at > $8)))
		ORDER BY created_at, id`,
		orgID, orgID, f.UserID, f.UserID, f.Project, f.Project, f.IncludeRevoked, now)
}

func (d *DB) queryKeys(ctx context.Context, query string, args ...any) ([]*octomesh.APIKey, error) {
	rows, err := d.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	defer rows.Close()
	var out []*octomesh.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("list api keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// liveKey reads a key of the organisation inside the transaction, or ENOTFOUND.
func (w *writeTx) liveKey(orgID, id string) (*octomesh.APIKey, error) {
	k, err := scanKey(w.queryRow(`SELECT `+keyCols+` FROM api_keys WHERE org_id = $1 AND id = $2 AND deleted_at = 0`, orgID, id))
	if noRows(err) {
		return nil, errKeyNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get api key: %w", err)
	}
	return k, nil
}

// UpdateKey changes a key's name, project, role, scopes and expiry.
func (d *DB) UpdateKey(ctx context.Context, k *octomesh.APIKey) error {
	return d.write(ctx, func(w *writeTx) error {
		old, err := w.liveKey(k.OrgID, k.ID)
		if err != nil {
			return err
		}
		if !old.RevokedAt.IsZero() {
			return octomesh.Errorf(octomesh.EINVALID, "the API key is revoked")
		}
		next := *old
		next.Name, next.Project, next.Role, next.Scopes, next.ExpiresAt = k.Name, k.Project, k.Role, k.Scopes, k.ExpiresAt
		if err := next.Validate(); err != nil {
			return err
		}
		if err := w.checkKeyUser(&next); err != nil {
			return err
		}
		changed := octomesh.KeyChanges(old, &next)
		if len(changed) > 0 {
			scopes, err := toJSON(next.Scopes)
			if err != nil {
				return fmt.Errorf("update api key: %w", err)
			}
			if _, err := w.exec(`UPDATE api_keys SET name = $1, project = $2, role = $3, scopes = $4, expires_at = $5, updated_at = $6, rev = $7 WHERE id = $8`,
				next.Name, next.Project, string(next.Role), scopes, nanos(next.ExpiresAt), nanos(w.now), w.rev, next.ID); err != nil {
				return fmt.Errorf("update api key: %w", err)
			}
			next.UpdatedAt, next.Rev = w.now, w.rev
			if err := w.audit(&octomesh.AuditEntry{OrgID: k.OrgID, Action: octomesh.AuditKeyUpdated, Target: k.ID,
				Details: map[string]string{"fields": strings.Join(changed, ","), "role": string(next.Role)}}); err != nil {
				return err
			}
		}
		*k = next
		return nil
	})
}

// RotateKey stores next as the successor of an active key, which keeps
// working until overlapEnds.
func (d *DB) RotateKey(ctx context.Context, orgID, id string, next *octomesh.APIKey, overlapEnds time.Time) error {
	if err := next.Validate(); err != nil {
		return err
	}
	if next.OrgID != orgID {
		return octomesh.Errorf(octomesh.EINVALID, "the successor must belong to the same organisation")
	}
	return d.write(ctx, func(w *writeTx) error {
		old, err := w.liveKey(orgID, id)
		if err != nil {
			return err
		}
		if !old.Active(w.now) {
			return octomesh.Errorf(octomesh.EINVALID, "only an active API key can be rotated")
		}
		if err := w.insertKey(next, map[string]string{"rotated_from": old.ID}); err != nil {
			return err
		}
		expires, revoked := octomesh.RotationEnd(old, overlapEnds, w.now)
		if _, err := w.exec(`UPDATE api_keys SET expires_at = $1, revoked_at = $2, replaced_by = $3, updated_at = $4, rev = $5 WHERE id = $6`,
			nanos(expires), nanos(revoked), next.ID, nanos(w.now), w.rev, old.ID); err != nil {
			return fmt.Errorf("rotate api key: %w", err)
		}
		return w.audit(&octomesh.AuditEntry{OrgID: orgID, Action: octomesh.AuditKeyRotated, Target: old.ID,
			Details: map[string]string{"successor": next.ID, "old_key_ends": octomesh.FormatAuditTime(min0(expires, revoked))}})
	})
}

// RevokeKey revokes a key at once.
func (d *DB) RevokeKey(ctx context.Context, orgID, id string) error {
	return d.write(ctx, func(w *writeTx) error {
		old, err := w.liveKey(orgID, id)
		if err != nil {
			return err
		}
		if !old.RevokedAt.IsZero() && !old.RevokedAt.After(w.now) {
			return nil
		}
		if _, err := w.exec(`UPDATE api_keys SET revoked_at = $1, updated_at = $2, rev = $3 WHERE id = $4`, nanos(w.now), nanos(w.now), w.rev, id); err != nil {
			return fmt.Errorf("revoke api key: %w", err)
		}
		return w.audit(&octomesh.AuditEntry{OrgID: orgID, Action: octomesh.AuditKeyRevoked, Target: id})
	})
}

// DeleteKey revokes a key and leaves a nameless tombstone.
func (d *DB) DeleteKey(ctx context.Context, orgID, id string) error {
	return d.write(ctx, func(w *writeTx) error {
		if _, err := w.liveKey(orgID, id); err != nil {
			return err
		}
		now := nanos(w.now)
		if _, err := w.exec(`UPDATE api_keys SET revoked_at = CASE WHEN revoked_at = 0 OR revoked_at > $1 THEN $2 ELSE revoked_at END,
			deleted_at = $3, name = '', project = '', updated_at = $4, rev = $5 WHERE id = $6`, now, now, now, now, w.rev, id); err != nil {
			return fmt.Errorf("delete api key: %w", err)
		}
		return w.audit(&octomesh.AuditEntry{OrgID: orgID, Action: octomesh.AuditKeyDeleted, Target: id})
	})
}

// AuthChanges returns the keys and organisations changed after revision
// since. It reads the head revision first: every revision up to it is
// committed (writers take revisions one at a time, in commit order), so
// nothing committed later can be skipped by the next call.
func (d *DB) AuthChanges(ctx context.Context, since int64) (*octomesh.AuthChanges, error) {
	ch := &octomesh.AuthChanges{}
	if err := d.queryRow(ctx, `SELECT rev FROM store_head WHERE id = 1`).Scan(&ch.Rev); err != nil {
		return nil, fmt.Errorf("auth changes: %w", err)
	}
	if ch.Rev <= since {
		return ch, nil // nothing new; a head below since means the database was restored from a backup
	}
	var err error
	if ch.Keys, err = d.queryKeys(ctx, `SELECT `+keyCols+` FROM api_keys WHERE rev > $1 AND rev <= $2 ORDER BY rev, id`, since, ch.Rev); err != nil {
		return nil, err
	}
	rows, err := d.query(ctx, `SELECT `+orgCols+` FROM orgs WHERE rev > $1 AND rev <= $2 ORDER BY rev, id`, since, ch.Rev)
	if err != nil {
		return nil, fmt.Errorf("auth changes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, fmt.Errorf("auth changes: %w", err)
		}
		ch.Orgs = append(ch.Orgs, o)
	}
	return ch, rows.Err()
}

// min0 returns the earlier of two times, ignoring zero ones.
func min0(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}
