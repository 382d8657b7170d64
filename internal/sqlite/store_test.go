package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/storetest"
)

func TestConformance(t *testing.T) { storetest.Run(t, openHarness) }

func TestMeterConformance(t *testing.T) { storetest.RunMeter(t, openHarness) }

func openHarness(t *testing.T, now octomesh.Clock) *storetest.Harness {
	path := filepath.Join(t.TempDir(), "octomesh.db")
	open := func(t *testing.T) *DB {
		db, err := Open(context.Background(), path, WithClock(now))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	db := open(t)
	// tamper opens the file as an attacker would: the append-only
	// triggers are no obstacle to someone who can write the file.
	tamper := func(t *testing.T, query string, args ...any) {
		t.Helper()
		for _, q := range []string{`DROP TRIGGER IF EXISTS audit_log_no_update`, `DROP TRIGGER IF EXISTS audit_log_no_delete`} {
			if _, err := db.db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		if res, err := db.db.Exec(query, args...); err != nil {
			t.Fatal(err)
		} else if n, _ := res.RowsAffected(); n != 1 {
			t.Fatalf("tampering changed %d rows", n)
		}
	}
	return &storetest.Harness{
		Store:  db,
		Reopen: func(t *testing.T) octomesh.AccountStore { return open(t) },
		EditAuditEntry: func(t *testing.T, seq int64, action string) {
			tamper(t, `UPDATE audit_log SET action = ? WHERE seq = ?`, action, seq)
		},
		DeleteAuditEntry: func(t *testing.T, seq int64) {
			tamper(t, `DELETE FROM audit_log WHERE seq = ?`, seq)
		},
	}
}

// TestAuditAppendOnly checks the triggers refuse edits through SQL.
func TestAuditAppendOnly(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "o.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.AppendAudit(context.Background(), &octomesh.AuditEntry{OrgID: "o", Action: octomesh.AuditUserExported, Target: "u"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.db.Exec(`UPDATE audit_log SET action = 'x'`); err == nil {
		t.Errorf("UPDATE of the audit log succeeded")
	}
	if _, err := db.db.Exec(`DELETE FROM audit_log`); err == nil {
		t.Errorf("DELETE from the audit log succeeded")
	}
}
