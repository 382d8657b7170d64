package postgres

import (
	"context"
	"testing"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/storetest"
)

func TestConformance(t *testing.T) { storetest.Run(t, openHarness) }

func TestMeterConformance(t *testing.T) { storetest.RunMeter(t, openHarness) }

func openHarness(t *testing.T, now octomesh.Clock) *storetest.Harness {
	dsn := storetest.PostgresDSN(t)
	open := func(t *testing.T) *DB {
		db, err := Open(context.Background(), dsn, WithClock(now))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	tamper := func(t *testing.T, stmt string, args ...any) {
		t.Helper()
		storetest.PostgresExec(t, dsn, `ALTER TABLE audit_log DISABLE TRIGGER USER`)
		if n := storetest.PostgresExec(t, dsn, stmt, args...); n != 1 {
			t.Fatalf("tampering changed %d rows", n)
		}
	}
	return &storetest.Harness{
		Store:  open(t),
		Reopen: func(t *testing.T) octomesh.AccountStore { return open(t) },
		EditAuditEntry: func(t *testing.T, seq int64, action string) {
			tamper(t, `UPDATE audit_log SET action = $1 WHERE seq = $2`, action, seq)
		},
		DeleteAuditEntry: func(t *testing.T, seq int64) {
			tamper(t, `DELETE FROM audit_log WHERE seq = $1`, seq)
		},
	}
}
