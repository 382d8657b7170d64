package meter

import (
	"fmt"
	"testing"
	"time"

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

// The cached account keys are the ones made per request before.
func TestAccountKeys(t *testing.T) {
	var c accountKeys
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for range 2 { // made, then cached
		if got, want := c.budget("bud_1", start), fmt.Sprintf("b:bud_1:%d", start.Unix()); got != want {
			t.Errorf("windowed budget key %q, want %q", got, want)
		}
		if got := c.budget("bud_1", time.Time{}); got != "b:bud_1" {
			t.Errorf("budget key without a window %q, want b:bud_1", got)
		}
		if got := c.budget("bud_1", start.AddDate(0, 1, 0)); got != fmt.Sprintf("b:bud_1:%d", start.AddDate(0, 1, 0).Unix()) {
			t.Errorf("next window's key %q", got)
		}
		if got := c.credit("org_a"); got != "c:org_a" {
			t.Errorf("credit key %q, want c:org_a", got)
		}
	}
}
