package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/storetest"
)

// TestLedgerAppendOnly checks the triggers refuse edits through SQL, while
// deleting the organisation still deletes its entries.
func TestLedgerAppendOnly(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	ctx := context.Background()
	db, err := Open(ctx, dsn)
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
	for _, stmt := range []string{`UPDATE ledger SET cost = 0`, `TRUNCATE ledger`} {
		err := db.withConn(ctx, func(c *pgx.Conn) error { _, err := c.Exec(ctx, stmt); return err })
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want the append-only refusal", stmt, err)
		}
	}
	if err := db.DeleteOrg(ctx, "o"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.queryRow(ctx, `SELECT COUNT(*) FROM ledger`).Scan(&n); err != nil || n != 0 {
		t.Errorf("ledger rows after DeleteOrg = %d, %v", n, err)
	}
}

// TestUpgradeFrom0001 migrates a schema written by the released version 1
// and checks its organisation gets a working ledger.
func TestUpgradeFrom0001(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	ctx := context.Background()
	body, err := migrations.ReadFile("migrations/0001_accounts.sql")
	if err != nil {
		t.Fatal(err)
	}
	storetest.PostgresExec(t, dsn, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)`)
	storetest.PostgresExec(t, dsn, string(body))
	storetest.PostgresExec(t, dsn, `INSERT INTO schema_migrations VALUES (1, '0001_accounts.sql')`)
	storetest.PostgresExec(t, dsn, `INSERT INTO orgs (id, name, created_at, updated_at) VALUES ('default', 'Default', 1, 1)`)

	db, err := Open(ctx, dsn)
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
