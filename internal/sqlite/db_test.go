package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
)

func TestOpenMigratesOnceAndKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "o.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	k := &octomesh.APIKey{ID: "k1", OrgID: "o", Name: "n", Prefix: "om_abc", Hash: []byte{1, 2, 3}, CreatedAt: time.Unix(100, 5).UTC()}
	if err := db.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateKey(ctx, k); octomesh.ErrorCodeOf(err) != octomesh.EINVALID {
		t.Errorf("duplicate key: err = %v, want EINVALID", err)
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
	if _, err := db.KeyByHash(ctx, []byte{9}); octomesh.ErrorCodeOf(err) != octomesh.ENOTFOUND {
		t.Errorf("missing key: err = %v", err)
	}
	if list, _ := db.ListKeys(ctx, "other-org"); len(list) != 0 {
		t.Errorf("ListKeys for another org returned %d keys", len(list))
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
