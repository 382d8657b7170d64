package apikey

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/octomesh/octomesh"
)

// RefreshInterval is how often a serving node asks the store for key and
// organisation changes. It bounds how long a key revoked on another node
// (or with the CLI) keeps working here: at most RefreshInterval plus one
// store round trip. On the node that revoked it, revocation is immediate.
const RefreshInterval = 5 * time.Second

// MaxStale is how long a node keeps authenticating from memory without a
// successful refresh. Past it, every key is refused with EUNAVAILABLE
// rather than risk honouring one revoked meanwhile.
const MaxStale = time.Minute

// Feed is the store's change feed, as a Cache needs it.
type Feed interface {
	AuthChanges(ctx context.Context, since int64) (*octomesh.AuthChanges, error)
}

// CacheOptions configure a Cache.
type CacheOptions struct {
	Now octomesh.Clock // default time.Now
	// MaxStale bounds the time since the last successful refresh; 0 means
	// the package default MaxStale, negative means no bound.
	MaxStale time.Duration
}

// Cache authenticates keys from memory: the request path never touches the
// store. It is loaded from the store's change feed at start and kept
// current by Refresh, which the admin API calls after every change it makes
// (so the change is effective at once on that node) and Run calls every
// RefreshInterval (so changes made elsewhere arrive within that bound).
// It is safe for concurrent use.
type Cache struct {
	feed     Feed
	now      octomesh.Clock
	maxStale time.Duration

	syncMu sync.Mutex // serialises Refresh, so changes apply in revision order

	mu     sync.RWMutex
	keys   map[[sha256.Size]byte]*cached
	orgs   map[string]*octomesh.Org
	rev    int64
	synced time.Time
}

// cached is a key with the organisation it belongs to and, once the key
// has been used, its principal. An entry never changes after it is stored
// (the principal is set once, from the entry's own key and organisation):
// a change to the key or its organisation stores a new entry.
type cached struct {
	key *octomesh.APIKey
	org *octomesh.Org // nil while the organisation is unknown
	// p is built on first use rather than at load, so that a store with
	// many keys, most of them idle, costs no principal for each.
	p atomic.Pointer[octomesh.Principal]
}

// principal returns the entry's principal, building it on first use.
func (e *cached) principal() *octomesh.Principal {
	if p := e.p.Load(); p != nil {
		return p
	}
	e.p.CompareAndSwap(nil, octomesh.NewPrincipal(e.key, e.org.Settings))
	return e.p.Load() // whichever concurrent first use won: all callers share one
}

// NewCache returns a cache loaded with every key and organisation in the
// store.
func NewCache(ctx context.Context, feed Feed, o CacheOptions) (*Cache, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxStale == 0 {
		o.MaxStale = MaxStale
	}
	c := &Cache{feed: feed, now: o.Now, maxStale: o.MaxStale,
		keys: map[[sha256.Size]byte]*cached{}, orgs: map[string]*octomesh.Org{}}
	if err := c.Refresh(ctx); err != nil {
		return nil, fmt.Errorf("load api keys: %w", err)
	}
	return c, nil
}

// Refresh applies the changes the store has made since the last refresh.
func (c *Cache) Refresh(ctx context.Context) error {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	c.mu.RLock()
	since := c.rev
	c.mu.RUnlock()
	ch, err := c.feed.AuthChanges(ctx, since)
	if err != nil {
		return err
	}
	reload := ch.Rev < since // the store went back in time (restored from a backup): start over
	if reload {
		if ch, err = c.feed.AuthChanges(ctx, 0); err != nil {
			return err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if reload {
		c.keys, c.orgs, c.rev = map[[sha256.Size]byte]*cached{}, map[string]*octomesh.Org{}, 0
	}
	orgChanged := map[string]bool{}
	for _, o := range ch.Orgs {
		if old := c.orgs[o.ID]; old == nil || old.Rev <= o.Rev {
			c.orgs[o.ID] = o
			orgChanged[o.ID] = true
		}
	}
	for _, k := range ch.Keys {
		var h [sha256.Size]byte
		copy(h[:], k.Hash)
		if old := c.keys[h]; old != nil && old.key.Rev > k.Rev {
			continue
		}
		if !k.DeletedAt.IsZero() {
			delete(c.keys, h)
			continue
		}
		c.keys[h] = &cached{key: k, org: c.orgs[k.OrgID]}
	}
	if len(orgChanged) > 0 {
		// Principals carry their organisation's settings: every key of a
		// changed organisation gets a new entry (requests in flight keep
		// the principal they have).
		for h, e := range c.keys {
			if org := c.orgs[e.key.OrgID]; orgChanged[e.key.OrgID] && e.org != org {
				c.keys[h] = &cached{key: e.key, org: org}
			}
		}
	}
	if ch.Rev > c.rev {
		c.rev = ch.Rev
	}
	c.synced = c.now()
	return nil
}

// Run refreshes the cache every interval until ctx is done. Failures are
// logged (without detail that could hold a DSN) and retried at the next tick.
func (c *Cache) Run(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.Refresh(ctx); err != nil && ctx.Err() == nil && log != nil {
				log.Warn("refresh api keys failed", "cause", err.Error())
			}
		}
	}
}

// Authenticate returns the principal for rawKey, or EUNAUTHORIZED. Unknown,
// revoked, expired and deleted keys get the same answer. The map is keyed by
// the key's SHA-256, so a lookup reveals nothing about stored keys through
// timing; the final comparison is constant-time as well.
//
// It allocates nothing for a valid key after its first use: the principal
// is built once per version of the key and its organisation and is shared
// by every request made with the key, so callers must not modify it (nor
// the slices it holds).
func (c *Cache) Authenticate(_ context.Context, rawKey string) (*octomesh.Principal, error) {
	if rawKey == "" {
		return nil, octomesh.Errorf(octomesh.EUNAUTHORIZED, "missing API key: send it as \"Authorization: Bearer <key>\", x-api-key or x-goog-api-key (an Authorization header of another scheme, such as Basic, carries no key)")
	}
	h := hashKey(rawKey)
	now := c.now()
	c.mu.RLock()
	e := c.keys[h]
	synced := c.synced
	c.mu.RUnlock()
	if c.maxStale > 0 && now.Sub(synced) > c.maxStale {
		return nil, octomesh.Errorf(octomesh.EUNAVAILABLE, "API keys cannot be checked right now; try again shortly")
	}
	if e == nil || subtle.ConstantTimeCompare(e.key.Hash, h[:]) != 1 || !e.key.Active(now) || e.org == nil {
		return nil, octomesh.Errorf(octomesh.EUNAUTHORIZED, "invalid API key")
	}
	return e.principal(), nil
}

// hashKey returns the SHA-256 of rawKey. A well-formed key is copied to the
// stack first: converting it directly would allocate, as any string longer
// than 32 bytes does.
func hashKey(rawKey string) [sha256.Size]byte {
	var buf [2 * KeyLen]byte
	if len(rawKey) <= len(buf) {
		return sha256.Sum256(append(buf[:0], rawKey...))
	}
	return sha256.Sum256([]byte(rawKey))
}

// Len returns the number of keys known (revoked ones included).
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.keys)
}

// Rev returns the store revision the cache has caught up with.
func (c *Cache) Rev() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.rev
}
