// Package storetest is the conformance suite every octomesh.AccountStore
// implementation passes (internal/sqlite, internal/postgres), so that they
// behave identically: organisations, users, memberships, keys with their
// change feed, and the hash-chained audit log, including what an attacker
// with direct database access can and cannot hide.
//
// An implementation's test calls Run with an Opener that creates a fresh,
// empty store for each subtest. PostgresDSN gives PostgreSQL tests an
// isolated schema per test.
package storetest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/apikey"
)

// Harness is one fresh store under test.
type Harness struct {
	Store octomesh.AccountStore
	// Reopen opens a second, independent handle on the same database, as
	// another serving node would.
	Reopen func(t *testing.T) octomesh.AccountStore
	// EditAuditEntry sets the action of audit entry seq directly in the
	// database, as an attacker with access to it would.
	EditAuditEntry func(t *testing.T, seq int64, action string)
	// DeleteAuditEntry deletes audit entry seq directly in the database.
	DeleteAuditEntry func(t *testing.T, seq int64)
}

// Opener creates a fresh, empty, migrated store whose times come from now,
// and closes it when the test ends.
type Opener func(t *testing.T, now octomesh.Clock) *Harness

// Clock is a settable clock for deterministic tests. It is safe for
// concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at a fixed instant.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Run runs the conformance suite.
func Run(t *testing.T, open Opener) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"Orgs", testOrgs},
		{"OrgDelete", testOrgDelete},
		{"Users", testUsers},
		{"Members", testMembers},
		{"LastOwner", testLastOwner},
		{"Keys", testKeys},
		{"KeyUserRules", testKeyUserRules},
		{"Rotation", testRotation},
		{"Isolation", testIsolation},
		{"AuthChanges", testAuthChanges},
		{"Audit", testAudit},
		{"AuditTamper", testAuditTamper},
		{"AuditInjection", testAuditInjection},
		{"ConcurrentWriters", testConcurrentWriters},
		{"CacheRevocation", testCacheRevocation},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// actorCtx is the context every change in the suite is made with.
func actorCtx() context.Context {
	return octomesh.WithActor(context.Background(), octomesh.Actor{Type: "key", KeyID: "key_actor", UserID: "usr_actor", OrgID: "org_actor", Source: "192.0.2.7"})
}

// world is an organisation with its owner and the owner's key.
type world struct {
	org      *octomesh.Org
	owner    *octomesh.User
	ownerKey *octomesh.APIKey
	raw      octomesh.Secret
}

func newWorld(t *testing.T, s octomesh.AccountStore, id string) *world {
	t.Helper()
	w := &world{
		org:   &octomesh.Org{ID: id, Name: "Org " + id, BillingEmail: "billing@" + id + ".example", Settings: octomesh.OrgSettings{NoTraining: true}},
		owner: &octomesh.User{ID: "usr_owner_" + id, Name: "Owner of " + id, Email: "owner@" + id + ".example"},
	}
	w.ownerKey, w.raw = newKey(t, id, w.owner.ID, octomesh.RoleOwner)
	if err := s.CreateOrg(actorCtx(), w.org, w.owner, w.ownerKey); err != nil {
		t.Fatalf("CreateOrg(%s): %v", id, err)
	}
	return w
}

// newKey returns an unsaved key with a fresh hash, and its raw value.
func newKey(t *testing.T, org, user string, role octomesh.OrgRole) (*octomesh.APIKey, octomesh.Secret) {
	t.Helper()
	k := &octomesh.APIKey{ID: octomesh.NewID("key"), OrgID: org, UserID: user, Role: role, Name: strings.TrimSpace("key of " + org + " " + user)}
	raw, err := apikey.Mint(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, raw
}

// addMember creates a user of org with a role.
func addMember(t *testing.T, s octomesh.AccountStore, org, id string, role octomesh.OrgRole) *octomesh.User {
	t.Helper()
	u := &octomesh.User{ID: id, OrgID: org, Name: "User " + id, Email: id + "@" + org + ".example"}
	if err := s.CreateUser(actorCtx(), u); err != nil {
		t.Fatalf("CreateUser(%s): %v", id, err)
	}
	if err := s.SetMember(actorCtx(), &octomesh.Membership{OrgID: org, UserID: id, Role: role}); err != nil {
		t.Fatalf("SetMember(%s): %v", id, err)
	}
	return u
}

// createKey stores a new key and returns it with its raw value.
func createKey(t *testing.T, s octomesh.AccountStore, org, user string, role octomesh.OrgRole) (*octomesh.APIKey, octomesh.Secret) {
	t.Helper()
	k, raw := newKey(t, org, user, role)
	if err := s.CreateKey(actorCtx(), k); err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	return k, raw
}

// wantCode fails unless err has the given code.
func wantCode(t *testing.T, what string, err error, code octomesh.ErrorCode) {
	t.Helper()
	if got := octomesh.ErrorCodeOf(err); got != code {
		t.Errorf("%s: err = %v (code %q), want code %q", what, err, got, code)
	}
}

// actions returns the actions of an org's audit entries, oldest first.
func actions(t *testing.T, s octomesh.AccountStore, org string) []string {
	t.Helper()
	es, err := s.ListAudit(context.Background(), octomesh.AuditFilter{OrgID: org, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[len(es)-1-i] = e.Action
	}
	return out
}
