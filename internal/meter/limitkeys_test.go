package meter

import (
	"fmt"
	"testing"

	"github.com/octomesh/octomesh"
)

// The cached counter keys are the ones made per request before, for
// every key and organisation, also once the cache has started again.
func TestLimitKeys(t *testing.T) {
	var c limitKeys
	for i := range maxLimitKeys + 10 {
		p := &octomesh.Principal{KeyID: fmt.Sprintf("key_%d", i), OrgID: fmt.Sprintf("org_%d", i%7)}
		for _, k := range []limitKind{keyRequests, orgRequests, keyTokens, orgTokens} {
			want := map[limitKind]string{keyRequests: "rk:" + p.KeyID, orgRequests: "ro:" + p.OrgID,
				keyTokens: "tk:" + p.KeyID, orgTokens: "to:" + p.OrgID}[k]
			for range 2 { // made, then cached
				if got := c.of(k, p); got != want {
					t.Fatalf("key %d kind %d: %q, want %q", i, k, got, want)
				}
			}
		}
	}
	if len(c.keys) > maxLimitKeys || len(c.orgs) > maxLimitKeys {
		t.Errorf("cache holds %d keys and %d orgs, more than %d", len(c.keys), len(c.orgs), maxLimitKeys)
	}
}
