package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/octomesh/octomesh"
)

func testKeys(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now).Store
	ctx := actorCtx()
	a := newWorld(t, s, "org_a")
	addMember(t, s, "org_a", "usr_m", octomesh.RoleMember)

	k, _ := newKey(t, "org_a", "usr_m", octomesh.RoleMember)
	k.Project, k.Name = "checkout", "ci key"
	k.ExpiresAt = clock.Now().Add(48 * time.Hour)
	k.Scopes = octomesh.KeyScopes{Models: []string{"sim/gpt-4o-mini", "fast"}, RPM: 60, TPM: 100000, Budgets: []string{"bud_1"},
		ZeroRetention: true, NoTraining: true, Regions: []string{"eu", "us"}}
	if err := s.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if k.Rev == 0 || !k.CreatedAt.Equal(clock.Now()) {
		t.Errorf("CreateKey did not stamp the key: %+v", k)
	}
	got, err := s.Key(ctx, "org_a", k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(k, got); diff != "" {
		t.Errorf("Key() differs from the created key (-want +got):\n%s", diff)
	}
	byHash, err := s.KeyByHash(ctx, k.Hash)
	if err != nil || byHash.ID != k.ID {
		t.Errorf("KeyByHash = %v, %v", byHash, err)
	}
	wantCode(t, "unknown hash", errOf(s.KeyByHash(ctx, []byte("nope"))), octomesh.ENOTFOUND)
	dup := *k
	dup.ID = "key_other"
	wantCode(t, "duplicate hash", s.CreateKey(ctx, &dup), octomesh.EINVALID)
	dup = *k
	dup.Hash = []byte("another hash")
	wantCode(t, "duplicate id", s.CreateKey(ctx, &dup), octomesh.EINVALID)
	bad, _ := newKey(t, "org_nope", "", octomesh.RoleMember)
	wantCode(t, "unknown org", s.CreateKey(ctx, bad), octomesh.ENOTFOUND)
	bad, _ = newKey(t, "org_a", "", "superuser")
	wantCode(t, "invalid role", s.CreateKey(ctx, bad), octomesh.EINVALID)
	bad, _ = newKey(t, "org_a", "", octomesh.RoleMember)
	bad.Scopes.RPM = -1
	wantCode(t, "negative rpm", s.CreateKey(ctx, bad), octomesh.EINVALID)

	// Listing: filters, and revoked or expired keys only on request.
	org, _ := createKey(t, s, "org_a", "", octomesh.RoleViewer)
	expiring, _ := newKey(t, "org_a", "", octomesh.RoleMember)
	expiring.ExpiresAt = clock.Now().Add(time.Hour)
	if err := s.CreateKey(ctx, expiring); err != nil {
		t.Fatal(err)
	}
	list := func(f octomesh.KeyFilter) []string {
		t.Helper()
		l, err := s.ListKeys(ctx, "org_a", f)
		if err != nil {
			t.Fatal(err)
		}
		return sorted(ids(l))
	}
	if got, want := list(octomesh.KeyFilter{}), sorted([]string{a.ownerKey.ID, k.ID, org.ID, expiring.ID}); !cmp.Equal(got, want) {
		t.Errorf("ListKeys = %v, want %v", got, want)
	}
	if got, want := list(octomesh.KeyFilter{UserID: "usr_m"}), sorted([]string{k.ID}); !cmp.Equal(got, want) {
		t.Errorf("ListKeys(user) = %v, want %v", got, want)
	}
	if got, want := list(octomesh.KeyFilter{Project: "checkout"}), sorted([]string{k.ID}); !cmp.Equal(got, want) {
		t.Errorf("ListKeys(project) = %v, want %v", got, want)
	}
	clock.Advance(time.Hour)
	if err := s.RevokeKey(ctx, "org_a", org.ID); err != nil {
		t.Fatal(err)
	}
	if got, want := list(octomesh.KeyFilter{}), sorted([]string{a.ownerKey.ID, k.ID}); !cmp.Equal(got, want) {
		t.Errorf("ListKeys after a revocation and an expiry = %v, want %v", got, want)
	}
	if got, want := list(octomesh.KeyFilter{IncludeRevoked: true}), sorted([]string{a.ownerKey.ID, k.ID, org.ID, expiring.ID}); !cmp.Equal(got, want) {
		t.Errorf("ListKeys(include revoked) = %v, want %v", got, want)
	}
	if all, _ := s.ListKeys(ctx, "", octomesh.KeyFilter{}); len(all) != 2 {
		t.Errorf("ListKeys(all orgs) = %d keys, want 2", len(all))
	}

	// Revocation is idempotent and audited once.
	if err := s.RevokeKey(ctx, "org_a", org.ID); err != nil {
		t.Errorf("revoke twice: %v", err)
	}
	if es, _ := s.ListAudit(ctx, octomesh.AuditFilter{Target: org.ID, Action: octomesh.AuditKeyRevoked}); len(es) != 1 {
		t.Errorf("key.revoked entries = %d, want 1", len(es))
	}
	r, _ := s.Key(ctx, "org_a", org.ID)
	if !r.RevokedAt.Equal(clock.Now()) || r.Active(clock.Now()) {
		t.Errorf("revoked key = %+v", r)
	}
	wantCode(t, "update a revoked key", s.UpdateKey(ctx, r), octomesh.EINVALID)

	// Update: the listed fields change; hash, owner and platform do not.
	clock.Advance(time.Minute)
	upd := *k
	upd.Name, upd.Project, upd.Role = "renamed", "", octomesh.RoleViewer
	upd.Scopes = octomesh.KeyScopes{Models: []string{"sim/gpt-4o"}}
	upd.ExpiresAt = time.Time{}
	upd.UserID, upd.Hash, upd.Platform = "usr_other", []byte("forged"), true
	if err := s.UpdateKey(ctx, &upd); err == nil {
		// viewer is not covered by the user's member role: refused
		t.Errorf("UpdateKey to a role the user's membership does not cover succeeded")
	}
	upd.Role = octomesh.RoleMember
	if err := s.UpdateKey(ctx, &upd); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Key(ctx, "org_a", k.ID)
	if got.Name != "renamed" || got.Project != "" || !got.ExpiresAt.IsZero() || !cmp.Equal(got.Scopes, upd.Scopes) ||
		got.UserID != "usr_m" || string(got.Hash) != string(k.Hash) || got.Platform || got.Rev <= k.Rev {
		t.Errorf("after UpdateKey: %+v", got)
	}
	if diff := cmp.Diff(got, &upd); diff != "" {
		t.Errorf("UpdateKey's result differs from the stored key (-stored +result):\n%s", diff)
	}
	es, _ := s.ListAudit(ctx, octomesh.AuditFilter{Target: k.ID, Action: octomesh.AuditKeyUpdated})
	if len(es) != 1 || es[0].Details["fields"] != "name,project,expires_at,scopes.models,scopes.rpm,scopes.tpm,scopes.budgets,scopes.zero_retention,scopes.no_training,scopes.regions" {
		t.Errorf("key.updated entries = %+v", es)
	}
	wantCode(t, "update missing", s.UpdateKey(ctx, &octomesh.APIKey{ID: "key_nope", OrgID: "org_a", Role: octomesh.RoleMember}), octomesh.ENOTFOUND)

	// Delete: gone from every read but the hash lookup, which finds a tombstone.
	if err := s.DeleteKey(ctx, "org_a", k.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "deleted key", errOf(s.Key(ctx, "org_a", k.ID)), octomesh.ENOTFOUND)
	wantCode(t, "delete twice", s.DeleteKey(ctx, "org_a", k.ID), octomesh.ENOTFOUND)
	wantCode(t, "revoke deleted", s.RevokeKey(ctx, "org_a", k.ID), octomesh.ENOTFOUND)
	if got := list(octomesh.KeyFilter{IncludeRevoked: true}); contains(got, k.ID) {
		t.Errorf("ListKeys still shows the deleted key: %v", got)
	}
	tomb, err := s.KeyByHash(ctx, k.Hash)
	if err != nil || tomb.DeletedAt.IsZero() || tomb.Active(clock.Now()) || tomb.Name != "" || tomb.Project != "" {
		t.Errorf("tombstone = %+v, %v", tomb, err)
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func testKeyUserRules(t *testing.T, open Opener) {
	s := open(t, NewClock().Now).Store
	ctx := actorCtx()
	newWorld(t, s, "org_a")
	newWorld(t, s, "org_b")
	addMember(t, s, "org_a", "usr_billing", octomesh.RoleBilling)
	if err := s.CreateUser(ctx, &octomesh.User{ID: "usr_nomember", OrgID: "org_a", Name: "N"}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		user string
		role octomesh.OrgRole
		want octomesh.ErrorCode
	}{
		{"own role", "usr_billing", octomesh.RoleBilling, ""},
		{"role above the user's", "usr_billing", octomesh.RoleMember, octomesh.EINVALID},
		{"owner for a billing user", "usr_billing", octomesh.RoleOwner, octomesh.EINVALID},
		{"user without membership", "usr_nomember", octomesh.RoleViewer, octomesh.EINVALID},
		{"unknown user", "usr_nope", octomesh.RoleViewer, octomesh.EINVALID},
		{"user of another org", "usr_owner_org_b", octomesh.RoleViewer, octomesh.EINVALID},
		{"organisation key", "", octomesh.RoleOwner, ""},
	} {
		k, _ := newKey(t, "org_a", tt.user, tt.role)
		wantCode(t, tt.name, s.CreateKey(ctx, k), tt.want)
	}
}

func testRotation(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now).Store
	ctx := actorCtx()
	newWorld(t, s, "org_a")
	old, _ := createKey(t, s, "org_a", "", octomesh.RoleMember)

	// With an overlap, the old key keeps working until it ends.
	next, _ := newKey(t, "org_a", "", octomesh.RoleMember)
	ends := clock.Now().Add(time.Hour)
	if err := s.RotateKey(ctx, "org_a", old.ID, next, ends); err != nil {
		t.Fatal(err)
	}
	o, _ := s.Key(ctx, "org_a", old.ID)
	if !o.ExpiresAt.Equal(ends) || !o.RevokedAt.IsZero() || o.ReplacedBy != next.ID || !o.Active(clock.Now()) {
		t.Errorf("old key during the overlap = %+v", o)
	}
	if n, err := s.Key(ctx, "org_a", next.ID); err != nil || !n.Active(clock.Now()) {
		t.Errorf("successor = %+v, %v", n, err)
	}
	clock.Advance(time.Hour)
	if o.Active(clock.Now()) {
		t.Errorf("old key still active when the overlap ended")
	}
	es, _ := s.ListAudit(ctx, octomesh.AuditFilter{Target: old.ID, Action: octomesh.AuditKeyRotated})
	if len(es) != 1 || es[0].Details["successor"] != next.ID {
		t.Errorf("key.rotated entries = %+v", es)
	}
	wantCode(t, "rotate an expired key", s.RotateKey(ctx, "org_a", old.ID, mustKey(t, "org_a"), clock.Now()), octomesh.EINVALID)

	// Without an overlap, the old key is revoked at once.
	next2 := mustKey(t, "org_a")
	if err := s.RotateKey(ctx, "org_a", next.ID, next2, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Key(ctx, "org_a", next.ID); n.Active(clock.Now()) || !n.RevokedAt.Equal(clock.Now()) {
		t.Errorf("old key after rotation without overlap = %+v", n)
	}
	// An overlap never extends a key's own, earlier expiry.
	short := mustKey(t, "org_a")
	short.ExpiresAt = clock.Now().Add(time.Minute)
	if err := s.CreateKey(ctx, short); err != nil {
		t.Fatal(err)
	}
	if err := s.RotateKey(ctx, "org_a", short.ID, mustKey(t, "org_a"), clock.Now().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Key(ctx, "org_a", short.ID); !got.ExpiresAt.Equal(short.ExpiresAt) {
		t.Errorf("rotation extended the key's expiry to %v", got.ExpiresAt)
	}
	// A failed rotation changes nothing.
	dupHash := mustKey(t, "org_a")
	dupHash.Hash = next2.Hash
	wantCode(t, "rotate into a duplicate", s.RotateKey(ctx, "org_a", next2.ID, dupHash, time.Time{}), octomesh.EINVALID)
	if n, _ := s.Key(ctx, "org_a", next2.ID); !n.Active(clock.Now()) || n.ReplacedBy != "" {
		t.Errorf("a failed rotation changed the old key: %+v", n)
	}
	wantCode(t, "successor in another org", s.RotateKey(ctx, "org_a", next2.ID, mustKey(t, "org_b"), time.Time{}), octomesh.EINVALID)
	wantCode(t, "rotate unknown", s.RotateKey(ctx, "org_a", "key_nope", mustKey(t, "org_a"), time.Time{}), octomesh.ENOTFOUND)
}

func mustKey(t *testing.T, org string) *octomesh.APIKey {
	t.Helper()
	k, _ := newKey(t, org, "", octomesh.RoleMember)
	return k
}

// testIsolation checks every read and write keyed by organisation: another
// organisation's objects answer exactly as missing ones do and are never
// changed.
func testIsolation(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now).Store
	ctx := actorCtx()
	newWorld(t, s, "org_a")
	b := newWorld(t, s, "org_b")
	bu := addMember(t, s, "org_b", "usr_b", octomesh.RoleAdmin)
	bk, _ := createKey(t, s, "org_b", bu.ID, octomesh.RoleAdmin)

	checks := []struct {
		name string
		err  error
	}{
		{"User", errOf(s.User(ctx, "org_a", bu.ID))},
		{"UpdateUser", s.UpdateUser(ctx, &octomesh.User{ID: bu.ID, OrgID: "org_a", Name: "pwned"})},
		{"DeleteUser", s.DeleteUser(ctx, "org_a", bu.ID)},
		{"Member", errOf(s.Member(ctx, "org_a", bu.ID))},
		{"SetMember", s.SetMember(ctx, &octomesh.Membership{OrgID: "org_a", UserID: bu.ID, Role: octomesh.RoleOwner})},
		{"RemoveMember", s.RemoveMember(ctx, "org_a", bu.ID)},
		{"Key", errOf(s.Key(ctx, "org_a", bk.ID))},
		{"UpdateKey", s.UpdateKey(ctx, &octomesh.APIKey{ID: bk.ID, OrgID: "org_a", Role: octomesh.RoleOwner, Name: "pwned"})},
		{"RotateKey", s.RotateKey(ctx, "org_a", bk.ID, mustKey(t, "org_a"), time.Time{})},
		{"RevokeKey", s.RevokeKey(ctx, "org_a", bk.ID)},
		{"DeleteKey", s.DeleteKey(ctx, "org_a", bk.ID)},
	}
	for _, c := range checks {
		wantCode(t, c.name+" across organisations", c.err, octomesh.ENOTFOUND)
	}
	// The answers are the same as for objects that do not exist at all.
	if a, b := errOf(s.Key(ctx, "org_a", bk.ID)), errOf(s.Key(ctx, "org_a", "key_missing")); octomesh.ErrorMessage(a) != octomesh.ErrorMessage(b) {
		t.Errorf("foreign key answers %q, missing key %q", octomesh.ErrorMessage(a), octomesh.ErrorMessage(b))
	}
	if a, b := errOf(s.User(ctx, "org_a", bu.ID)), errOf(s.User(ctx, "org_a", "usr_missing")); octomesh.ErrorMessage(a) != octomesh.ErrorMessage(b) {
		t.Errorf("foreign user answers %q, missing user %q", octomesh.ErrorMessage(a), octomesh.ErrorMessage(b))
	}
	// Lists and filters never cross over.
	if l, _ := s.ListKeys(ctx, "org_a", octomesh.KeyFilter{UserID: bu.ID, IncludeRevoked: true}); len(l) != 0 {
		t.Errorf("ListKeys(org_a, user of org_b) = %v", ids(l))
	}
	if l, _ := s.ListUsers(ctx, "org_a", octomesh.UserFilter{Email: bu.Email}); len(l) != 0 {
		t.Errorf("ListUsers(org_a, email of org_b) = %v", ids(l))
	}
	if l, _ := s.ListMembers(ctx, "org_a", octomesh.RoleAdmin); len(l) != 0 {
		t.Errorf("ListMembers(org_a, admin) = %v", l)
	}
	if l, _ := s.ListAudit(ctx, octomesh.AuditFilter{OrgID: "org_a", Target: bk.ID}); len(l) != 0 {
		t.Errorf("ListAudit(org_a, target in org_b) = %d entries", len(l))
	}
	for _, e := range must(s.ListAudit(ctx, octomesh.AuditFilter{OrgID: "org_a", Limit: 1000})) {
		if e.OrgID != "org_a" {
			t.Errorf("ListAudit(org_a) returned an entry of %s", e.OrgID)
		}
	}
	// Nothing of org_b changed.
	if k, err := s.Key(ctx, "org_b", bk.ID); err != nil || !k.Active(clock.Now()) || k.Name != bk.Name || k.Role != octomesh.RoleAdmin {
		t.Errorf("org_b's key changed: %+v, %v", k, err)
	}
	if u, err := s.User(ctx, "org_b", bu.ID); err != nil || u.Name != bu.Name {
		t.Errorf("org_b's user changed: %+v, %v", u, err)
	}
	if m, err := s.Member(ctx, "org_b", bu.ID); err != nil || m.Role != octomesh.RoleAdmin {
		t.Errorf("org_b's membership changed: %+v, %v", m, err)
	}
	_ = b
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func testAuthChanges(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now).Store
	ctx := actorCtx()
	all, err := s.AuthChanges(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Keys) != 0 || len(all.Orgs) != 0 {
		t.Errorf("an empty store has changes: %+v", all)
	}
	a := newWorld(t, s, "org_a")
	ch, err := s.AuthChanges(ctx, all.Rev)
	if err != nil {
		t.Fatal(err)
	}
	if ids(ch.Keys)[0] != a.ownerKey.ID || len(ch.Keys) != 1 || len(ch.Orgs) != 1 || ch.Rev <= all.Rev {
		t.Fatalf("changes after CreateOrg = %+v", ch)
	}
	rev := ch.Rev
	// Changes that do not touch keys or organisations leave the feed quiet.
	addMember(t, s, "org_a", "usr_1", octomesh.RoleViewer)
	if ch, _ := s.AuthChanges(ctx, rev); len(ch.Keys)+len(ch.Orgs) != 0 {
		t.Errorf("user changes appeared in the feed: %+v", ch)
	}
	k, _ := createKey(t, s, "org_a", "usr_1", octomesh.RoleViewer)
	other, _ := createKey(t, s, "org_a", "", octomesh.RoleMember)
	ch, _ = s.AuthChanges(ctx, rev)
	if got := ids(ch.Keys); !cmp.Equal(got, []string{k.ID, other.ID}) {
		t.Errorf("feed after two creations = %v", got)
	}
	rev = ch.Rev
	// Revocation, deletion, settings and removal of a member all show up, in revision order.
	if err := s.RevokeKey(ctx, "org_a", other.ID); err != nil {
		t.Fatal(err)
	}
	upd := *a.org
	upd.Settings.ZeroRetention = true
	if err := s.UpdateOrg(ctx, &upd); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveMember(ctx, "org_a", "usr_1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteKey(ctx, "org_a", other.ID); err != nil {
		t.Fatal(err)
	}
	ch, _ = s.AuthChanges(ctx, rev)
	if got := ids(ch.Keys); !cmp.Equal(got, []string{k.ID, other.ID}) {
		t.Errorf("feed = %v, want the removed member's key, then the deleted key", got)
	}
	for _, key := range ch.Keys {
		if key.Active(clock.Now()) {
			t.Errorf("key %s in the feed is still active", key.ID)
		}
	}
	if len(ch.Keys) == 2 && ch.Keys[1].DeletedAt.IsZero() {
		t.Errorf("deleted key has no DeletedAt in the feed")
	}
	if len(ch.Orgs) != 1 || !ch.Orgs[0].Settings.ZeroRetention {
		t.Errorf("feed orgs = %+v", ch.Orgs)
	}
	for i := 1; i < len(ch.Keys); i++ {
		if ch.Keys[i].Rev < ch.Keys[i-1].Rev {
			t.Errorf("feed out of revision order")
		}
	}
	if again, _ := s.AuthChanges(ctx, ch.Rev); len(again.Keys)+len(again.Orgs) != 0 || again.Rev != ch.Rev {
		t.Errorf("feed is not quiet at its head: %+v", again)
	}
}
