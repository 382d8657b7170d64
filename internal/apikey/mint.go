package apikey

import (
	"fmt"

	"github.com/octomesh/octomesh"
)

// Mint generates a new raw key for k and sets k's Hash and Prefix. The raw
// key is returned once, for the caller to show once; only the hash and the
// prefix are ever stored.
func Mint(k *octomesh.APIKey) (octomesh.Secret, error) {
	raw, err := Generate(nil)
	if err != nil {
		return "", fmt.Errorf("generate api key: %w", err)
	}
	k.Hash, k.Prefix = Hash(raw), VisiblePrefix(raw)
	return octomesh.Secret(raw), nil
}

// MinAdoptLen is the shortest caller-supplied key Adopt accepts.
const MinAdoptLen = 20

// Adopt sets k's Hash and Prefix from a caller-supplied raw key (e.g.
// OCTOMESH_ADMIN_KEY for scripted set-ups). It must be at least MinAdoptLen
// characters; keys not in OctoMesh's format are accepted but cannot be
// recognised by secret scanners. It returns EINVALID for short keys.
func Adopt(k *octomesh.APIKey, raw octomesh.Secret) error {
	if len(raw.Reveal()) < MinAdoptLen {
		return octomesh.Errorf(octomesh.EINVALID, "API keys must be at least %d characters", MinAdoptLen)
	}
	k.Hash, k.Prefix = Hash(raw.Reveal()), VisiblePrefix(raw.Reveal())
	return nil
}
