package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/octomesh/octomesh"
)

var _ octomesh.KeyStore = (*DB)(nil)

// CreateKey stores k's hash and metadata. It returns EINVALID when the ID or
// hash already exists.
func (d *DB) CreateKey(ctx context.Context, k *octomesh.APIKey) error {
	_, err := d.db.ExecContext(ctx,
		`INSERT INTO api_keys (id, org_id, name, prefix, hash, admin, created_at, expires_at, revoked_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.OrgID, k.Name, k.Prefix, k.Hash, k.Admin, nanos(k.CreatedAt), nanos(k.ExpiresAt), nanos(k.RevokedAt))
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return octomesh.Errorf(octomesh.EINVALID, "an API key with this id or value already exists")
		}
		return fmt.Errorf("create api key: %w", err)
	}
	return nil
}

// KeyByHash returns the key with the given hash, or ENOTFOUND.
func (d *DB) KeyByHash(ctx context.Context, hash []byte) (*octomesh.APIKey, error) {
	row := d.db.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE hash = ?`, hash)
	k, err := scanKey(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, octomesh.Errorf(octomesh.ENOTFOUND, "API key not found")
	}
	return k, err
}

// ListKeys lists the keys of org (all keys when org is ""), oldest first.
func (d *DB) ListKeys(ctx context.Context, org string) ([]*octomesh.APIKey, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE ? = '' OR org_id = ? ORDER BY created_at, id`, org, org)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	defer rows.Close()
	var out []*octomesh.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

const keyCols = `id, org_id, name, prefix, hash, admin, created_at, expires_at, revoked_at`

type scanner interface{ Scan(...any) error }

func scanKey(s scanner) (*octomesh.APIKey, error) {
	var k octomesh.APIKey
	var created, expires, revoked int64
	if err := s.Scan(&k.ID, &k.OrgID, &k.Name, &k.Prefix, &k.Hash, &k.Admin, &created, &expires, &revoked); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		return nil, fmt.Errorf("scan api key: %w", err)
	}
	k.CreatedAt, k.ExpiresAt, k.RevokedAt = fromNanos(created), fromNanos(expires), fromNanos(revoked)
	return &k, nil
}

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
