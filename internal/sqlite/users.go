package sqlite

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/octomesh/octomesh"
)

func errUserNotFound() error { return octomesh.Errorf(octomesh.ENOTFOUND, "user not found") }

func errDuplicateEmail() error {
	return octomesh.Errorf(octomesh.EINVALID, "another user of this organisation has this email").WithParam("email")
}

// CreateUser stores a user of an organisation.
func (d *DB) CreateUser(ctx context.Context, u *octomesh.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	return d.write(ctx, func(w *writeTx) error { return w.insertUser(u) })
}

func (w *writeTx) insertUser(u *octomesh.User) error {
	if _, err := w.exec(`INSERT INTO users (id, org_id, name, email, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		u.ID, u.OrgID, u.Name, u.Email, nanos(w.now), nanos(w.now)); err != nil {
		switch {
		case isForeignKey(err):
			return octomesh.ErrOrgNotFound()
		case isUnique(err) && strings.Contains(err.Error(), "email"):
			return errDuplicateEmail()
		case isUnique(err):
			return octomesh.Errorf(octomesh.EINVALID, "a user with this id already exists").WithParam("id")
		}
		return fmt.Errorf("create user: %w", err)
	}
	u.CreatedAt, u.UpdatedAt = w.now, w.now
	return w.audit(&octomesh.AuditEntry{OrgID: u.OrgID, Action: octomesh.AuditUserCreated, Target: u.ID})
}

const userCols = `id, org_id, name, email, created_at, updated_at`

func scanUser(s scanner) (*octomesh.User, error) {
	var u octomesh.User
	var created, updated int64
	if err := s.Scan(&u.ID, &u.OrgID, &u.Name, &u.Email, &created, &updated); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = fromNanos(created), fromNanos(updated)
	return &u, nil
}

// User returns a user of an organisation, or ENOTFOUND.
func (d *DB) User(ctx context.Context, orgID, id string) (*octomesh.User, error) {
	u, err := scanUser(d.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE org_id = ? AND id = ?`, orgID, id))
	if noRows(err) {
		return nil, errUserNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	return u, nil
}

// ListUsers lists an organisation's users, oldest first.
func (d *DB) ListUsers(ctx context.Context, orgID string, f octomesh.UserFilter) ([]*octomesh.User, error) {
	email := strings.ToLower(strings.TrimSpace(f.Email))
	rows, err := d.db.QueryContext(ctx, `SELECT `+userCols+` FROM users WHERE org_id = ? AND (? = '' OR email = ?) ORDER BY created_at, id`,
		orgID, email, email)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []*octomesh.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UpdateUser changes a user's name and email.
func (d *DB) UpdateUser(ctx context.Context, u *octomesh.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	return d.write(ctx, func(w *writeTx) error {
		old, err := scanUser(w.queryRow(`SELECT `+userCols+` FROM users WHERE org_id = ? AND id = ?`, u.OrgID, u.ID))
		if noRows(err) {
			return errUserNotFound()
		}
		if err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		changed := octomesh.UserChanges(old, u)
		u.CreatedAt, u.UpdatedAt = old.CreatedAt, old.UpdatedAt
		if len(changed) == 0 {
			return nil
		}
		if _, err := w.exec(`UPDATE users SET name = ?, email = ?, updated_at = ? WHERE org_id = ? AND id = ?`,
			u.Name, u.Email, nanos(w.now), u.OrgID, u.ID); err != nil {
			if isUnique(err) {
				return errDuplicateEmail()
			}
			return fmt.Errorf("update user: %w", err)
		}
		u.UpdatedAt = w.now
		return w.audit(&octomesh.AuditEntry{OrgID: u.OrgID, Action: octomesh.AuditUserUpdated, Target: u.ID,
			Details: map[string]string{"fields": strings.Join(changed, ",")}})
	})
}

// DeleteUser erases a user: record and membership go, keys are revoked.
func (d *DB) DeleteUser(ctx context.Context, orgID, id string) error {
	return d.write(ctx, func(w *writeTx) error {
		var n int
		if err := w.queryRow(`SELECT COUNT(*) FROM users WHERE org_id = ? AND id = ?`, orgID, id).Scan(&n); err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
		if n == 0 {
			return errUserNotFound()
		}
		if err := w.keepAnOwner(orgID, id); err != nil {
			return err
		}
		revoked, err := w.tombstoneKeys(orgID, id)
		if err != nil {
			return err
		}
		if _, err := w.exec(`DELETE FROM users WHERE org_id = ? AND id = ?`, orgID, id); err != nil { // the membership cascades
			return fmt.Errorf("delete user: %w", err)
		}
		return w.audit(&octomesh.AuditEntry{OrgID: orgID, Action: octomesh.AuditUserDeleted, Target: id,
			Details: map[string]string{"keys_revoked": strconv.FormatInt(revoked, 10)}})
	})
}
