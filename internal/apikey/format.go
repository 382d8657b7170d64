// Package apikey generates, recognises and authenticates OctoMesh API keys.
//
// Keys look like "om_" + 32 base62 characters of randomness + a 6-character
// base62 CRC-32 checksum of the random part, e.g.
// om_3f8ZbQ9kL2mN7pR4sT6vW8xY0aC2eG4i1Kx9Qz. The fixed prefix lets secret
// scanners recognise a leaked key, and the checksum lets them tell a real key
// from random text offline, without calling OctoMesh. Only the SHA-256 of a
// key and its first PrefixLen characters are ever stored.
package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"hash/crc32"
	"io"
	"strings"
)

const (
	// Prefix starts every OctoMesh key.
	Prefix = "om_"
	// PrefixLen is how many leading characters of a key are stored and shown.
	PrefixLen = 10

	randomLen   = 32
	checksumLen = 6
	// KeyLen is the length of a well-formed key.
	KeyLen = len(Prefix) + randomLen + checksumLen
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Generate returns a new random key read from r (crypto/rand.Reader when nil).
func Generate(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	var b strings.Builder
	b.Grow(KeyLen)
	b.WriteString(Prefix)
	buf := make([]byte, randomLen)
	// Rejection sampling keeps every character uniform over base62.
	for n := 0; n < randomLen; {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		for _, c := range buf {
			if c >= 248 { // 248 = 62*4: the largest multiple of 62 ≤ 256
				continue
			}
			b.WriteByte(base62[c%62])
			n++
			if n == randomLen {
				break
			}
		}
	}
	random := b.String()[len(Prefix):]
	b.WriteString(checksum(random))
	return b.String(), nil
}

// WellFormed reports whether s has the key format and a valid checksum. It
// does not say whether the key exists.
func WellFormed(s string) bool {
	if len(s) != KeyLen || !strings.HasPrefix(s, Prefix) {
		return false
	}
	body := s[len(Prefix):]
	for i := 0; i < len(body); i++ {
		if strings.IndexByte(base62, body[i]) < 0 {
			return false
		}
	}
	return checksum(body[:randomLen]) == body[randomLen:]
}

// Hash returns the SHA-256 of a raw key: what the store keeps. Keys carry 190
// bits of randomness, so a fast hash is enough; a slow KDF would only slow the
// request path.
func Hash(raw string) []byte {
	h := sha256.Sum256([]byte(raw))
	return h[:]
}

// VisiblePrefix returns the part of a key that may be stored and shown.
func VisiblePrefix(raw string) string {
	if len(raw) < PrefixLen {
		return raw
	}
	return raw[:PrefixLen]
}

func checksum(random string) string {
	v := crc32.ChecksumIEEE([]byte(random))
	out := make([]byte, checksumLen)
	for i := checksumLen - 1; i >= 0; i-- {
		out[i] = base62[v%62]
		v /= 62
	}
	return string(out)
}
