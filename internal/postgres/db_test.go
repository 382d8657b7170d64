package postgres

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/storetest"
)

func TestMigratesOnceConcurrently(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	ctx := context.Background()
	// Replicas starting together: every Open succeeds and the schema is migrated once.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := Open(ctx, dsn)
			if err == nil {
				db.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	db, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.queryRow(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	entries, _ := migrations.ReadDir("migrations")
	if n != len(entries) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(entries))
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestAuditAppendOnly(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	ctx := context.Background()
	db, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.AppendAudit(ctx, &octomesh.AuditEntry{OrgID: "o", Action: octomesh.AuditUserExported, Target: "u"}); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{`UPDATE audit_log SET action = 'x'`, `DELETE FROM audit_log`, `TRUNCATE audit_log`} {
		err := db.withConn(ctx, func(c *pgx.Conn) error { _, err := c.Exec(ctx, stmt); return err })
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want the append-only refusal", stmt, err)
		}
	}
}

func TestOpenErrorsHideThePassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, dsn := range []string{
		"postgres://octo:s3cr3t-pw@127.0.0.1:1/db?sslmode=disable&connect_timeout=2",
		"postgres://octo:s3cr3t-pw@127.0.0.1:5432/db?sslmode=bogus",
		"postgres://octo:s3cr3t-pw@127.0.0.1:5432/db?pool_max_conns=0",
	} {
		_, err := Open(ctx, dsn)
		if err == nil {
			t.Fatalf("Open(%s) succeeded", dsn)
		}
		if strings.Contains(err.Error(), "s3cr3t-pw") {
			t.Errorf("Open error reveals the password: %v", err)
		}
	}
}

func TestPoolBoundsConnections(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	ctx := context.Background()
	db, err := Open(ctx, dsn+"&pool_max_conns=2")
	if err != nil {
		t.Fatal(err)
	}
	a, err := db.pool.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.pool.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := db.pool.acquire(short); err == nil {
		t.Fatalf("a third connection was handed out with pool_max_conns=2")
	}
	// A connection left inside a transaction is not reused.
	if _, err := a.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	db.pool.release(a)
	if !a.IsClosed() {
		t.Errorf("a connection inside a transaction went back to the pool")
	}
	db.pool.release(b)
	c, err := db.pool.acquire(ctx)
	if err != nil || c != b {
		t.Errorf("idle connection not reused: %v", err)
	}
	db.pool.release(c)
	db.Close()
	if !b.IsClosed() {
		t.Errorf("Close left an idle connection open")
	}
	if err := db.Ping(ctx); err == nil {
		t.Errorf("Ping after Close succeeded")
	}
}
