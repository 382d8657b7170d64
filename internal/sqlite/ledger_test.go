package sqlite

import (
	"context"
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
