package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
)

// TestLedgerAppendOnly checks the trigger refuses edits through SQL, while
// deleting the organisation still deletes its entries.
func TestLedgerAppendOnly(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "o.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateOrg(ctx, &octomesh.Org{ID: "o", Name: "O"}, &octomesh.User{ID: "u", Name: "U"}, nil); err != nil {
		t.Fatal(err)
	}
	e := octomesh.LedgerEntry{Kind: octomesh.EntryUsage, OrgID: "o", RequestID: "r", Attempt: 1, Cost: 5, Start: time.Now()}
	if n, err := db.AppendEntries(ctx, []octomesh.LedgerEntry{e}); err != nil || n != 1 {
		t.Fatalf("AppendEntries = %d, %v", n, err)
	}
	if _, err := db.db.Exec(`UPDATE ledger SET cost = 0`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("UPDATE of the ledger: err = %v, want the append-only refusal", err)
	}
	if err := db.DeleteOrg(ctx, "o"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.db.QueryRow(`SELECT COUNT(*) FROM ledger`).Scan(&n); err != nil || n != 0 {
		t.Errorf("ledger rows after DeleteOrg = %d, %v", n, err)
	}
}

// TestUpgradeFrom0002 migrates a database written by the released 0002
// schema and checks its organisation gets a working ledger.
func TestUpgradeFrom0002(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)`}
	for _, name := range []string{"0001_keys.sql", "0002_accounts.sql"} {
		body, err := migrations.ReadFile("migrations/" + name)
		if err != nil {
			t.Fatal(err)
		}
		stmts = append(stmts, string(body))
	}
	stmts = append(stmts, `INSERT INTO schema_migrations VALUES (1, '0001_keys.sql'), (2, '0002_accounts.sql')`,
		`INSERT INTO orgs (id, name, created_at, updated_at) VALUES ('default', 'Default', 1, 1)`)
	for _, q := range stmts {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e := octomesh.LedgerEntry{Kind: octomesh.EntryTopUp, OrgID: "default", RequestID: "pay", Cost: -octomesh.Dollar, Start: time.Now()}
	if n, err := db.AppendEntries(ctx, []octomesh.LedgerEntry{e}); err != nil || n != 1 {
		t.Fatalf("AppendEntries after the upgrade = %d, %v", n, err)
	}
	if bal, err := db.Balance(ctx, "default"); err != nil || bal != octomesh.Dollar {
		t.Errorf("Balance = %d, %v", bal, err)
	}
}
