package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresEnv names the environment variable holding the PostgreSQL DSN
// tests use. .ci/run always sets it.
const PostgresEnv = "OCTOMESH_TEST_POSTGRES_DSN"

// PostgresDSN returns a DSN for a fresh schema of the test database, which
// is dropped when the test ends, so tests and packages running in parallel
// never see each other's data. It skips the test, saying why, when
// OCTOMESH_TEST_POSTGRES_DSN is not set, and fails it when the database
// cannot be reached.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(PostgresEnv)
	if dsn == "" {
		t.Skipf("%s is not set: skipping the PostgreSQL tests (CI sets it, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", PostgresEnv)
	}
	var b [8]byte
	rand.Read(b[:])
	schema := "octotest_" + hex.EncodeToString(b[:])
	ident := pgx.Identifier{schema}.Sanitize()
	exec := func(stmt string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		_, err = c.Exec(ctx, stmt)
		return err
	}
	if err := exec("CREATE SCHEMA " + ident); err != nil {
		t.Fatalf("%s is set but the database cannot be used: %v", PostgresEnv, err)
	}
	t.Cleanup(func() {
		if err := exec("DROP SCHEMA " + ident + " CASCADE"); err != nil {
			t.Errorf("drop test schema: %v", err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s: not a URL", PostgresEnv)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// PostgresExec runs one statement on the database at dsn, for tests that
// act as an attacker with direct access.
func PostgresExec(t testing.TB, dsn, stmt string, args ...any) int64 {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	tag, err := c.Exec(ctx, stmt, args...)
	if err != nil {
		t.Fatal(err)
	}
	return tag.RowsAffected()
}
