package octomesh

import (
	"context"
	"log/slog"
	"slices"
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
// never the key itself. A key belongs to one organisation, optionally to one
// of its users and a project label, and acts with one Role there, limited
// further by its Scopes.
type APIKey struct {
	ID       string
	OrgID    string
	UserID   string // "" for an organisation-level key
	Project  string // an optional free-form label
	Name     string
	Prefix   string  // the first characters of the key, shown in listings
	Hash     []byte  // SHA-256 of the full key
	Role     OrgRole // what the key may do in its organisation
	Platform bool    // an operator key: may also create and list organisations
	Scopes   KeyScopes

	CreatedAt  time.Time
	UpdatedAt  time.Time
	ExpiresAt  time.Time // zero: never
	RevokedAt  time.Time // zero: not revoked
	DeletedAt  time.Time // zero: not deleted; deleted keys are revoked tombstones
	ReplacedBy string    // the successor's ID once the key was rotated
	Rev        int64     // the store revision of the key's last change
}

// Active reports whether the key may be used at time now.
func (k *APIKey) Active(now time.Time) bool {
	if !k.DeletedAt.IsZero() {
		return false
	}
	if !k.RevokedAt.IsZero() && !now.Before(k.RevokedAt) {
		return false
	}
	if !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt) {
		return false
	}
	return true
}

// Validate checks a key's fields before it is stored. It returns EINVALID
// naming the field.
func (k *APIKey) Validate() error {
	switch {
	case !ValidID(k.ID):
		return Errorf(EINVALID, "invalid key id").WithParam("id")
	case !ValidID(k.OrgID):
		return Errorf(EINVALID, "invalid organisation id").WithParam("org_id")
	case k.UserID != "" && !ValidID(k.UserID):
		return Errorf(EINVALID, "invalid user id").WithParam("user_id")
	case !k.Role.Valid():
		return Errorf(EINVALID, "role must be one of owner, admin, member, billing, viewer").WithParam("role")
	case len(k.Hash) == 0 || k.Prefix == "":
		return Errorf(EINVALID, "the key has no hash").WithParam("hash")
	}
	if err := checkText("name", k.Name, 0, maxNameLen); err != nil {
		return err
	}
	if err := checkText("project", k.Project, 0, maxNameLen); err != nil {
		return err
	}
	return k.Scopes.Validate()
}

// KeyChanges names the fields that differ between two versions of a key,
// for the audit log (names only, never values).
func KeyChanges(old, new *APIKey) []string {
	var c []string
	add := func(changed bool, name string) {
		if changed {
			c = append(c, name)
		}
	}
	add(old.Name != new.Name, "name")
	add(old.Project != new.Project, "project")
	add(old.Role != new.Role, "role")
	add(!old.ExpiresAt.Equal(new.ExpiresAt), "expires_at")
	s, t := old.Scopes, new.Scopes
	add(!slices.Equal(s.Models, t.Models), "scopes.models")
	add(s.RPM != t.RPM, "scopes.rpm")
	add(s.TPM != t.TPM, "scopes.tpm")
	add(!slices.Equal(s.Budgets, t.Budgets), "scopes.budgets")
	add(s.ZeroRetention != t.ZeroRetention, "scopes.zero_retention")
	add(s.NoTraining != t.NoTraining, "scopes.no_training")
	add(!slices.Equal(s.Regions, t.Regions), "scopes.regions")
	return c
}

// RotationEnd returns the ExpiresAt and RevokedAt a rotated key gets: with
// an overlap ending after now it keeps working until then (or its own
// earlier expiry); otherwise it is revoked at now.
func RotationEnd(old *APIKey, overlapEnds, now time.Time) (expiresAt, revokedAt time.Time) {
	if !overlapEnds.After(now) {
		return old.ExpiresAt, now
	}
	if old.ExpiresAt.IsZero() || overlapEnds.Before(old.ExpiresAt) {
		return overlapEnds, old.RevokedAt
	}
	return old.ExpiresAt, old.RevokedAt
}

// FormatAuditTime formats a time for an audit entry's details.
func FormatAuditTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// KeyScopes narrow what a key may do. The gateway enforces the model and
// data-policy constraints; the rate limits and budget references are kept
// for metering, which enforces them.
type KeyScopes struct {
	// Models lists the model names, aliases or groups the key may request;
	// empty allows every model.
	Models []string `json:"models,omitempty"`
	// RPM and TPM are requests and tokens per minute; 0 means no limit.
	RPM int64 `json:"rpm,omitempty"`
	TPM int64 `json:"tpm,omitempty"`
	// Budgets are the IDs of budgets the key's spending counts against.
	Budgets []string `json:"budgets,omitempty"`
	// Data-policy constraints: only deployments that retain nothing, that
	// never train on data, or that run in one of Regions (empty: any).
	ZeroRetention bool     `json:"zero_retention,omitempty"`
	NoTraining    bool     `json:"no_training,omitempty"`
	Regions       []string `json:"regions,omitempty"`
}

// Validate checks the scopes' values. It returns EINVALID naming the field.
func (s *KeyScopes) Validate() error {
	if s.RPM < 0 {
		return Errorf(EINVALID, "scopes.rpm must not be negative").WithParam("scopes.rpm")
	}
	if s.TPM < 0 {
		return Errorf(EINVALID, "scopes.tpm must not be negative").WithParam("scopes.tpm")
	}
	for _, l := range []struct {
		name string
		v    []string
	}{{"scopes.models", s.Models}, {"scopes.budgets", s.Budgets}, {"scopes.regions", s.Regions}} {
		if len(l.v) > maxListLen {
			return Errorf(EINVALID, "%s has more than %d entries", l.name, maxListLen).WithParam(l.name)
		}
		for _, v := range l.v {
			if err := checkText(l.name, v, 1, maxNameLen); err != nil {
				return err
			}
		}
	}
	return nil
}

// Narrow returns s limited by parent: allow-lists are intersected, limits
// take the smaller non-zero value, data-policy flags add up and budgets
// accumulate. A key created or rotated by another key gets its scopes
// narrowed by the creator's, so no key can mint a more powerful one. It
// returns EINVALID when two allow-lists have nothing in common.
func (s KeyScopes) Narrow(parent KeyScopes) (KeyScopes, error) {
	var err error
	out := KeyScopes{
		RPM:           minLimit(s.RPM, parent.RPM),
		TPM:           minLimit(s.TPM, parent.TPM),
		Budgets:       union(s.Budgets, parent.Budgets),
		ZeroRetention: s.ZeroRetention || parent.ZeroRetention,
		NoTraining:    s.NoTraining || parent.NoTraining,
	}
	if out.Models, err = intersect("scopes.models", s.Models, parent.Models); err != nil {
		return KeyScopes{}, err
	}
	if out.Regions, err = intersect("scopes.regions", s.Regions, parent.Regions); err != nil {
		return KeyScopes{}, err
	}
	return out, nil
}

func minLimit(a, b int64) int64 {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}

func union(a, b []string) []string {
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// intersect intersects two allow-lists where empty means "everything".
func intersect(field string, a, b []string) ([]string, error) {
	switch {
	case len(b) == 0:
		return slices.Clone(a), nil
	case len(a) == 0:
		return slices.Clone(b), nil
	}
	var out []string
	for _, v := range a {
		if slices.Contains(b, v) && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil, Errorf(EINVALID, "%s: none of the requested values is allowed by the creating key", field).WithParam(field)
	}
	return out, nil
}

// AuthChanges is what changed for authentication since a store revision:
// keys (revoked and deleted ones included) and organisations (for their
// settings). Rev is the revision to ask from next time.
type AuthChanges struct {
	Rev  int64
	Keys []*APIKey
	Orgs []*Org
}

// KeyFilter narrows ListKeys.
type KeyFilter struct {
	UserID         string // only keys of this user
	Project        string // only keys with this project label
	IncludeRevoked bool   // also revoked and expired keys (deleted keys never)
}

// KeyStore persists API keys. Implementations are safe for concurrent use.
// Every change is written to the audit log in the same transaction, with
// the actor taken from ctx (WithActor).
type KeyStore interface {
	// CreateKey stores k (ID, OrgID, Role, Hash and Prefix set by the
	// caller; times and Rev by the store). It returns EINVALID if the key is
	// invalid, a key with the same ID or hash exists, the organisation does
	// not exist, or k.UserID is not a member whose role covers k.Role.
	CreateKey(ctx context.Context, k *APIKey) error
	// Key returns one key of an organisation, or ENOTFOUND (also for keys
	// of other organisations and deleted keys).
	Key(ctx context.Context, orgID, id string) (*APIKey, error)
	// KeyByHash returns the key with the given hash, or ENOTFOUND.
	KeyByHash(ctx context.Context, hash []byte) (*APIKey, error)
	// ListKeys lists an organisation's keys ("" for every organisation's),
	// oldest first, never deleted ones.
	ListKeys(ctx context.Context, orgID string, f KeyFilter) ([]*APIKey, error)
	// UpdateKey changes the Name, Project, Role, Scopes and ExpiresAt of an
	// existing key of k.OrgID. It returns ENOTFOUND or EINVALID.
	UpdateKey(ctx context.Context, k *APIKey) error
	// RotateKey stores next as the successor of the active key id and lets
	// the old key work until overlapEnds (at once when that is not after
	// now). It returns ENOTFOUND, or EINVALID for an inactive key.
	RotateKey(ctx context.Context, orgID, id string, next *APIKey, overlapEnds time.Time) error
	// RevokeKey revokes a key at once; revoking a revoked key is a no-op.
	// It returns ENOTFOUND.
	RevokeKey(ctx context.Context, orgID, id string) error
	// DeleteKey revokes a key and hides it from listings. It returns ENOTFOUND.
	DeleteKey(ctx context.Context, orgID, id string) error
	// AuthChanges returns the keys and organisations changed after revision
	// since (0: everything), in revision order.
	AuthChanges(ctx context.Context, since int64) (*AuthChanges, error)
}

// Principal is the authenticated caller of a request.
type Principal struct {
	KeyID    string
	OrgID    string
	UserID   string // "" for organisation-level keys
	Project  string
	Role     OrgRole
	Platform bool        // an operator key (see PermCreateOrgs)
	Scopes   KeyScopes   // the key's own scopes: limits and budgets for metering
	Org      OrgSettings // the organisation's settings, which constrain on top of Scopes
	// AllowedModels is the effective model allow-list: the key's
	// scopes.models narrowed by the organisation's settings.allowed_models.
	// Empty allows every model; NoneAllowed allows none.
	AllowedModels []string
	// RouteOptions are the key's and the organisation's routing
	// constraints (zero retention, no training, regions); the gateway puts
	// them between the config's defaults and the request's own options.
	RouteOptions RouteOptions
	ExpiresAt    time.Time // zero: never
}

// NoneAllowed is the one entry of an allow-list that allows nothing: what
// a key's list narrowed by a disjoint organisation list becomes. It contains
// a character no model name or region can, so it matches nothing.
const NoneAllowed = "\x00none"

// NewPrincipal returns the principal of key k in organisation settings org:
// the key's scopes narrowed by the organisation's policies, which only ever
// tighten.
func NewPrincipal(k *APIKey, org OrgSettings) *Principal {
	p := &Principal{KeyID: k.ID, OrgID: k.OrgID, UserID: k.UserID, Project: k.Project, Role: k.Role,
		Platform: k.Platform, Scopes: k.Scopes, Org: org, ExpiresAt: k.ExpiresAt}
	narrow := func(a, b []string) []string {
		out, err := intersect("", a, b)
		if err != nil {
			return []string{NoneAllowed}
		}
		return out
	}
	p.AllowedModels = narrow(k.Scopes.Models, org.AllowedModels)
	p.RouteOptions = RouteOptions{
		ZeroRetention: k.Scopes.ZeroRetention || org.ZeroRetention,
		NoTraining:    k.Scopes.NoTraining || org.NoTraining,
		Regions:       narrow(k.Scopes.Regions, org.Regions),
	}
	return p
}

// AllowsModel reports whether the principal may request a model known by
// any of names (its deployment name, an alias, a group).
func (p *Principal) AllowsModel(names ...string) bool {
	if len(p.AllowedModels) == 0 {
		return true
	}
	for _, n := range names {
		if slices.Contains(p.AllowedModels, n) {
			return true
		}
	}
	return false
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	switch v := ctx.Value(principalKey{}).(type) {
	case *Principal:
		return v
	case *RequestScope:
		return v.Principal
	}
	return nil
}
