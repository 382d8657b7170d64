package octomesh_test

import (
	"testing"

	"github.com/octomesh/octomesh"
)

func TestAuthorize(t *testing.T) {
	p := &octomesh.Principal{OrgID: "a", Role: octomesh.RoleAdmin}
	op := &octomesh.Principal{OrgID: "a", Role: octomesh.RoleViewer, Platform: true}
	for _, tt := range []struct {
		name string
		p    *octomesh.Principal
		org  string
		perm octomesh.Permission
		want octomesh.ErrorCode
	}{
		{"no principal", nil, "a", "", octomesh.EUNAUTHORIZED},
		{"own org, held", p, "a", octomesh.PermKeysManage, ""},
		{"own org, not held", p, "a", octomesh.PermOrgDelete, octomesh.EFORBIDDEN},
		{"foreign org, held", p, "b", octomesh.PermKeysManage, octomesh.ENOTFOUND},
		{"foreign org, not held: still 404", p, "b", octomesh.PermOrgDelete, octomesh.ENOTFOUND},
		{"foreign org, any key", p, "b", "", octomesh.ENOTFOUND},
		{"no org, any key", p, "", "", ""},
		{"operator permission, not operator", p, "", octomesh.PermCreateOrgs, octomesh.EFORBIDDEN},
		{"operator permission, operator", op, "", octomesh.PermCreateOrgs, ""},
		{"operator keeps its role's limits", op, "a", octomesh.PermKeysManage, octomesh.EFORBIDDEN},
		{"operator has no power elsewhere", op, "b", octomesh.PermOrgRead, octomesh.ENOTFOUND},
		{"unknown permission", p, "a", "everything", octomesh.EFORBIDDEN},
		{"no role", &octomesh.Principal{OrgID: "a"}, "a", octomesh.PermOrgRead, octomesh.EFORBIDDEN},
	} {
		if got := octomesh.ErrorCodeOf(octomesh.Authorize(tt.p, tt.org, tt.perm)); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
	// The foreign-organisation answer is the one for a missing organisation.
	if a, b := octomesh.ErrorMessage(octomesh.Authorize(p, "b", octomesh.PermOrgRead)), octomesh.ErrorMessage(octomesh.ErrOrgNotFound()); a != b {
		t.Errorf("foreign org message %q, missing org message %q", a, b)
	}
}

func TestAccessTableShape(t *testing.T) {
	seen := map[octomesh.Permission]bool{}
	for _, rule := range octomesh.AccessTable() {
		if seen[rule.Perm] {
			t.Errorf("%s appears twice", rule.Perm)
		}
		seen[rule.Perm] = true
		if rule.Allows == "" {
			t.Errorf("%s has no description", rule.Perm)
		}
		if !rule.Platform && !containsRole(rule.Roles, octomesh.RoleOwner) {
			t.Errorf("owners lack %s", rule.Perm)
		}
		if rule.Platform && len(rule.Roles) > 0 {
			t.Errorf("operator permission %s is also a role's", rule.Perm)
		}
	}
	// The decisions the docs promise.
	for _, tt := range []struct {
		role octomesh.OrgRole
		perm octomesh.Permission
		want bool
	}{
		{octomesh.RoleViewer, octomesh.PermUseModels, false},
		{octomesh.RoleBilling, octomesh.PermUseModels, false},
		{octomesh.RoleMember, octomesh.PermUseModels, true},
		{octomesh.RoleViewer, octomesh.PermAuditRead, true},
		{octomesh.RoleViewer, octomesh.PermKeysManage, false},
		{octomesh.RoleAdmin, octomesh.PermOrgDelete, false},
		{octomesh.RoleMember, octomesh.PermKeysSelf, true},
		{octomesh.RoleMember, octomesh.PermUsersRead, false},
		{octomesh.RoleBilling, octomesh.PermBillingUpdate, true},
	} {
		if got := tt.role.Has(tt.perm); got != tt.want {
			t.Errorf("%s has %s = %v, want %v", tt.role, tt.perm, got, tt.want)
		}
	}
}

func containsRole(rs []octomesh.OrgRole, r octomesh.OrgRole) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

func TestCoversAndKeyRoleUnder(t *testing.T) {
	o, a, m, b, v := octomesh.RoleOwner, octomesh.RoleAdmin, octomesh.RoleMember, octomesh.RoleBilling, octomesh.RoleViewer
	covers := map[octomesh.OrgRole][]octomesh.OrgRole{
		o: {o, a, m, b, v}, a: {a, m, b, v}, m: {m}, b: {b}, v: {v},
	}
	for _, r := range octomesh.OrgRoles() {
		for _, other := range octomesh.OrgRoles() {
			if got, want := r.Covers(other), containsRole(covers[r], other); got != want {
				t.Errorf("%s covers %s = %v, want %v", r, other, got, want)
			}
		}
		if r.Covers("root") || octomesh.OrgRole("root").Covers(r) {
			t.Errorf("an unknown role is covered or covers")
		}
	}
	for _, tt := range []struct {
		key, member, want octomesh.OrgRole
		keep              bool
	}{
		{m, a, m, true},   // covered: unchanged
		{a, m, m, true},   // lowering only takes powers away
		{o, b, b, true},   // likewise
		{v, m, "", false}, // member is not within viewer: lowering would add models:use
		{m, v, "", false},
		{b, v, "", false},
	} {
		role, keep := octomesh.KeyRoleUnder(tt.key, tt.member)
		if role != tt.want || keep != tt.keep {
			t.Errorf("KeyRoleUnder(%s, %s) = %s, %v; want %s, %v", tt.key, tt.member, role, keep, tt.want, tt.keep)
		}
	}
}

func TestPermissionsOf(t *testing.T) {
	got := octomesh.PermissionsOf(&octomesh.Principal{Role: octomesh.RoleBilling, Platform: true})
	want := []octomesh.Permission{octomesh.PermOrgRead, octomesh.PermBillingRead, octomesh.PermBillingUpdate, octomesh.PermUsageRead,
		octomesh.PermBudgetsRead, octomesh.PermBudgetsManage, octomesh.PermCreateOrgs, octomesh.PermListAllOrgs, octomesh.PermCreditsGrant, octomesh.PermInvoicesPush}
	if len(got) != len(want) {
		t.Fatalf("PermissionsOf = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("PermissionsOf = %v, want %v", got, want)
		}
	}
}
