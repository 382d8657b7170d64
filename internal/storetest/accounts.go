package storetest

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/octomesh/octomesh"
)

func testOrgs(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now).Store
	ctx := actorCtx()
	a := newWorld(t, s, "org_a")
	if !a.org.CreatedAt.Equal(clock.Now()) || a.org.Rev == 0 {
		t.Errorf("CreateOrg did not stamp the org: %+v", a.org)
	}
	got, err := s.Org(ctx, "org_a")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a.org, got); diff != "" {
		t.Errorf("Org() differs from what was created (-want +got):\n%s", diff)
	}
	// The owner is a member with the owner role, and the owner key exists.
	m, err := s.Member(ctx, "org_a", a.owner.ID)
	if err != nil || m.Role != octomesh.RoleOwner {
		t.Errorf("owner membership = %+v, %v", m, err)
	}
	if k, err := s.Key(ctx, "org_a", a.ownerKey.ID); err != nil || k.Role != octomesh.RoleOwner || k.UserID != a.owner.ID {
		t.Errorf("owner key = %+v, %v", k, err)
	}

	// Duplicates and invalid values fail, all or nothing.
	dup := &octomesh.Org{ID: "org_a", Name: "Again"}
	wantCode(t, "duplicate org", s.CreateOrg(ctx, dup, &octomesh.User{ID: "usr_x", Name: "X"}, nil), octomesh.EINVALID)
	if _, err := s.User(ctx, "org_a", "usr_x"); octomesh.ErrorCodeOf(err) != octomesh.ENOTFOUND {
		t.Errorf("a failed CreateOrg left its owner behind: %v", err)
	}
	for _, bad := range []*octomesh.Org{
		{ID: "", Name: "x"}, {ID: "org_b", Name: ""}, {ID: "org b", Name: "x"},
		{ID: "org_b", Name: "line\nbreak"}, {ID: "org_b", Name: "x", BillingEmail: "not-an-email"},
	} {
		wantCode(t, "invalid org "+bad.ID+"/"+bad.Name, s.CreateOrg(ctx, bad, &octomesh.User{ID: "usr_y", Name: "Y"}, nil), octomesh.EINVALID)
	}
	wantCode(t, "missing org", errOf(s.Org(ctx, "org_missing")), octomesh.ENOTFOUND)

	b := newWorld(t, s, "org_b")
	list, err := s.ListOrgs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*octomesh.Org{a.org, b.org}, list); diff != "" {
		t.Errorf("ListOrgs (-want +got):\n%s", diff)
	}

	// Update: changed fields are stored, audited by name, and bump the revision.
	clock.Advance(1e9)
	upd := *a.org
	upd.Name, upd.Settings = "Renamed", octomesh.OrgSettings{ZeroRetention: true, Regions: []string{"eu"}, AllowedModels: []string{"sim/gpt-4o"}}
	if err := s.UpdateOrg(ctx, &upd); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Org(ctx, "org_a")
	if got.Name != "Renamed" || !got.Settings.ZeroRetention || got.Settings.NoTraining || !got.UpdatedAt.Equal(clock.Now()) || got.Rev <= a.org.Rev {
		t.Errorf("after UpdateOrg: %+v", got)
	}
	if diff := cmp.Diff(&upd, got); diff != "" {
		t.Errorf("UpdateOrg's result differs from the stored org (-want +got):\n%s", diff)
	}
	es, _ := s.ListAudit(ctx, octomesh.AuditFilter{OrgID: "org_a", Action: octomesh.AuditOrgUpdated})
	if len(es) != 1 || es[0].Details["fields"] != "name,settings.zero_retention,settings.no_training,settings.regions,settings.allowed_models" {
		t.Errorf("org.updated entries = %+v", es)
	}
	// An update that changes nothing writes nothing.
	same := *got
	if err := s.UpdateOrg(ctx, &same); err != nil {
		t.Fatal(err)
	}
	if es, _ := s.ListAudit(ctx, octomesh.AuditFilter{OrgID: "org_a", Action: octomesh.AuditOrgUpdated}); len(es) != 1 {
		t.Errorf("a no-op update was audited: %d entries", len(es))
	}
	wantCode(t, "update missing org", s.UpdateOrg(ctx, &octomesh.Org{ID: "org_missing", Name: "x"}), octomesh.ENOTFOUND)
	wantCode(t, "update invalid", s.UpdateOrg(ctx, &octomesh.Org{ID: "org_a", Name: ""}), octomesh.EINVALID)
}

func errOf[T any](_ T, err error) error { return err }

func testOrgDelete(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now).Store
	ctx := actorCtx()
	a := newWorld(t, s, "org_a")
	b := newWorld(t, s, "org_b")
	addMember(t, s, "org_a", "usr_m", octomesh.RoleMember)
	mk, _ := createKey(t, s, "org_a", "usr_m", octomesh.RoleMember)

	if err := s.DeleteOrg(ctx, "org_a"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "deleted org", errOf(s.Org(ctx, "org_a")), octomesh.ENOTFOUND)
	wantCode(t, "user of deleted org", errOf(s.User(ctx, "org_a", "usr_m")), octomesh.ENOTFOUND)
	wantCode(t, "member of deleted org", errOf(s.Member(ctx, "org_a", "usr_m")), octomesh.ENOTFOUND)
	wantCode(t, "key of deleted org", errOf(s.Key(ctx, "org_a", mk.ID)), octomesh.ENOTFOUND)
	wantCode(t, "delete twice", s.DeleteOrg(ctx, "org_a"), octomesh.ENOTFOUND)
	// Keys stay as revoked, nameless tombstones so every node's cache drops them.
	for _, k := range []*octomesh.APIKey{a.ownerKey, mk} {
		got, err := s.KeyByHash(ctx, k.Hash)
		if err != nil {
			t.Fatalf("tombstone of %s: %v", k.ID, err)
		}
		if got.Active(clock.Now()) || got.DeletedAt.IsZero() || got.Name != "" {
			t.Errorf("key %s after DeleteOrg = %+v, want a revoked nameless tombstone", k.ID, got)
		}
	}
	// The other organisation is untouched.
	if _, err := s.Org(ctx, "org_b"); err != nil {
		t.Errorf("org_b: %v", err)
	}
	if k, err := s.Key(ctx, "org_b", b.ownerKey.ID); err != nil || !k.Active(clock.Now()) {
		t.Errorf("org_b's key after deleting org_a: %+v, %v", k, err)
	}
	// The audit log keeps the organisation's history, ending with its deletion.
	acts := actions(t, s, "org_a")
	if len(acts) == 0 || acts[len(acts)-1] != octomesh.AuditOrgDeleted {
		t.Errorf("org_a audit = %v", acts)
	}
	// The id can be used again, for a new, empty organisation.
	c := newWorld(t, s, "org_a")
	if us, _ := s.ListUsers(ctx, "org_a", octomesh.UserFilter{}); len(us) != 1 || us[0].ID != c.owner.ID {
		t.Errorf("users of the recreated org = %v", us)
	}
}

func testUsers(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now).Store
	ctx := actorCtx()
	a := newWorld(t, s, "org_a")
	newWorld(t, s, "org_b")

	u := &octomesh.User{ID: "usr_1", OrgID: "org_a", Name: "Ada", Email: "  Ada@Example.COM "}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if u.Email != "ada@example.com" || !u.CreatedAt.Equal(clock.Now()) {
		t.Errorf("created user = %+v, want a lower-cased email and a creation time", u)
	}
	got, err := s.User(ctx, "org_a", "usr_1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(u, got); diff != "" {
		t.Errorf("User() (-want +got):\n%s", diff)
	}
	// Emails are unique within an organisation, case-insensitively, but
	// another organisation may have the same address.
	wantCode(t, "duplicate email", s.CreateUser(ctx, &octomesh.User{ID: "usr_2", OrgID: "org_a", Name: "B", Email: "ADA@example.com"}), octomesh.EINVALID)
	if err := s.CreateUser(ctx, &octomesh.User{ID: "usr_2b", OrgID: "org_b", Name: "B", Email: "ada@example.com"}); err != nil {
		t.Errorf("same email in another org: %v", err)
	}
	wantCode(t, "duplicate id", s.CreateUser(ctx, &octomesh.User{ID: "usr_1", OrgID: "org_a", Name: "C"}), octomesh.EINVALID)
	wantCode(t, "unknown org", s.CreateUser(ctx, &octomesh.User{ID: "usr_3", OrgID: "org_nope", Name: "C"}), octomesh.ENOTFOUND)
	// Users without an email are fine, and several may coexist.
	for _, id := range []string{"usr_4", "usr_5"} {
		if err := s.CreateUser(ctx, &octomesh.User{ID: id, OrgID: "org_a", Name: "No mail"}); err != nil {
			t.Errorf("user without email: %v", err)
		}
	}
	list, err := s.ListUsers(ctx, "org_a", octomesh.UserFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sorted(ids(list)), sorted([]string{a.owner.ID, "usr_1", "usr_4", "usr_5"}); !cmp.Equal(got, want) {
		t.Errorf("ListUsers = %v, want %v", got, want)
	}
	byEmail, _ := s.ListUsers(ctx, "org_a", octomesh.UserFilter{Email: "ADA@example.com"})
	if got := ids(byEmail); !cmp.Equal(got, []string{"usr_1"}) {
		t.Errorf("ListUsers by email = %v", got)
	}

	clock.Advance(1e9)
	upd := *got
	upd.Name, upd.Email = "Ada L.", "ada@lovelace.example"
	if err := s.UpdateUser(ctx, &upd); err != nil {
		t.Fatal(err)
	}
	got, _ = s.User(ctx, "org_a", "usr_1")
	if got.Name != "Ada L." || got.Email != "ada@lovelace.example" || !got.UpdatedAt.Equal(clock.Now()) {
		t.Errorf("after UpdateUser: %+v", got)
	}
	wantCode(t, "update to a taken email", s.UpdateUser(ctx, &octomesh.User{ID: "usr_4", OrgID: "org_a", Name: "x", Email: "ada@lovelace.example"}), octomesh.EINVALID)
	wantCode(t, "update missing", s.UpdateUser(ctx, &octomesh.User{ID: "usr_9", OrgID: "org_a", Name: "x"}), octomesh.ENOTFOUND)

	// Deleting a user erases the record and the membership and revokes the keys.
	addMember(t, s, "org_a", "usr_del", octomesh.RoleAdmin)
	k, _ := createKey(t, s, "org_a", "usr_del", octomesh.RoleAdmin)
	if err := s.DeleteUser(ctx, "org_a", "usr_del"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "deleted user", errOf(s.User(ctx, "org_a", "usr_del")), octomesh.ENOTFOUND)
	wantCode(t, "deleted user's membership", errOf(s.Member(ctx, "org_a", "usr_del")), octomesh.ENOTFOUND)
	if kk, err := s.KeyByHash(ctx, k.Hash); err != nil || kk.Active(clock.Now()) {
		t.Errorf("deleted user's key = %+v, %v; want revoked", kk, err)
	}
	wantCode(t, "delete twice", s.DeleteUser(ctx, "org_a", "usr_del"), octomesh.ENOTFOUND)
	es, _ := s.ListAudit(ctx, octomesh.AuditFilter{OrgID: "org_a", Action: octomesh.AuditUserDeleted})
	if len(es) != 1 || es[0].Target != "usr_del" || es[0].Details["keys_revoked"] != "1" {
		t.Errorf("user.deleted entries = %+v", es)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func ids[T interface {
	*octomesh.User | *octomesh.APIKey | *octomesh.Org
}](list []T) []string {
	out := []string{}
	for _, v := range list {
		switch v := any(v).(type) {
		case *octomesh.User:
			out = append(out, v.ID)
		case *octomesh.APIKey:
			out = append(out, v.ID)
		case *octomesh.Org:
			out = append(out, v.ID)
		}
	}
	return out
}

func testMembers(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now).Store
	ctx := actorCtx()
	a := newWorld(t, s, "org_a")
	newWorld(t, s, "org_b")
	u := addMember(t, s, "org_a", "usr_1", octomesh.RoleAdmin)
	adminKey, _ := createKey(t, s, "org_a", u.ID, octomesh.RoleAdmin)
	viewerKey, _ := createKey(t, s, "org_a", u.ID, octomesh.RoleViewer)

	list, err := s.ListMembers(ctx, "org_a", "")
	if err != nil {
		t.Fatal(err)
	}
	want := []*octomesh.Membership{
		{OrgID: "org_a", UserID: a.owner.ID, Role: octomesh.RoleOwner, CreatedAt: clock.Now(), UpdatedAt: clock.Now()},
		{OrgID: "org_a", UserID: "usr_1", Role: octomesh.RoleAdmin, CreatedAt: clock.Now(), UpdatedAt: clock.Now()},
	}
	if diff := cmp.Diff(want, list, cmpopts.SortSlices(func(a, b *octomesh.Membership) bool { return a.UserID < b.UserID })); diff != "" {
		t.Errorf("ListMembers (-want +got):\n%s", diff)
	}
	admins, _ := s.ListMembers(ctx, "org_a", octomesh.RoleAdmin)
	if len(admins) != 1 || admins[0].UserID != "usr_1" {
		t.Errorf("ListMembers(admin) = %v", admins)
	}

	// Lowering the role lowers the user's keys the new role does not cover.
	clock.Advance(1e9)
	if err := s.SetMember(ctx, &octomesh.Membership{OrgID: "org_a", UserID: "usr_1", Role: octomesh.RoleMember}); err != nil {
		t.Fatal(err)
	}
	if k, _ := s.Key(ctx, "org_a", adminKey.ID); k.Role != octomesh.RoleMember || k.Rev <= adminKey.Rev {
		t.Errorf("admin key after demotion = role %s rev %d, want member with a new revision", k.Role, k.Rev)
	}
	// Neither member nor viewer covers the other: lowering the viewer key to
	// member would let it spend, so it is revoked instead.
	if k, _ := s.Key(ctx, "org_a", viewerKey.ID); k.Role != octomesh.RoleViewer || k.Active(clock.Now()) {
		t.Errorf("viewer key after demotion to member = %s, active %v; want revoked", k.Role, k.Active(clock.Now()))
	}
	es, _ := s.ListAudit(ctx, octomesh.AuditFilter{OrgID: "org_a", Action: octomesh.AuditMemberRoleChange})
	if len(es) != 1 || es[0].Details["from"] != "admin" || es[0].Details["to"] != "member" || es[0].Details["keys_lowered"] != "1" || es[0].Details["keys_revoked"] != "1" {
		t.Errorf("role change entries = %+v", es)
	}
	// Setting the same role again changes nothing.
	if err := s.SetMember(ctx, &octomesh.Membership{OrgID: "org_a", UserID: "usr_1", Role: octomesh.RoleMember}); err != nil {
		t.Fatal(err)
	}
	if es, _ := s.ListAudit(ctx, octomesh.AuditFilter{OrgID: "org_a", Action: octomesh.AuditMemberRoleChange}); len(es) != 1 {
		t.Errorf("a no-op role change was audited")
	}

	wantCode(t, "invalid role", s.SetMember(ctx, &octomesh.Membership{OrgID: "org_a", UserID: "usr_1", Role: "root"}), octomesh.EINVALID)
	wantCode(t, "unknown user", s.SetMember(ctx, &octomesh.Membership{OrgID: "org_a", UserID: "usr_nope", Role: octomesh.RoleMember}), octomesh.ENOTFOUND)
	wantCode(t, "user of another org", s.SetMember(ctx, &octomesh.Membership{OrgID: "org_a", UserID: "usr_owner_org_b", Role: octomesh.RoleMember}), octomesh.ENOTFOUND)

	// Removing a member revokes the user's keys but keeps the user.
	if err := s.RemoveMember(ctx, "org_a", "usr_1"); err != nil {
		t.Fatal(err)
	}
	if k, _ := s.Key(ctx, "org_a", adminKey.ID); k.Active(clock.Now()) {
		t.Errorf("key of a removed member is still active")
	}
	if _, err := s.User(ctx, "org_a", "usr_1"); err != nil {
		t.Errorf("removing the membership removed the user: %v", err)
	}
	wantCode(t, "remove twice", s.RemoveMember(ctx, "org_a", "usr_1"), octomesh.ENOTFOUND)
	// A removed user's key cannot be created without a membership.
	k, _ := newKey(t, "org_a", "usr_1", octomesh.RoleViewer)
	wantCode(t, "key for non-member", s.CreateKey(ctx, k), octomesh.EINVALID)
}

func testLastOwner(t *testing.T, open Opener) {
	s := open(t, NewClock().Now).Store
	ctx := actorCtx()
	a := newWorld(t, s, "org_a")
	demote := &octomesh.Membership{OrgID: "org_a", UserID: a.owner.ID, Role: octomesh.RoleAdmin}
	wantCode(t, "demote the last owner", s.SetMember(ctx, demote), octomesh.EINVALID)
	wantCode(t, "remove the last owner", s.RemoveMember(ctx, "org_a", a.owner.ID), octomesh.EINVALID)
	wantCode(t, "delete the last owner", s.DeleteUser(ctx, "org_a", a.owner.ID), octomesh.EINVALID)
	// With a second owner, the first may go.
	addMember(t, s, "org_a", "usr_2", octomesh.RoleOwner)
	if err := s.SetMember(ctx, demote); err != nil {
		t.Errorf("demote one of two owners: %v", err)
	}
	wantCode(t, "now usr_2 is the last owner", s.RemoveMember(ctx, "org_a", "usr_2"), octomesh.EINVALID)
	owners, _ := s.ListMembers(ctx, "org_a", octomesh.RoleOwner)
	if len(owners) != 1 {
		t.Errorf("owners = %v", owners)
	}
}
