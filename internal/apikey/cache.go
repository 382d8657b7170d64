package apikey

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"sync"
	"time"

	"github.com/octomesh/octomesh"
)

// Cache authenticates keys from memory. It is loaded from a KeyStore at start
// and updated as keys are created, so the request path never touches the
// database. It is safe for concurrent use.
type Cache struct {
	store octomesh.KeyStore
	now   octomesh.Clock

	mu   sync.RWMutex
	keys map[[sha256.Size]byte]*octomesh.APIKey
}

var _ octomesh.Authenticator = (*Cache)(nil)

// NewCache returns a cache loaded with every key in store.
func NewCache(ctx context.Context, store octomesh.KeyStore, now octomesh.Clock) (*Cache, error) {
	if now == nil {
		now = time.Now
	}
	c := &Cache{store: store, now: now, keys: map[[sha256.Size]byte]*octomesh.APIKey{}}
	keys, err := store.ListKeys(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("load api keys: %w", err)
	}
	for _, k := range keys {
		c.put(k)
	}
	return c, nil
}

func (c *Cache) put(k *octomesh.APIKey) {
	var h [sha256.Size]byte
	copy(h[:], k.Hash)
	c.mu.Lock()
	c.keys[h] = k
	c.mu.Unlock()
}

// Authenticate returns the principal for rawKey, or EUNAUTHORIZED. The map is
// keyed by the key's SHA-256, so a lookup reveals nothing about stored keys
// through timing; the final comparison is constant-time as well.
func (c *Cache) Authenticate(_ context.Context, rawKey string) (*octomesh.Principal, error) {
	if rawKey == "" {
		return nil, octomesh.Errorf(octomesh.EUNAUTHORIZED, "missing API key: send it as \"Authorization: Bearer <key>\" (or x-api-key)")
	}
	h := sha256.Sum256([]byte(rawKey))
	c.mu.RLock()
	k := c.keys[h]
	c.mu.RUnlock()
	if k == nil || subtle.ConstantTimeCompare(k.Hash, h[:]) != 1 || !k.Active(c.now()) {
		return nil, octomesh.Errorf(octomesh.EUNAUTHORIZED, "invalid API key")
	}
	return &octomesh.Principal{KeyID: k.ID, OrgID: k.OrgID, Admin: k.Admin}, nil
}

// Create generates a key, stores its hash, and returns the raw key: the only
// time it exists outside the caller's hands.
func (c *Cache) Create(ctx context.Context, k *octomesh.APIKey) (string, error) {
	raw, err := Generate(nil)
	if err != nil {
		return "", fmt.Errorf("generate api key: %w", err)
	}
	return raw, c.Adopt(ctx, k, raw)
}

// Adopt stores a caller-supplied raw key (e.g. OCTOMESH_ADMIN_KEY for scripted
// set-ups). It must be at least 20 characters; keys not in OctoMesh's format
// are accepted but cannot be recognised by secret scanners.
func (c *Cache) Adopt(ctx context.Context, k *octomesh.APIKey, raw string) error {
	if len(raw) < 20 {
		return octomesh.Errorf(octomesh.EINVALID, "API keys must be at least 20 characters")
	}
	k.Hash = Hash(raw)
	k.Prefix = VisiblePrefix(raw)
	if k.CreatedAt.IsZero() {
		k.CreatedAt = c.now()
	}
	if err := c.store.CreateKey(ctx, k); err != nil {
		return err
	}
	c.put(k)
	return nil
}

// Len returns the number of keys known.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.keys)
}
