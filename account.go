package octomesh

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Org is an organisation: the tenant that owns users, keys, usage and
// budgets. Nothing of one organisation is visible to another.
type Org struct {
	ID           string
	Name         string
	BillingEmail string // the billing contact
	Settings     OrgSettings
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Rev          int64 // the store revision of the last change
}

// OrgSettings are an organisation's policies. The data-policy constraints
// and the model allow-list apply to every key of the organisation, on top
// of the key's own scopes.
type OrgSettings struct {
	ZeroRetention bool     `json:"zero_retention,omitempty"`
	NoTraining    bool     `json:"no_training,omitempty"`
	Regions       []string `json:"regions,omitempty"`
	AllowedModels []string `json:"allowed_models,omitempty"`
	// StoreContent opts the organisation in to storing (sealed) prompts and
	// outputs. Off by default: content is never stored.
	StoreContent bool `json:"store_content,omitempty"`
	// RPM and TPM limit the whole organisation's requests and tokens per
	// minute, across all its keys; 0 means no organisation-wide limit.
	RPM int64 `json:"rpm,omitempty"`
	TPM int64 `json:"tpm,omitempty"`
	// Prepaid makes the organisation pay in advance: its requests are
	// admitted only while its credit balance (top-ups minus spend) covers
	// their reservation, as a hard budget would.
	Prepaid bool `json:"prepaid,omitempty"`
}

// Validate checks an organisation's fields. It returns EINVALID naming the field.
func (o *Org) Validate() error {
	if !ValidID(o.ID) {
		return Errorf(EINVALID, "invalid organisation id").WithParam("id")
	}
	if err := checkText("name", o.Name, 1, maxNameLen); err != nil {
		return err
	}
	if err := checkEmail("billing_email", o.BillingEmail); err != nil {
		return err
	}
	if o.Settings.RPM < 0 || o.Settings.TPM < 0 {
		return Errorf(EINVALID, "settings.rpm and settings.tpm must be ≥ 0 (0: no limit)").WithParam("settings.rpm")
	}
	for _, l := range []struct {
		name string
		v    []string
	}{{"settings.regions", o.Settings.Regions}, {"settings.allowed_models", o.Settings.AllowedModels}} {
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

// OrgChanges names the fields that differ between two versions of an
// organisation, for the audit log (names only, never values).
func OrgChanges(old, new *Org) []string {
	var c []string
	add := func(changed bool, name string) {
		if changed {
			c = append(c, name)
		}
	}
	add(old.Name != new.Name, "name")
	add(old.BillingEmail != new.BillingEmail, "billing_email")
	s, t := old.Settings, new.Settings
	add(s.ZeroRetention != t.ZeroRetention, "settings.zero_retention")
	add(s.NoTraining != t.NoTraining, "settings.no_training")
	add(!slices.Equal(s.Regions, t.Regions), "settings.regions")
	add(s.RPM != t.RPM, "settings.rpm")
	add(s.TPM != t.TPM, "settings.tpm")
	add(s.Prepaid != t.Prepaid, "settings.prepaid")
	add(!slices.Equal(s.AllowedModels, t.AllowedModels), "settings.allowed_models")
	add(s.StoreContent != t.StoreContent, "settings.store_content")
	return c
}

// User is a person of an organisation: the personal data (name, email) the
// privacy policy speaks of. Users belong to exactly one organisation, which
// controls their data; a user acts through Membership roles and API keys.
type User struct {
	ID        string
	OrgID     string
	Name      string
	Email     string // optional; unique within the organisation, stored lower-case
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Validate checks and normalises a user's fields (the email is lower-cased).
// It returns EINVALID naming the field.
func (u *User) Validate() error {
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	switch {
	case !ValidID(u.ID):
		return Errorf(EINVALID, "invalid user id").WithParam("id")
	case !ValidID(u.OrgID):
		return Errorf(EINVALID, "invalid organisation id").WithParam("org_id")
	}
	if err := checkText("name", u.Name, 1, maxNameLen); err != nil {
		return err
	}
	return checkEmail("email", u.Email)
}

// UserChanges names the fields that differ between two versions of a user.
func UserChanges(old, new *User) []string {
	var c []string
	if old.Name != new.Name {
		c = append(c, "name")
	}
	if old.Email != new.Email {
		c = append(c, "email")
	}
	return c
}

// UserFilter narrows ListUsers.
type UserFilter struct {
	Email string // only the user with this email (compared lower-case)
}

// Membership gives a user a role in the organisation.
type Membership struct {
	OrgID     string
	UserID    string
	Role      OrgRole
	CreatedAt time.Time
	UpdatedAt time.Time
}

// OrgStore persists organisations. Implementations are safe for concurrent
// use; every change is audited in the same transaction.
type OrgStore interface {
	// CreateOrg stores o together with its first owner (a user of o made an
	// owner member) and, when ownerKey is not nil, that owner's API key, all
	// or nothing. It returns EINVALID for invalid or duplicate values.
	CreateOrg(ctx context.Context, o *Org, owner *User, ownerKey *APIKey) error
	// Org returns an organisation, or ENOTFOUND.
	Org(ctx context.Context, id string) (*Org, error)
	// ListOrgs lists every organisation, oldest first.
	ListOrgs(ctx context.Context) ([]*Org, error)
	// UpdateOrg changes the Name, BillingEmail and Settings of o.ID. It
	// returns ENOTFOUND or EINVALID.
	UpdateOrg(ctx context.Context, o *Org) error
	// DeleteOrg deletes an organisation with its users and memberships and
	// revokes its keys (which stay as tombstones). It returns ENOTFOUND.
	DeleteOrg(ctx context.Context, id string) error
}

// UserStore persists users. Implementations are safe for concurrent use;
// every change is audited in the same transaction.
type UserStore interface {
	// CreateUser stores u. It returns EINVALID for invalid values or an
	// email already used in the organisation, ENOTFOUND for an unknown
	// organisation.
	CreateUser(ctx context.Context, u *User) error
	// User returns a user of an organisation, or ENOTFOUND.
	User(ctx context.Context, orgID, id string) (*User, error)
	// ListUsers lists an organisation's users, oldest first.
	ListUsers(ctx context.Context, orgID string, f UserFilter) ([]*User, error)
	// UpdateUser changes the Name and Email of u.ID in u.OrgID. It returns
	// ENOTFOUND or EINVALID.
	UpdateUser(ctx context.Context, u *User) error
	// DeleteUser erases a user: the user's record and membership go, and
	// the user's keys are revoked (they stay as tombstones). It returns
	// ENOTFOUND, or EINVALID when the user is the organisation's last owner.
	DeleteUser(ctx context.Context, orgID, id string) error
}

// MemberStore persists memberships. Implementations are safe for
// concurrent use; every change is audited in the same transaction.
type MemberStore interface {
	// SetMember gives a user of the organisation a role, adding or changing
	// the membership. The user's keys whose role the new one does not cover
	// are lowered to it. It returns ENOTFOUND for an unknown user, EINVALID
	// for an invalid role or when the last owner would be demoted.
	SetMember(ctx context.Context, m *Membership) error
	// Member returns a membership, or ENOTFOUND.
	Member(ctx context.Context, orgID, userID string) (*Membership, error)
	// ListMembers lists an organisation's memberships (of one role when
	// role is not ""), oldest first.
	ListMembers(ctx context.Context, orgID string, role OrgRole) ([]*Membership, error)
	// RemoveMember ends a membership and revokes the user's keys. It returns
	// ENOTFOUND, or EINVALID for the last owner.
	RemoveMember(ctx context.Context, orgID, userID string) error
}

// AccountStore is the system of record for organisations, users,
// memberships, API keys and the audit log. internal/sqlite and
// internal/postgres implement it with identical behaviour, which
// internal/storetest checks.
type AccountStore interface {
	OrgStore
	UserStore
	MemberStore
	KeyStore
	AuditLog
	// Ping checks that the store answers.
	Ping(ctx context.Context) error
}

// NewID returns a random identifier with the given prefix, e.g. "usr_3f9a…".
func NewID(prefix string) string {
	var b [10]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather than return an error)
	return prefix + "_" + hex.EncodeToString(b[:])
}

// ValidID reports whether s can be an identifier: 1 to 64 ASCII letters,
// digits, '_' or '-'. Anything else cannot name a stored object.
func ValidID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

const (
	maxNameLen = 200
	maxListLen = 100
)

// checkText requires valid UTF-8 of min to max bytes with no control or
// invisible formatting characters, so stored strings cannot forge lines in
// logs or terminals.
func checkText(field, s string, min, max int) error {
	if len(s) < min {
		return Errorf(EINVALID, "%s is required", field).WithParam(field)
	}
	if len(s) > max {
		return Errorf(EINVALID, "%s is longer than %d bytes", field, max).WithParam(field)
	}
	if !utf8.ValidString(s) {
		return Errorf(EINVALID, "%s is not valid UTF-8", field).WithParam(field)
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return Errorf(EINVALID, "%s contains control characters", field).WithParam(field)
		}
	}
	if strings.TrimSpace(s) != s {
		return Errorf(EINVALID, "%s has leading or trailing spaces", field).WithParam(field)
	}
	return nil
}

// checkEmail accepts "" or a plausible address: one '@', a dot in the
// domain, no spaces, at most 254 bytes.
func checkEmail(field, s string) error {
	if s == "" {
		return nil
	}
	if err := checkText(field, s, 0, 254); err != nil {
		return err
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || strings.Contains(domain, "@") || !strings.Contains(domain, ".") ||
		strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.ContainsAny(s, " <>,;\"") {
		return Errorf(EINVALID, "%s is not a valid email address", field).WithParam(field)
	}
	return nil
}
