package apikey_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/apikey"
)

// TestCachePrincipalFollowsChanges: the principal is built once per key
// and shared, but a change to the key or to its organisation gives later
// requests a new one, and never alters one already handed out.
func TestCachePrincipalFollowsChanges(t *testing.T) {
	ctx := context.Background()
	k, raw := keyFor(t, "k1", "o1", 2)
	k.Scopes = octomesh.KeyScopes{Models: []string{"m1", "m2"}}
	other, otherRaw := keyFor(t, "k2", "o2", 3)
	late, lateRaw := keyFor(t, "k3", "o3", 4) // its organisation arrives later
	orgV1 := &octomesh.Org{ID: "o1", Rev: 1}
	orgV2 := &octomesh.Org{ID: "o1", Rev: 5, Settings: octomesh.OrgSettings{AllowedModels: []string{"m2"}, ZeroRetention: true}}
	keyV2 := *k
	keyV2.Rev, keyV2.Role = 7, octomesh.RoleViewer
	feed := &fakeFeed{changes: []*octomesh.AuthChanges{
		{Rev: 4, Keys: []*octomesh.APIKey{k, other, late}, Orgs: []*octomesh.Org{orgV1, {ID: "o2", Rev: 1}}},
		{Rev: 5, Orgs: []*octomesh.Org{orgV2}},
		{Rev: 6, Orgs: []*octomesh.Org{{ID: "o3", Rev: 6}}},
		{Rev: 7, Keys: []*octomesh.APIKey{&keyV2}},
	}}
	c, err := apikey.NewCache(ctx, feed, apikey.CacheOptions{MaxStale: -1})
	if err != nil {
		t.Fatal(err)
	}
	auth := func(raw string) *octomesh.Principal {
		t.Helper()
		p, err := c.Authenticate(ctx, raw)
		if err != nil {
			t.Fatalf("Authenticate: %v", err)
		}
		return p
	}
	p1 := auth(raw)
	if again := auth(raw); again != p1 {
		t.Errorf("a second request got another principal")
	}
	before := *p1
	before.AllowedModels = append([]string(nil), p1.AllowedModels...)
	pOther := auth(otherRaw)
	if _, err := c.Authenticate(ctx, lateRaw); octomesh.ErrorCodeOf(err) != octomesh.EUNAUTHORIZED {
		t.Errorf("key of an unknown organisation: err = %v, want EUNAUTHORIZED", err)
	}

	// The organisation's new settings narrow the key.
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	p2 := auth(raw)
	if p2 == p1 || !cmp.Equal(p2.AllowedModels, []string{"m2"}) || !p2.RouteOptions.ZeroRetention {
		t.Errorf("after the organisation changed: allowed %v, zero retention %v", p2.AllowedModels, p2.RouteOptions.ZeroRetention)
	}
	if diff := cmp.Diff(before, *p1); diff != "" {
		t.Errorf("the principal handed out earlier changed (-before +now):\n%s", diff)
	}
	if auth(otherRaw) != pOther {
		t.Errorf("a key of an unchanged organisation got a new principal")
	}

	// The organisation arrives after its key.
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if p := auth(lateRaw); p.OrgID != "o3" {
		t.Errorf("late organisation: principal %+v", p)
	}

	// The key itself changes.
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if p := auth(raw); p.Role != octomesh.RoleViewer || !cmp.Equal(p.AllowedModels, []string{"m2"}) {
		t.Errorf("after the key changed: role %v, allowed %v", p.Role, p.AllowedModels)
	}
}

func TestCacheAuthenticateAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	k, raw := keyFor(t, "k1", "o1", 2)
	c, err := apikey.NewCache(ctx, &fakeFeed{changes: []*octomesh.AuthChanges{
		{Rev: 2, Keys: []*octomesh.APIKey{k}, Orgs: []*octomesh.Org{{ID: "o1", Rev: 1}}}}}, apikey.CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := c.Authenticate(ctx, raw); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Authenticate allocates %v times per call, want 0", allocs)
	}
}
