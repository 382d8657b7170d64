package meter

import (
	"sync"

	"github.com/octomesh/octomesh"
)

// limitKeys caches the counter keys of rate limits ("rk:"+key ID and so
// on), made once per API key and organisation instead of four string
// concatenations per admitted request. It is safe for concurrent use.
type limitKeys struct {
	mu   sync.RWMutex
	keys map[string]*[2]string // by key ID: requests, tokens
	orgs map[string]*[2]string // by organisation ID
}

// maxLimitKeys bounds each map; past it, the cache starts again (making
// a key is cheap, and a cache of every key ever seen would not be).
const maxLimitKeys = 100_000

// of returns the counter key of limit k for p.
func (c *limitKeys) of(k limitKind, p *octomesh.Principal) string {
	id, m, prefixes := p.KeyID, &c.keys, [2]string{"rk:", "tk:"}
	if k == orgRequests || k == orgTokens {
		id, m, prefixes = p.OrgID, &c.orgs, [2]string{"ro:", "to:"}
	}
	i := 0
	if k == keyTokens || k == orgTokens {
		i = 1
	}
	c.mu.RLock()
	ks := (*m)[id]
	c.mu.RUnlock()
	if ks != nil {
		return ks[i]
	}
	ks = &[2]string{prefixes[0] + id, prefixes[1] + id}
	c.mu.Lock()
	if *m == nil || len(*m) >= maxLimitKeys {
		*m = map[string]*[2]string{}
	}
	(*m)[id] = ks
	c.mu.Unlock()
	return ks[i]
}
