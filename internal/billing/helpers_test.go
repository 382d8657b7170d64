package billing_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/sqlite"
)

// openDB opens a fresh SQLite store in the test's temp dir.
func openDB(t testing.TB) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "billing.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// newOrg creates an organisation with an owner.
func newOrg(t testing.TB, db *sqlite.DB, id, name string, prepaid bool) *octomesh.Org {
	t.Helper()
	o := &octomesh.Org{ID: id, Name: name, Settings: octomesh.OrgSettings{Prepaid: prepaid}}
	if err := db.CreateOrg(context.Background(), o, &octomesh.User{ID: "usr_" + id, Name: "Owner"}, nil); err != nil {
		t.Fatal(err)
	}
	return o
}

// newKey stores an API key of org with a name.
func newKey(t testing.TB, db *sqlite.DB, org, id, name string) {
	t.Helper()
	k := &octomesh.APIKey{ID: id, OrgID: org, Role: octomesh.RoleMember, Name: name, Prefix: "om_" + id[:4], Hash: []byte("hash-of-" + id)}
	if err := db.CreateKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
}

func appendEntries(t testing.TB, db *sqlite.DB, entries ...octomesh.LedgerEntry) {
	t.Helper()
	n, err := db.AppendEntries(context.Background(), entries)
	if err != nil || n != len(entries) {
		t.Fatalf("AppendEntries = %d, %v; want %d new", n, err, len(entries))
	}
}

// usage is a usage entry.
func usage(org, req string, attempt int, model, key string, at time.Time, cost octomesh.Money, prompt, cached, completion int64) octomesh.LedgerEntry {
	return octomesh.LedgerEntry{Kind: octomesh.EntryUsage, OrgID: org, RequestID: req, Attempt: attempt, Deployment: model, KeyID: key,
		Provider: "sim", PromptTokens: prompt, CachedTokens: cached, CompletionTokens: completion, Cost: cost, Outcome: "ok", Start: at, End: at.Add(time.Second)}
}

func topUp(org, req string, at time.Time, amount octomesh.Money) octomesh.LedgerEntry {
	return octomesh.LedgerEntry{Kind: octomesh.EntryTopUp, OrgID: org, RequestID: req, Cost: -amount, Start: at, End: at}
}

func fixed(t time.Time) octomesh.Clock { return func() time.Time { return t } }
