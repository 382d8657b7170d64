package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/octomesh/octomesh"
)

// CreateOrg stores o with its first owner and, optionally, the owner's key,
// all or nothing.
func (d *DB) CreateOrg(ctx context.Context, o *octomesh.Org, owner *octomesh.User, ownerKey *octomesh.APIKey) error {
	if err := o.Validate(); err != nil {
		return err
	}
	owner.OrgID = o.ID
	if err := owner.Validate(); err != nil {
		return err
	}
	if ownerKey != nil {
		if ownerKey.OrgID != o.ID || (ownerKey.UserID != "" && ownerKey.UserID != owner.ID) {
			return octomesh.Errorf(octomesh.EINVALID, "the owner's key must belong to the new organisation and its owner")
		}
		if err := ownerKey.Validate(); err != nil {
			return err
		}
	}
	settings, err := toJSON(o.Settings)
	if err != nil {
		return fmt.Errorf("create org: %w", err)
	}
	return d.write(ctx, func(w *writeTx) error {
		if _, err := w.exec(`INSERT INTO orgs (id, name, billing_email, settings, created_at, updated_at, rev) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			o.ID, o.Name, o.BillingEmail, settings, nanos(w.now), nanos(w.now), w.rev); err != nil {
			if isUnique(err) {
				return octomesh.Errorf(octomesh.EINVALID, "an organisation with this id already exists").WithParam("id")
			}
			return fmt.Errorf("create org: %w", err)
		}
		o.CreatedAt, o.UpdatedAt, o.Rev = w.now, w.now, w.rev
		if err := w.audit(&octomesh.AuditEntry{OrgID: o.ID, Action: octomesh.AuditOrgCreated, Target: o.ID}); err != nil {
			return err
		}
		if err := w.insertUser(owner); err != nil {
			return err
		}
		if err := w.insertMember(&octomesh.Membership{OrgID: o.ID, UserID: owner.ID, Role: octomesh.RoleOwner}); err != nil {
			return err
		}
		if ownerKey != nil {
			return w.insertKey(ownerKey, nil)
		}
		return nil
	})
}

const orgCols = `id, name, billing_email, settings, created_at, updated_at, rev`

func scanOrg(s scanner) (*octomesh.Org, error) {
	var o octomesh.Org
	var settings string
	var created, updated int64
	if err := s.Scan(&o.ID, &o.Name, &o.BillingEmail, &settings, &created, &updated, &o.Rev); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(settings), &o.Settings); err != nil {
		return nil, fmt.Errorf("org %s settings: %w", o.ID, err)
	}
	o.CreatedAt, o.UpdatedAt = fromNanos(created), fromNanos(updated)
	return &o, nil
}

// Org returns an organisation, or ENOTFOUND.
func (d *DB) Org(ctx context.Context, id string) (*octomesh.Org, error) {
	o, err := scanOrg(d.db.QueryRowContext(ctx, `SELECT `+orgCols+` FROM orgs WHERE id = ?`, id))
	if noRows(err) {
		return nil, octomesh.ErrOrgNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get org: %w", err)
	}
	return o, nil
}

// ListOrgs lists every organisation, oldest first.
func (d *DB) ListOrgs(ctx context.Context) ([]*octomesh.Org, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+orgCols+` FROM orgs ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list orgs: %w", err)
	}
	defer rows.Close()
	var out []*octomesh.Org
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, fmt.Errorf("list orgs: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// UpdateOrg changes an organisation's name, billing contact and settings.
func (d *DB) UpdateOrg(ctx context.Context, o *octomesh.Org) error {
	if err := o.Validate(); err != nil {
		return err
	}
	settings, err := toJSON(o.Settings)
	if err != nil {
		return fmt.Errorf("update org: %w", err)
	}
	return d.write(ctx, func(w *writeTx) error {
		old, err := scanOrg(w.queryRow(`SELECT `+orgCols+` FROM orgs WHERE id = ?`, o.ID))
		if noRows(err) {
			return octomesh.ErrOrgNotFound()
		}
		if err != nil {
			return fmt.Errorf("update org: %w", err)
		}
		changed := octomesh.OrgChanges(old, o)
		o.CreatedAt, o.UpdatedAt, o.Rev = old.CreatedAt, old.UpdatedAt, old.Rev
		if len(changed) == 0 {
			return nil
		}
		if _, err := w.exec(`UPDATE orgs SET name = ?, billing_email = ?, settings = ?, updated_at = ?, rev = ? WHERE id = ?`,
			o.Name, o.BillingEmail, settings, nanos(w.now), w.rev, o.ID); err != nil {
			return fmt.Errorf("update org: %w", err)
		}
		o.UpdatedAt, o.Rev = w.now, w.rev
		return w.audit(&octomesh.AuditEntry{OrgID: o.ID, Action: octomesh.AuditOrgUpdated, Target: o.ID,
			Details: map[string]string{"fields": strings.Join(changed, ",")}})
	})
}

// DeleteOrg deletes an organisation with its users and memberships, and
// revokes its keys, which stay as nameless tombstones.
func (d *DB) DeleteOrg(ctx context.Context, id string) error {
	return d.write(ctx, func(w *writeTx) error {
		var n int
		if err := w.queryRow(`SELECT COUNT(*) FROM orgs WHERE id = ?`, id).Scan(&n); err != nil {
			return fmt.Errorf("delete org: %w", err)
		}
		if n == 0 {
			return octomesh.ErrOrgNotFound()
		}
		revoked, err := w.tombstoneKeys(id, "")
		if err != nil {
			return err
		}
		if _, err := w.exec(`DELETE FROM orgs WHERE id = ?`, id); err != nil { // users and memberships cascade
			return fmt.Errorf("delete org: %w", err)
		}
		return w.audit(&octomesh.AuditEntry{OrgID: id, Action: octomesh.AuditOrgDeleted, Target: id,
			Details: map[string]string{"keys_revoked": strconv.FormatInt(revoked, 10)}})
	})
}

// tombstoneKeys revokes and deletes an organisation's keys (only userID's
// when userID is not ""), clearing their labels, and returns how many were
// still active.
func (w *writeTx) tombstoneKeys(orgID, userID string) (int64, error) {
	var active int64
	if err := w.queryRow(`SELECT COUNT(*) FROM api_keys WHERE org_id = ? AND (? = '' OR user_id = ?) AND deleted_at = 0 AND revoked_at = 0`,
		orgID, userID, userID).Scan(&active); err != nil {
		return 0, fmt.Errorf("revoke keys: %w", err)
	}
	now := nanos(w.now)
	if _, err := w.exec(`UPDATE api_keys SET revoked_at = CASE WHEN revoked_at = 0 THEN ? ELSE revoked_at END,
		deleted_at = ?, name = '', project = '', updated_at = ?, rev = ?
		WHERE org_id = ? AND (? = '' OR user_id = ?) AND deleted_at = 0`,
		now, now, now, w.rev, orgID, userID, userID); err != nil {
		return 0, fmt.Errorf("revoke keys: %w", err)
	}
	return active, nil
}

// revokeUserKeys revokes a user's active keys in an organisation and
// returns how many there were.
func (w *writeTx) revokeUserKeys(orgID, userID string) (int64, error) {
	now := nanos(w.now)
	res, err := w.exec(`UPDATE api_keys SET revoked_at = ?, updated_at = ?, rev = ?
		WHERE org_id = ? AND user_id = ? AND deleted_at = 0 AND revoked_at = 0`, now, now, w.rev, orgID, userID)
	if err != nil {
		return 0, fmt.Errorf("revoke keys: %w", err)
	}
	return res.RowsAffected()
}
