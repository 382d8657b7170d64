package apikey_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/apikey"
)

func TestGenerateWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		k, err := apikey.Generate(nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(k) != apikey.KeyLen || !strings.HasPrefix(k, apikey.Prefix) {
			t.Fatalf("bad key %q", k)
		}
		if !apikey.WellFormed(k) {
			t.Fatalf("generated key %q not well formed", k)
		}
		if seen[k] {
			t.Fatal("duplicate key")
		}
		seen[k] = true
		// Any single-character change breaks the checksum.
		b := []byte(k)
		b[5] ^= 0x01
		if apikey.WellFormed(string(b)) {
			t.Errorf("mutated key %q still well formed", b)
		}
	}
	for _, bad := range []string{"", "om_", "sk-abc", strings.Repeat("x", apikey.KeyLen)} {
		if apikey.WellFormed(bad) {
			t.Errorf("WellFormed(%q) = true", bad)
		}
	}
}

func TestMintAndAdopt(t *testing.T) {
	var k octomesh.APIKey
	raw, err := apikey.Mint(&k)
	if err != nil {
		t.Fatal(err)
	}
	if !apikey.WellFormed(raw.Reveal()) || string(k.Hash) != string(apikey.Hash(raw.Reveal())) || k.Prefix != raw.Reveal()[:apikey.PrefixLen] {
		t.Errorf("Mint: raw %q, key %+v", raw.Reveal(), k)
	}
	if raw.String() == raw.Reveal() {
		t.Errorf("the minted key prints in clear")
	}
	if err := apikey.Adopt(&octomesh.APIKey{}, "short"); octomesh.ErrorCodeOf(err) != octomesh.EINVALID {
		t.Errorf("Adopt(short) err = %v, want EINVALID", err)
	}
	var a octomesh.APIKey
	if err := apikey.Adopt(&a, "a-long-enough-operator-key"); err != nil || a.Prefix != "a-long-eno" {
		t.Errorf("Adopt = %+v, %v", a, err)
	}
}

// fakeFeed is a scriptable change feed.
type fakeFeed struct {
	mu      sync.Mutex
	changes []*octomesh.AuthChanges // returned in turn; the last one repeats
	err     error
	since   []int64
}

func (f *fakeFeed) AuthChanges(_ context.Context, since int64) (*octomesh.AuthChanges, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.since = append(f.since, since)
	if f.err != nil {
		return nil, f.err
	}
	ch := f.changes[0]
	if len(f.changes) > 1 {
		f.changes = f.changes[1:]
	}
	return ch, nil
}

func keyFor(t *testing.T, id, org string, rev int64) (*octomesh.APIKey, string) {
	t.Helper()
	k := &octomesh.APIKey{ID: id, OrgID: org, Role: octomesh.RoleMember, Rev: rev}
	raw, err := apikey.Mint(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, raw.Reveal()
}

func TestCacheAuthenticate(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	org := &octomesh.Org{ID: "o1", Rev: 1, Settings: octomesh.OrgSettings{ZeroRetention: true, AllowedModels: []string{"m1", "m2"}}}
	k, raw := keyFor(t, "k1", "o1", 2)
	k.UserID, k.Project, k.Role, k.Platform = "u1", "p", octomesh.RoleAdmin, true
	k.Scopes = octomesh.KeyScopes{Models: []string{"m2", "m3"}, RPM: 5}
	expiring, expRaw := keyFor(t, "k2", "o1", 2)
	expiring.ExpiresAt = now.Add(time.Hour)
	revoked, revRaw := keyFor(t, "k3", "o1", 2)
	revoked.RevokedAt = now.Add(-time.Second)
	orphan, orphanRaw := keyFor(t, "k4", "o-unknown", 2)
	feed := &fakeFeed{changes: []*octomesh.AuthChanges{{Rev: 2, Keys: []*octomesh.APIKey{k, expiring, revoked, orphan}, Orgs: []*octomesh.Org{org}}}}
	c, err := apikey.NewCache(ctx, feed, apikey.CacheOptions{Now: func() time.Time { return now }, MaxStale: -1})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Authenticate(ctx, raw)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if p.KeyID != "k1" || p.OrgID != "o1" || p.UserID != "u1" || p.Project != "p" || p.Role != octomesh.RoleAdmin || !p.Platform || p.Scopes.RPM != 5 {
		t.Errorf("principal = %+v", p)
	}
	// The organisation's settings constrain on top of the key's scopes.
	if !p.RouteOptions.ZeroRetention || !p.AllowsModel("m2") || p.AllowsModel("m1") || p.AllowsModel("m3") {
		t.Errorf("constraints: zero retention %v, m1 %v m2 %v m3 %v", p.RouteOptions.ZeroRetention, p.AllowsModel("m1"), p.AllowsModel("m2"), p.AllowsModel("m3"))
	}
	if _, err := c.Authenticate(ctx, expRaw); err != nil {
		t.Errorf("before expiry: %v", err)
	}
	now = now.Add(time.Hour)
	// Unknown, malformed, expired, revoked and orphaned keys all get the very same answer.
	var msgs []string
	for _, bad := range []string{raw + "x", raw[:len(raw)-1], "om_nope", expRaw, revRaw, orphanRaw} {
		_, err := c.Authenticate(ctx, bad)
		if octomesh.ErrorCodeOf(err) != octomesh.EUNAUTHORIZED {
			t.Errorf("Authenticate(%q) err = %v, want EUNAUTHORIZED", bad, err)
		}
		msgs = append(msgs, octomesh.ErrorMessage(err))
	}
	for _, m := range msgs[1:] {
		if m != msgs[0] {
			t.Errorf("answers differ: %q vs %q", m, msgs[0])
		}
	}
	if _, err := c.Authenticate(ctx, ""); octomesh.ErrorCodeOf(err) != octomesh.EUNAUTHORIZED {
		t.Errorf("empty key: %v", err)
	}
}

func TestCacheRefreshOrderAndDeletion(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	org := &octomesh.Org{ID: "o1", Rev: 1}
	k, raw := keyFor(t, "k1", "o1", 1)
	revokedV := *k
	revokedV.Rev, revokedV.RevokedAt = 3, now
	staleV := *k // an older version arriving late must not undo the revocation
	staleV.Rev = 2
	deletedV := *k
	deletedV.Rev, deletedV.DeletedAt, deletedV.RevokedAt = 4, now, now
	feed := &fakeFeed{changes: []*octomesh.AuthChanges{
		{Rev: 1, Keys: []*octomesh.APIKey{k}, Orgs: []*octomesh.Org{org}},
		{Rev: 3, Keys: []*octomesh.APIKey{&revokedV}},
		{Rev: 3, Keys: []*octomesh.APIKey{&staleV}},
		{Rev: 4, Keys: []*octomesh.APIKey{&deletedV}},
	}}
	c, err := apikey.NewCache(ctx, feed, apikey.CacheOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Authenticate(ctx, raw); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := c.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Authenticate(ctx, raw); octomesh.ErrorCodeOf(err) != octomesh.EUNAUTHORIZED {
			t.Errorf("refresh %d: revoked key accepted (err %v)", i+1, err)
		}
	}
	if c.Len() != 1 || c.Rev() != 3 {
		t.Errorf("Len %d Rev %d, want 1 and 3", c.Len(), c.Rev())
	}
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if c.Len() != 0 {
		t.Errorf("deleted key still cached")
	}
	if got, want := feed.since, []int64{0, 1, 3, 3}; !equal(got, want) {
		t.Errorf("feed asked since %v, want %v", got, want)
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCacheReloadsAfterRestore: a store whose head revision went back (a
// restored backup) makes the cache start over, so keys revoked in the
// restored state are refused and nothing newer is assumed.
func TestCacheReloadsAfterRestore(t *testing.T) {
	ctx := context.Background()
	org := &octomesh.Org{ID: "o1", Rev: 1}
	k, raw := keyFor(t, "k1", "o1", 9)
	restored := *k
	restored.Rev, restored.RevokedAt = 2, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	feed := &fakeFeed{changes: []*octomesh.AuthChanges{
		{Rev: 9, Keys: []*octomesh.APIKey{k}, Orgs: []*octomesh.Org{org}},
		{Rev: 3},
		{Rev: 3, Keys: []*octomesh.APIKey{&restored}, Orgs: []*octomesh.Org{org}},
	}}
	c, err := apikey.NewCache(ctx, feed, apikey.CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Authenticate(ctx, raw); err != nil {
		t.Fatal(err)
	}
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Authenticate(ctx, raw); octomesh.ErrorCodeOf(err) != octomesh.EUNAUTHORIZED {
		t.Errorf("after a restore that revoked the key: err = %v", err)
	}
	if c.Rev() != 3 {
		t.Errorf("Rev = %d, want the restored head 3", c.Rev())
	}
	if got, want := feed.since, []int64{0, 9, 0}; !equal(got, want) {
		t.Errorf("feed asked since %v, want %v", got, want)
	}
}

func TestCacheStaleness(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	k, raw := keyFor(t, "k1", "o1", 1)
	feed := &fakeFeed{changes: []*octomesh.AuthChanges{{Rev: 1, Keys: []*octomesh.APIKey{k}, Orgs: []*octomesh.Org{{ID: "o1", Rev: 1}}}}}
	c, err := apikey.NewCache(ctx, feed, apikey.CacheOptions{Now: func() time.Time { return now }, MaxStale: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	feed.err = errors.New("database down")
	now = now.Add(59 * time.Second)
	if err := c.Refresh(ctx); err == nil {
		t.Fatal("Refresh succeeded against a failing feed")
	}
	if _, err := c.Authenticate(ctx, raw); err != nil {
		t.Errorf("within MaxStale: %v", err)
	}
	now = now.Add(2 * time.Second)
	_, err = c.Authenticate(ctx, raw)
	if octomesh.ErrorCodeOf(err) != octomesh.EUNAVAILABLE {
		t.Errorf("past MaxStale: err = %v, want EUNAVAILABLE", err)
	}
	feed.err = nil
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Authenticate(ctx, raw); err != nil {
		t.Errorf("after recovering: %v", err)
	}
	if _, err := apikey.NewCache(ctx, &fakeFeed{err: errors.New("down")}, apikey.CacheOptions{}); err == nil {
		t.Errorf("NewCache succeeded against a failing feed")
	}
}

func TestCacheRunStops(t *testing.T) {
	feed := &fakeFeed{changes: []*octomesh.AuthChanges{{Rev: 0}}}
	c, err := apikey.NewCache(context.Background(), feed, apikey.CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx, time.Millisecond, nil); close(done) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Run did not return after cancellation")
	}
	feed.mu.Lock()
	defer feed.mu.Unlock()
	if len(feed.since) < 3 {
		t.Errorf("Run polled %d times in 20ms at 1ms intervals", len(feed.since))
	}
}
