package octomesh

import (
	"context"
	"log/slog"
	"time"
)

// Secret is a sensitive string (an API key, a provider credential). Its
// String, GoString and LogValue redact it, so it cannot leak through fmt or
// slog by accident; call Reveal where the raw value is truly needed.
type Secret string

// Reveal returns the raw secret.
func (s Secret) Reveal() string { return string(s) }

// String redacts the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[REDACTED]"
}

// GoString redacts the secret for %#v.
func (s Secret) GoString() string { return s.String() }

// LogValue redacts the secret in structured logs.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText redacts the secret if it is ever serialised.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// APIKey is an OctoMesh API key's stored form: its hash and visible prefix,
// never the key itself.
type APIKey struct {
	ID        string
	OrgID     string
	Name      string
	Prefix    string // the first characters of the key, shown in listings
	Hash      []byte // SHA-256 of the full key
	Admin     bool   // may use the admin API
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never
	RevokedAt time.Time // zero: active
}

// Active reports whether the key may be used at time now.
func (k *APIKey) Active(now time.Time) bool {
	if !k.RevokedAt.IsZero() && !now.Before(k.RevokedAt) {
		return false
	}
	if !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt) {
		return false
	}
	return true
}

// KeyStore persists API keys. Implementations are safe for concurrent use.
type KeyStore interface {
	// CreateKey stores k. It returns EINVALID if a key with the same ID or
	// hash exists.
	CreateKey(ctx context.Context, k *APIKey) error
	// KeyByHash returns the key with the given hash, or ENOTFOUND.
	KeyByHash(ctx context.Context, hash []byte) (*APIKey, error)
	// ListKeys lists every key of an org ("" for all), oldest first.
	ListKeys(ctx context.Context, orgID string) ([]*APIKey, error)
}

// Principal is the authenticated caller of a request.
type Principal struct {
	KeyID string
	OrgID string
	Admin bool
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
