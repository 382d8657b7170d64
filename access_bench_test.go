package octomesh_test

import (
	"testing"

	"github.com/octomesh/octomesh"
)

// TestAccessTableIsACopy checks that a caller changing the table it got
// changes no permission check.
func TestAccessTableIsACopy(t *testing.T) {
	p := &octomesh.Principal{OrgID: "o", Role: octomesh.RoleViewer}
	if p.Can(octomesh.PermUseModels) {
		t.Fatal("a viewer can use models")
	}
	table := octomesh.AccessTable()
	for i := range table {
		table[i].Platform = true
		for j := range table[i].Roles {
			table[i].Roles[j] = octomesh.RoleViewer
		}
	}
	if p.Can(octomesh.PermUseModels) || octomesh.RoleViewer.Has(octomesh.PermOrgDelete) {
		t.Error("changing AccessTable's result changed the permission checks")
	}
	if got, want := octomesh.AccessTable()[0].Roles, []octomesh.OrgRole{octomesh.RoleOwner, octomesh.RoleAdmin, octomesh.RoleMember}; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("AccessTable()[0].Roles = %v, want %v", got, want)
	}
}

// BenchmarkAuthorize is the permission check every request makes.
func BenchmarkAuthorize(b *testing.B) {
	p := &octomesh.Principal{OrgID: "o", Role: octomesh.RoleMember}
	b.ReportAllocs()
	for range b.N {
		if err := octomesh.Authorize(p, "o", octomesh.PermUseModels); err != nil {
			b.Fatal(err)
		}
	}
}
