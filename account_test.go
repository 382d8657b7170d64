package octomesh_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/octomesh/octomesh"
)

func TestValidation(t *testing.T) {
	long := strings.Repeat("x", 201)
	for _, tt := range []struct {
		name  string
		err   error
		param string
	}{
		{"org ok", (&octomesh.Org{ID: "org_1", Name: "Acme GmbH", BillingEmail: "ap@acme.example"}).Validate(), ""},
		{"org id", (&octomesh.Org{ID: "org/1", Name: "x"}).Validate(), "id"},
		{"org name empty", (&octomesh.Org{ID: "o", Name: ""}).Validate(), "name"},
		{"org name long", (&octomesh.Org{ID: "o", Name: long}).Validate(), "name"},
		{"org name newline", (&octomesh.Org{ID: "o", Name: "a\nb"}).Validate(), "name"},
		{"org name bidi", (&octomesh.Org{ID: "o", Name: "a\u202eb"}).Validate(), "name"},
		{"org name spaces", (&octomesh.Org{ID: "o", Name: " a"}).Validate(), "name"},
		{"org billing email", (&octomesh.Org{ID: "o", Name: "a", BillingEmail: "nope"}).Validate(), "billing_email"},
		{"org regions", (&octomesh.Org{ID: "o", Name: "a", Settings: octomesh.OrgSettings{Regions: []string{""}}}).Validate(), "settings.regions"},
		{"user ok", (&octomesh.User{ID: "u", OrgID: "o", Name: "Zoë Ω", Email: "Z@X.example"}).Validate(), ""},
		{"user email", (&octomesh.User{ID: "u", OrgID: "o", Name: "z", Email: "a@b"}).Validate(), "email"},
		{"user email two @", (&octomesh.User{ID: "u", OrgID: "o", Name: "z", Email: "a@b@c.d"}).Validate(), "email"},
		{"user invalid utf8", (&octomesh.User{ID: "u", OrgID: "o", Name: "\xff"}).Validate(), "name"},
		{"key role", (&octomesh.APIKey{ID: "k", OrgID: "o", Role: "god", Hash: []byte{1}, Prefix: "p"}).Validate(), "role"},
		{"key hash", (&octomesh.APIKey{ID: "k", OrgID: "o", Role: octomesh.RoleMember}).Validate(), "hash"},
		{"key tpm", (&octomesh.APIKey{ID: "k", OrgID: "o", Role: octomesh.RoleMember, Hash: []byte{1}, Prefix: "p", Scopes: octomesh.KeyScopes{TPM: -1}}).Validate(), "scopes.tpm"},
	} {
		var param string
		if e, ok := tt.err.(*octomesh.Error); ok {
			param = e.Param
			if e.Code != octomesh.EINVALID {
				t.Errorf("%s: code %s", tt.name, e.Code)
			}
		}
		if (tt.err == nil) != (tt.param == "") || param != tt.param {
			t.Errorf("%s: err = %v (param %q), want param %q", tt.name, tt.err, param, tt.param)
		}
	}
	u := &octomesh.User{ID: "u", OrgID: "o", Name: "n", Email: " Ann@Example.COM "}
	if err := u.Validate(); err != nil || u.Email != "ann@example.com" {
		t.Errorf("email normalisation: %q, %v", u.Email, err)
	}
}

func TestScopesNarrow(t *testing.T) {
	parent := octomesh.KeyScopes{Models: []string{"a", "b"}, RPM: 10, Budgets: []string{"b1"}, ZeroRetention: true, Regions: []string{"eu"}}
	got, err := octomesh.KeyScopes{Models: []string{"b", "c"}, RPM: 50, TPM: 7, Budgets: []string{"b2", "b1"}, NoTraining: true}.Narrow(parent)
	if err != nil {
		t.Fatal(err)
	}
	want := octomesh.KeyScopes{Models: []string{"b"}, RPM: 10, TPM: 7, Budgets: []string{"b1", "b2"}, ZeroRetention: true, NoTraining: true, Regions: []string{"eu"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Narrow (-want +got):\n%s", diff)
	}
	if _, err := (octomesh.KeyScopes{Models: []string{"c"}}).Narrow(parent); octomesh.ErrorCodeOf(err) != octomesh.EINVALID {
		t.Errorf("disjoint models: err = %v", err)
	}
	if got, _ := (octomesh.KeyScopes{}).Narrow(octomesh.KeyScopes{}); !cmp.Equal(got, octomesh.KeyScopes{}) {
		t.Errorf("narrowing nothing by nothing = %+v", got)
	}
}

func TestNewPrincipal(t *testing.T) {
	k := &octomesh.APIKey{ID: "k", OrgID: "o", Role: octomesh.RoleMember, Scopes: octomesh.KeyScopes{Models: []string{"a", "b"}, Regions: []string{"eu"}, NoTraining: true}}
	p := octomesh.NewPrincipal(k, octomesh.OrgSettings{AllowedModels: []string{"b", "c"}, ZeroRetention: true, Regions: []string{"us"}})
	if !cmp.Equal(p.AllowedModels, []string{"b"}) || !p.AllowsModel("x", "b") || p.AllowsModel("a") {
		t.Errorf("allowed models = %v", p.AllowedModels)
	}
	if !p.RouteOptions.ZeroRetention || !p.RouteOptions.NoTraining || !cmp.Equal(p.RouteOptions.Regions, []string{octomesh.NoneAllowed}) {
		t.Errorf("route options = %+v: disjoint regions must allow none", p.RouteOptions)
	}
	free := octomesh.NewPrincipal(&octomesh.APIKey{ID: "k", OrgID: "o", Role: octomesh.RoleOwner}, octomesh.OrgSettings{})
	if len(free.AllowedModels) != 0 || !free.AllowsModel("anything") || len(free.RouteOptions.Regions) != 0 {
		t.Errorf("unrestricted principal = %+v", free)
	}
}

func TestKeyActiveAndRotationEnd(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	k := &octomesh.APIKey{ExpiresAt: now.Add(time.Hour)}
	if !k.Active(now) || k.Active(now.Add(time.Hour)) {
		t.Errorf("expiry")
	}
	if (&octomesh.APIKey{RevokedAt: now}).Active(now) || (&octomesh.APIKey{DeletedAt: now.Add(time.Hour)}).Active(now) {
		t.Errorf("revoked or deleted key active")
	}
	exp, rev := octomesh.RotationEnd(k, now.Add(10*time.Minute), now)
	if !exp.Equal(now.Add(10*time.Minute)) || !rev.IsZero() {
		t.Errorf("overlap inside the expiry: %v %v", exp, rev)
	}
	exp, _ = octomesh.RotationEnd(k, now.Add(48*time.Hour), now)
	if !exp.Equal(k.ExpiresAt) {
		t.Errorf("overlap extended the expiry to %v", exp)
	}
	if _, rev = octomesh.RotationEnd(k, time.Time{}, now); !rev.Equal(now) {
		t.Errorf("no overlap: revoked at %v, want now", rev)
	}
}

func TestChanges(t *testing.T) {
	o := &octomesh.Org{Name: "a", Settings: octomesh.OrgSettings{Regions: []string{"eu"}}}
	n := &octomesh.Org{Name: "b", BillingEmail: "x@y.z", Settings: octomesh.OrgSettings{Regions: []string{"us"}, StoreContent: true}}
	if got := octomesh.OrgChanges(o, n); !cmp.Equal(got, []string{"name", "billing_email", "settings.regions", "settings.store_content"}) {
		t.Errorf("OrgChanges = %v", got)
	}
	if got := octomesh.UserChanges(&octomesh.User{Name: "a"}, &octomesh.User{Name: "a", Email: "e"}); !cmp.Equal(got, []string{"email"}) {
		t.Errorf("UserChanges = %v", got)
	}
	if got := octomesh.KeyChanges(&octomesh.APIKey{}, &octomesh.APIKey{Role: octomesh.RoleAdmin, Scopes: octomesh.KeyScopes{RPM: 1}}); !cmp.Equal(got, []string{"role", "scopes.rpm"}) {
		t.Errorf("KeyChanges = %v", got)
	}
	if octomesh.ValidID("") || octomesh.ValidID(strings.Repeat("a", 65)) || octomesh.ValidID("a b") || !octomesh.ValidID(octomesh.NewID("usr")) {
		t.Errorf("ValidID")
	}
}
