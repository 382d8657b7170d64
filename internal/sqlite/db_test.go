package sqlite

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/octomesh/octomesh"
)

// TestConnectionsBoundTheirPageCache: every pooled connection has the
// smaller page cache, not only the first.
func TestConnectionsBoundTheirPageCache(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "o.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var conns []*sql.Conn
	for range 3 {
		c, err := db.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var kib int
		if err := c.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&kib); err != nil {
			t.Fatal(err)
		}
		if kib != -512 {
			t.Errorf("connection %d: cache_size %d, want -512 (512 KiB)", len(conns), kib)
		}
	}
	for _, c := range conns {
		c.Close()
	}
}

func TestOpenMigratesOnceAndKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "o.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateOrg(ctx, &octomesh.Org{ID: "o", Name: "O"}, &octomesh.User{ID: "u", Name: "U"}, nil); err != nil {
		t.Fatal(err)
	}
	k := &octomesh.APIKey{ID: "k1", OrgID: "o", Name: "n", Prefix: "om_abc", Hash: []byte{1, 2, 3}, Role: octomesh.RoleMember}
	if err := db.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = Open(ctx, path) // migrations must not run twice
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	var n int
	if err := db.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	entries, _ := migrations.ReadDir("migrations")
	if n != len(entries) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(entries))
	}
	got, err := db.KeyByHash(ctx, []byte{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "k1" || !got.CreatedAt.Equal(k.CreatedAt) || got.Prefix != "om_abc" {
		t.Errorf("got %+v", got)
	}
	var mode string
	db.db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode)
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Errorf("database file: %v", err)
	}
}

// TestUpgradeFrom0001 opens a database written by the released 0001 schema
// (the core issue's bootstrap admin key) and checks the key survives the
// upgrade as an owner operator key.
func TestUpgradeFrom0001(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	body, err := migrations.ReadFile("migrations/0001_keys.sql")
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)`,
		string(body),
		`INSERT INTO schema_migrations VALUES (1, '0001_keys.sql')`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw.Exec(`INSERT INTO api_keys (id, org_id, name, prefix, hash, admin, created_at) VALUES ('key_boot', 'default', 'bootstrap admin', 'om_x', x'0102', 1, ?)`, created.UnixNano()); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	k, err := db.KeyByHash(ctx, []byte{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	if k.Role != octomesh.RoleOwner || !k.Platform || k.OrgID != "default" || !k.UpdatedAt.Equal(created) || !k.Active(time.Now()) {
		t.Errorf("upgraded bootstrap key = %+v", k)
	}
}
