// Package postgres is OctoMesh's PostgreSQL store, for deployments that run
// several `octomesh serve` replicas on one system of record.
//
// Open parses a postgres:// URL (pool_max_conns, default 10, sizes the
// connection pool; search_path and other run-time parameters pass through),
// and applies the embedded, numbered migrations in migrations/ inside one
// transaction under an advisory lock, so replicas starting together migrate
// once. A released migration is never edited, only followed by a new one.
// Queries are parameterised only.
//
// DB implements octomesh.AccountStore with the same behaviour as
// internal/sqlite (internal/storetest checks both). Every write transaction
// first updates the single store_head row: its row lock serialises writers,
// so the revisions the key cache's change feed relies on are handed out in
// commit order, and the audit chain has one head. Writes are rare
// (administration), so the serialisation costs nothing that matters.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/octomesh/octomesh"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is an open OctoMesh PostgreSQL store. It is safe for concurrent use.
type DB struct {
	pool *pool
	now  octomesh.Clock
}

var _ octomesh.AccountStore = (*DB)(nil)

// Option configures a DB.
type Option func(*DB)

// WithClock sets the clock that stamps times (default time.Now).
func WithClock(now octomesh.Clock) Option { return func(d *DB) { d.now = now } }

// DefaultMaxConns is the pool size when the DSN sets no pool_max_conns.
const DefaultMaxConns = 10

// Open connects to the database at dsn (a postgres:// URL) and migrates it.
// Errors never contain the DSN's password.
func Open(ctx context.Context, dsn string, opts ...Option) (*DB, error) {
	dsn, max, err := poolSize(dsn)
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, errors.New("open postgres: the DSN is not a valid PostgreSQL URL")
	}
	d := &DB{pool: newPool(cfg, max), now: time.Now}
	for _, o := range opts {
		o(d)
	}
	if err := d.migrate(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// poolSize takes pool_max_conns out of the DSN's query (PostgreSQL would
// reject it as an unknown run-time parameter).
func poolSize(dsn string) (string, int, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", 0, errors.New("open postgres: the DSN is not a valid PostgreSQL URL")
	}
	q := u.Query()
	max := DefaultMaxConns
	if v := q.Get("pool_max_conns"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return "", 0, errors.New("open postgres: pool_max_conns must be a positive integer")
		}
		max = n
		q.Del("pool_max_conns")
		u.RawQuery = q.Encode()
	}
	return u.String(), max, nil
}

// Close closes the pool's connections.
func (d *DB) Close() error {
	d.pool.close()
	return nil
}

// Ping checks the database answers; used by /readyz.
func (d *DB) Ping(ctx context.Context) error {
	return d.withConn(ctx, func(c *pgx.Conn) error { return c.Ping(ctx) })
}

// withConn runs fn with a pooled connection.
func (d *DB) withConn(ctx context.Context, fn func(c *pgx.Conn) error) error {
	c, err := d.pool.acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer d.pool.release(c)
	return fn(c)
}

// migrate applies the migrations not yet applied, all in one transaction
// holding an advisory lock scoped to the current schema.
func (d *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sort.Strings(names)
	return d.withConn(ctx, func(c *pgx.Conn) error {
		tx, err := c.Begin(ctx)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':octomesh-migrate'))`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		for _, name := range names {
			base := strings.TrimPrefix(name, "migrations/")
			version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
			if err != nil {
				return fmt.Errorf("migrate: bad migration name %s", base)
			}
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, version).Scan(&n); err != nil {
				return fmt.Errorf("migrate %s: %w", base, err)
			}
			if n > 0 {
				continue
			}
			body, err := migrations.ReadFile(name)
			if err != nil {
				return fmt.Errorf("migrate %s: %w", base, err)
			}
			if _, err := tx.Exec(ctx, string(body)); err != nil { // no arguments: the simple protocol runs every statement
				return fmt.Errorf("migrate %s: %w", base, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, version, base); err != nil {
				return fmt.Errorf("migrate %s: %w", base, err)
			}
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		return nil
	})
}

// pgCode returns the SQLSTATE and constraint of a PostgreSQL error.
func pgCode(err error) (code, constraint string) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code, pe.ConstraintName
	}
	return "", ""
}

func constraint(err error) string { _, c := pgCode(err); return c }
func isUnique(err error) bool     { c, _ := pgCode(err); return c == "23505" }
func isForeignKey(err error) bool { c, _ := pgCode(err); return c == "23503" }
func noRows(err error) bool       { return errors.Is(err, pgx.ErrNoRows) }

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

// rowFunc runs a one-row query when scanned, on a pooled connection.
type rowFunc func(dest ...any) error

func (f rowFunc) Scan(dest ...any) error { return f(dest...) }

// queryRow returns a row that runs query on a pooled connection when scanned.
func (d *DB) queryRow(ctx context.Context, query string, args ...any) scanner {
	return rowFunc(func(dest ...any) error {
		return d.withConn(ctx, func(c *pgx.Conn) error { return c.QueryRow(ctx, query, args...).Scan(dest...) })
	})
}

// connRows are query results that give their connection back on Close.
type connRows struct {
	pgx.Rows
	release func()
	closed  bool
}

func (r *connRows) Close() {
	if !r.closed {
		r.closed = true
		r.Rows.Close()
		r.release()
	}
}

// query runs query on a pooled connection; the caller must Close the rows.
func (d *DB) query(ctx context.Context, query string, args ...any) (*connRows, error) {
	c, err := d.pool.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	rows, err := c.Query(ctx, query, args...)
	if err != nil {
		d.pool.release(c)
		return nil, err
	}
	return &connRows{Rows: rows, release: func() { d.pool.release(c) }}, nil
}
