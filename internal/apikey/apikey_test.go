package apikey_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/apikey"
	"github.com/octomesh/octomesh/internal/sqlite"
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

func newCache(t *testing.T, now func() time.Time) (*apikey.Cache, *sqlite.DB) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c, err := apikey.NewCache(context.Background(), db, now)
	if err != nil {
		t.Fatal(err)
	}
	return c, db
}

func TestCacheAuthenticate(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c, db := newCache(t, func() time.Time { return now })
	raw, err := c.Create(ctx, &octomesh.APIKey{ID: "k1", OrgID: "o1", Name: "test", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Authenticate(ctx, raw)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if p.KeyID != "k1" || p.OrgID != "o1" || !p.Admin {
		t.Errorf("principal = %+v", p)
	}
	for _, bad := range []string{"", raw + "x", raw[:len(raw)-1], "om_nope"} {
		if _, err := c.Authenticate(ctx, bad); octomesh.ErrorCodeOf(err) != octomesh.EUNAUTHORIZED {
			t.Errorf("Authenticate(%q) err = %v, want EUNAUTHORIZED", bad, err)
		}
	}
	// The store holds the hash and prefix only; a fresh cache from the same
	// store authenticates the same key.
	keys, err := db.ListKeys(ctx, "")
	if err != nil || len(keys) != 1 {
		t.Fatalf("ListKeys = %v, %v", keys, err)
	}
	if keys[0].Prefix != raw[:apikey.PrefixLen] || string(keys[0].Hash) != string(apikey.Hash(raw)) {
		t.Errorf("stored key = %+v", keys[0])
	}
	c2, err := apikey.NewCache(ctx, db, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Authenticate(ctx, raw); err != nil {
		t.Errorf("reloaded cache: %v", err)
	}
}

func TestCacheExpiry(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c, _ := newCache(t, func() time.Time { return now })
	raw, err := c.Create(ctx, &octomesh.APIKey{ID: "k1", OrgID: "o1", ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Authenticate(ctx, raw); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	now = now.Add(time.Hour)
	if _, err := c.Authenticate(ctx, raw); octomesh.ErrorCodeOf(err) != octomesh.EUNAUTHORIZED {
		t.Errorf("at expiry: err = %v, want EUNAUTHORIZED", err)
	}
}

func TestAdoptRejectsShortKeys(t *testing.T) {
	c, _ := newCache(t, time.Now)
	if err := c.Adopt(context.Background(), &octomesh.APIKey{ID: "a"}, "short"); octomesh.ErrorCodeOf(err) != octomesh.EINVALID {
		t.Errorf("err = %v, want EINVALID", err)
	}
}
