package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/apikey"
)

// testCacheRevocation runs two serving nodes (two store handles on one
// database, one key cache each) and checks the revocation promise: at once
// on the node that revoked the key, within the refresh interval plus one
// store round trip on the other.
func testCacheRevocation(t *testing.T, open Opener) {
	clock := NewClock()
	h := open(t, clock.Now)
	nodeA, nodeB := h.Store, h.Reopen(t)
	ctx := actorCtx()
	newWorld(t, nodeA, "org_a")
	addMember(t, nodeA, "org_a", "usr_1", octomesh.RoleAdmin)
	k, raw := newKey(t, "org_a", "usr_1", octomesh.RoleMember)
	k.Scopes = octomesh.KeyScopes{Models: []string{"sim/gpt-4o"}, Regions: []string{"eu"}}
	if err := nodeA.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	other, otherRaw := createKey(t, nodeA, "org_a", "usr_1", octomesh.RoleViewer)

	newCache := func(s octomesh.AccountStore) *apikey.Cache {
		c, err := apikey.NewCache(context.Background(), s, apikey.CacheOptions{Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cacheA, cacheB := newCache(nodeA), newCache(nodeB)
	for name, c := range map[string]*apikey.Cache{"A": cacheA, "B": cacheB} {
		p, err := c.Authenticate(ctx, raw.Reveal())
		if err != nil {
			t.Fatalf("node %s: %v", name, err)
		}
		if p.KeyID != k.ID || p.OrgID != "org_a" || p.UserID != "usr_1" || p.Role != octomesh.RoleMember ||
			!p.AllowsModel("sim/gpt-4o") || p.AllowsModel("sim/other") || !cmp.Equal(p.RouteOptions.Regions, []string{"eu"}) ||
			!p.RouteOptions.NoTraining || p.RouteOptions.ZeroRetention {
			t.Errorf("node %s principal = %+v", name, p)
		}
	}

	// Node A revokes, as the admin API does: store, then refresh. Effective at once there.
	if err := nodeA.RevokeKey(ctx, "org_a", k.ID); err != nil {
		t.Fatal(err)
	}
	if err := cacheA.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cacheA.Authenticate(ctx, raw.Reveal()); octomesh.ErrorCodeOf(err) != octomesh.EUNAUTHORIZED {
		t.Fatalf("node A after revoking: err = %v, want EUNAUTHORIZED", err)
	}
	// Node B has not polled yet: the window the bound is about.
	if _, err := cacheB.Authenticate(ctx, raw.Reveal()); err != nil {
		t.Fatalf("node B before polling: %v (the test relies on polling being what revokes here)", err)
	}
	// Node B polls every interval; the key must stop working within the bound.
	const interval = 100 * time.Millisecond
	const bound = interval + 900*time.Millisecond // interval + one store round trip, generously
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); cacheB.Run(runCtx, interval, nil) }()
	defer func() { stop(); <-done }()
	start := time.Now()
	for {
		if _, err := cacheB.Authenticate(ctx, raw.Reveal()); err != nil {
			if octomesh.ErrorCodeOf(err) != octomesh.EUNAUTHORIZED {
				t.Fatalf("node B: err = %v, want EUNAUTHORIZED", err)
			}
			break
		}
		if time.Since(start) > bound {
			t.Fatalf("node B still accepts the revoked key %v after the revocation (bound %v)", time.Since(start), bound)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("node B refused the revoked key after %v (interval %v)", time.Since(start).Round(time.Millisecond), interval)

	// Organisation settings reach every node's principals the same way.
	org, _ := nodeB.Org(ctx, "org_a")
	org.Settings.ZeroRetention = true
	if err := nodeB.UpdateOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	if err := cacheA.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if p, err := cacheA.Authenticate(ctx, otherRaw.Reveal()); err != nil || !p.RouteOptions.ZeroRetention || p.Role != octomesh.RoleViewer {
		t.Errorf("node A after B changed the settings: %+v, %v", p, err)
	}
	// Removing the member revokes their keys everywhere; deleted keys leave the cache.
	if err := nodeB.RemoveMember(ctx, "org_a", "usr_1"); err != nil {
		t.Fatal(err)
	}
	before := cacheA.Len()
	if err := nodeB.DeleteKey(ctx, "org_a", other.ID); err != nil {
		t.Fatal(err)
	}
	if err := cacheA.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cacheA.Authenticate(ctx, otherRaw.Reveal()); octomesh.ErrorCodeOf(err) != octomesh.EUNAUTHORIZED {
		t.Errorf("key of a removed member: err = %v", err)
	}
	if cacheA.Len() != before-1 {
		t.Errorf("cache holds %d keys after a deletion, want %d", cacheA.Len(), before-1)
	}

	// A node that cannot refresh for longer than MaxStale refuses every key
	// rather than honour one that may have been revoked meanwhile.
	w2 := newWorld(t, nodeA, "org_b")
	if err := cacheA.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cacheA.Authenticate(ctx, w2.raw.Reveal()); err != nil {
		t.Fatal(err)
	}
	clock.Advance(apikey.MaxStale + time.Second)
	if _, err := cacheA.Authenticate(ctx, w2.raw.Reveal()); octomesh.ErrorCodeOf(err) != octomesh.EUNAVAILABLE {
		t.Errorf("stale cache: err = %v, want EUNAVAILABLE", err)
	}
	if err := cacheA.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cacheA.Authenticate(ctx, w2.raw.Reveal()); err != nil {
		t.Errorf("after a successful refresh: %v", err)
	}
}
