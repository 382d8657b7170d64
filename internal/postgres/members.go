package postgres

import (
	"context"
	"fmt"
	"strconv"

	"github.com/octomesh/octomesh"
)

func errMemberNotFound() error { return octomesh.Errorf(octomesh.ENOTFOUND, "membership not found") }

func errLastOwner() error {
	return octomesh.Errorf(octomesh.EINVALID, "an organisation must keep at least one owner")
}

func (w *writeTx) insertMember(m *octomesh.Membership) error {
	if _, err := w.exec(`INSERT INTO memberships (org_id, user_id, role, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)`,
		m.OrgID, m.UserID, string(m.Role), nanos(w.now), nanos(w.now)); err != nil {
		if isForeignKey(err) {
			return errUserNotFound()
		}
		return fmt.Errorf("add member: %w", err)
	}
	m.CreatedAt, m.UpdatedAt = w.now, w.now
	return w.audit(&octomesh.AuditEntry{OrgID: m.OrgID, Action: octomesh.AuditMemberAdded, Target: m.UserID,
		Details: map[string]string{"role": string(m.Role)}})
}

// keepAnOwner fails with EINVALID when userID is the organisation's only owner.
func (w *writeTx) keepAnOwner(orgID, userID string) error {
	var isOwner, owners int
	if err := w.queryRow(`SELECT COUNT(*) FILTER (WHERE user_id = $1), COUNT(*) FROM memberships WHERE org_id = $2 AND role = 'owner'`,
		userID, orgID).Scan(&isOwner, &owners); err != nil {
		return fmt.Errorf("count owners: %w", err)
	}
	if isOwner > 0 && owners <= 1 {
		return errLastOwner()
	}
	return nil
}

// SetMember adds a membership or changes its role, lowering the user's keys
// to a role the new one covers.
func (d *DB) SetMember(ctx context.Context, m *octomesh.Membership) error {
	if !m.Role.Valid() {
		return octomesh.Errorf(octomesh.EINVALID, "role must be one of owner, admin, member, billing, viewer").WithParam("role")
	}
	return d.write(ctx, func(w *writeTx) error {
		old, err := scanMember(w.queryRow(`SELECT `+memberCols+` FROM memberships WHERE org_id = $1 AND user_id = $2`, m.OrgID, m.UserID))
		if noRows(err) {
			return w.insertMember(m)
		}
		if err != nil {
			return fmt.Errorf("set member: %w", err)
		}
		m.CreatedAt, m.UpdatedAt = old.CreatedAt, old.UpdatedAt
		if old.Role == m.Role {
			return nil
		}
		if old.Role == octomesh.RoleOwner {
			if err := w.keepAnOwner(m.OrgID, m.UserID); err != nil {
				return err
			}
		}
		if _, err := w.exec(`UPDATE memberships SET role = $1, updated_at = $2 WHERE org_id = $3 AND user_id = $4`,
			string(m.Role), nanos(w.now), m.OrgID, m.UserID); err != nil {
			return fmt.Errorf("set member: %w", err)
		}
		m.UpdatedAt = w.now
		lowered, revoked, err := w.capKeys(m.OrgID, m.UserID, m.Role)
		if err != nil {
			return err
		}
		return w.audit(&octomesh.AuditEntry{OrgID: m.OrgID, Action: octomesh.AuditMemberRoleChange, Target: m.UserID,
			Details: map[string]string{"from": string(old.Role), "to": string(m.Role),
				"keys_lowered": strconv.Itoa(lowered), "keys_revoked": strconv.Itoa(revoked)}})
	})
}

// capKeys brings the user's keys under the new membership role (see
// octomesh.KeyRoleUnder): lowered where that only takes powers away,
// revoked otherwise.
func (w *writeTx) capKeys(orgID, userID string, role octomesh.OrgRole) (lowered, revoked int, err error) {
	rows, err := w.tx.Query(w.ctx, `SELECT id, role FROM api_keys WHERE org_id = $1 AND user_id = $2 AND deleted_at = 0 AND revoked_at = 0`, orgID, userID)
	if err != nil {
		return 0, 0, fmt.Errorf("cap keys: %w", err)
	}
	type change struct {
		id   string
		role octomesh.OrgRole
		keep bool
	}
	var changes []change
	for rows.Next() {
		var id, r string
		if err := rows.Scan(&id, &r); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("cap keys: %w", err)
		}
		if next, keep := octomesh.KeyRoleUnder(octomesh.OrgRole(r), role); !keep || next != octomesh.OrgRole(r) {
			changes = append(changes, change{id, next, keep})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("cap keys: %w", err)
	}
	now := nanos(w.now)
	for _, c := range changes {
		if c.keep {
			_, err = w.exec(`UPDATE api_keys SET role = $1, updated_at = $2, rev = $3 WHERE id = $4`, string(c.role), now, w.rev, c.id)
			lowered++
		} else {
			_, err = w.exec(`UPDATE api_keys SET revoked_at = $1, updated_at = $2, rev = $3 WHERE id = $4`, now, now, w.rev, c.id)
			revoked++
		}
		if err != nil {
			return 0, 0, fmt.Errorf("cap keys: %w", err)
		}
	}
	return lowered, revoked, nil
}

const memberCols = `org_id, user_id, role, created_at, updated_at`

func scanMember(s scanner) (*octomesh.Membership, error) {
	var m octomesh.Membership
	var role string
	var created, updated int64
	if err := s.Scan(&m.OrgID, &m.UserID, &role, &created, &updated); err != nil {
		return nil, err
	}
	m.Role, m.CreatedAt, m.UpdatedAt = octomesh.OrgRole(role), fromNanos(created), fromNanos(updated)
	return &m, nil
}

// Member returns a membership, or ENOTFOUND.
func (d *DB) Member(ctx context.Context, orgID, userID string) (*octomesh.Membership, error) {
	m, err := scanMember(d.queryRow(ctx, `SELECT `+memberCols+` FROM memberships WHERE org_id = $1 AND user_id = $2`, orgID, userID))
	if noRows(err) {
		return nil, errMemberNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get member: %w", err)
	}
	return m, nil
}

// ListMembers lists an organisation's memberships, oldest first.
func (d *DB) ListMembers(ctx context.Context, orgID string, role octomesh.OrgRole) ([]*octomesh.Membership, error) {
	rows, err := d.query(ctx, `SELECT `+memberCols+` FROM memberships WHERE org_id = $1 AND ($2::text = '' OR role = $3) ORDER BY created_at, user_id`,
		orgID, string(role), string(role))
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	defer rows.Close()
	var out []*octomesh.Membership
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, fmt.Errorf("list members: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// RemoveMember ends a membership and revokes the user's keys.
func (d *DB) RemoveMember(ctx context.Context, orgID, userID string) error {
	return d.write(ctx, func(w *writeTx) error {
		old, err := scanMember(w.queryRow(`SELECT `+memberCols+` FROM memberships WHERE org_id = $1 AND user_id = $2`, orgID, userID))
		if noRows(err) {
			return errMemberNotFound()
		}
		if err != nil {
			return fmt.Errorf("remove member: %w", err)
		}
		if err := w.keepAnOwner(orgID, userID); err != nil {
			return err
		}
		if _, err := w.exec(`DELETE FROM memberships WHERE org_id = $1 AND user_id = $2`, orgID, userID); err != nil {
			return fmt.Errorf("remove member: %w", err)
		}
		revoked, err := w.revokeUserKeys(orgID, userID)
		if err != nil {
			return err
		}
		return w.audit(&octomesh.AuditEntry{OrgID: orgID, Action: octomesh.AuditMemberRemoved, Target: userID,
			Details: map[string]string{"role": string(old.Role), "keys_revoked": strconv.FormatInt(revoked, 10)}})
	})
}
