package apikey_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/apikey"
)

// benchFeed is a change feed holding a fixed set of keys and organisations.
type benchFeed struct{ all *octomesh.AuthChanges }

func (f benchFeed) AuthChanges(_ context.Context, since int64) (*octomesh.AuthChanges, error) {
	if since >= f.all.Rev {
		return &octomesh.AuthChanges{Rev: since}, nil
	}
	return f.all, nil
}

// BenchmarkAuthenticate measures authenticating a valid key against a
// cache of 1,000 keys in 10 organisations (paid once per request).
func BenchmarkAuthenticate(b *testing.B) {
	ctx := context.Background()
	all := &octomesh.AuthChanges{}
	var raws []string
	for i := 0; i < 10; i++ {
		all.Orgs = append(all.Orgs, &octomesh.Org{ID: fmt.Sprintf("org_%d", i), Name: "Org", Rev: int64(i + 1)})
	}
	for i := 0; i < 1000; i++ {
		k := &octomesh.APIKey{ID: fmt.Sprintf("key_%d", i), OrgID: fmt.Sprintf("org_%d", i%10), Name: "bench",
			Role: octomesh.RoleMember, Rev: int64(100 + i)}
		raw, err := apikey.Mint(k)
		if err != nil {
			b.Fatal(err)
		}
		raws = append(raws, raw.Reveal())
		all.Keys = append(all.Keys, k)
	}
	all.Rev = 2000
	c, err := apikey.NewCache(ctx, benchFeed{all}, apikey.CacheOptions{})
	if err != nil {
		b.Fatal(err)
	}
	key := raws[500]
	if _, err := c.Authenticate(ctx, key); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Authenticate(ctx, key); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
