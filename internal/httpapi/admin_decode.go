package httpapi

import (
	"bytes"
	"strings"
	"time"

	"github.com/octomesh/octomesh"
)

// The admin API's request bodies. Every decoder is strict (unknown fields,
// wrong types and trailing data are errors that name the field, never echo
// a value) and is fuzzed.

type createOrgRequest struct {
	Name         string               `json:"name"`
	BillingEmail string               `json:"billing_email"`
	Settings     octomesh.OrgSettings `json:"settings"`
	Owner        struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"owner"`
}

func decodeCreateOrg(body []byte) (*createOrgRequest, error) {
	var req createOrgRequest
	if err := decodeStrict(body, &req); err != nil {
		return nil, err
	}
	if req.Owner.Name == "" {
		return nil, octomesh.Errorf(octomesh.EINVALID, "owner.name is required: every organisation starts with an owner").WithParam("owner.name")
	}
	return &req, nil
}

type updateOrgRequest struct {
	Name     *string               `json:"name"`
	Settings *octomesh.OrgSettings `json:"settings"` // replaces the settings as a whole
}

func decodeUpdateOrg(body []byte) (*updateOrgRequest, error) {
	var req updateOrgRequest
	return &req, decodeStrict(body, &req)
}

type billingRequest struct {
	BillingEmail string `json:"billing_email"`
}

func decodeBilling(body []byte) (*billingRequest, error) {
	var req billingRequest
	return &req, decodeStrict(body, &req)
}

type userRequest struct {
	Name  *string `json:"name"`
	Email *string `json:"email"`
}

func decodeUser(body []byte, create bool) (*userRequest, error) {
	var req userRequest
	if err := decodeStrict(body, &req); err != nil {
		return nil, err
	}
	if create && req.Name == nil {
		return nil, octomesh.Errorf(octomesh.EINVALID, "name is required").WithParam("name")
	}
	return &req, nil
}

type memberRequest struct {
	Role octomesh.OrgRole `json:"role"`
}

func decodeMember(body []byte) (*memberRequest, error) {
	var req memberRequest
	if err := decodeStrict(body, &req); err != nil {
		return nil, err
	}
	if !req.Role.Valid() {
		return nil, octomesh.Errorf(octomesh.EINVALID, "role must be one of owner, admin, member, billing, viewer").WithParam("role")
	}
	return &req, nil
}

type createKeyRequest struct {
	Name      string              `json:"name"`
	Role      octomesh.OrgRole    `json:"role"`    // default member
	UserID    string              `json:"user_id"` // default: the caller's user, for callers who may manage only their own keys
	Project   string              `json:"project"`
	ExpiresAt *time.Time          `json:"expires_at"`
	ExpiresIn string              `json:"expires_in"` // a Go duration, e.g. "720h"
	Scopes    *octomesh.KeyScopes `json:"scopes"`
}

// decodeCreateKey decodes and checks a key creation; the expiry is
// resolved against now.
func decodeCreateKey(body []byte, now time.Time) (*createKeyRequest, time.Time, error) {
	var req createKeyRequest
	if err := decodeStrict(body, &req); err != nil {
		return nil, time.Time{}, err
	}
	if req.Role == "" {
		req.Role = octomesh.RoleMember
	}
	if !req.Role.Valid() {
		return nil, time.Time{}, octomesh.Errorf(octomesh.EINVALID, "role must be one of owner, admin, member, billing, viewer").WithParam("role")
	}
	expires, err := expiry(req.ExpiresAt, req.ExpiresIn, now)
	return &req, expires, err
}

func expiry(at *time.Time, in string, now time.Time) (time.Time, error) {
	var t time.Time
	switch {
	case at != nil && in != "":
		return t, octomesh.Errorf(octomesh.EINVALID, "give expires_at or expires_in, not both").WithParam("expires_in")
	case at != nil:
		t = at.UTC()
	case in != "":
		d, err := time.ParseDuration(in)
		if err != nil || d <= 0 {
			return t, octomesh.Errorf(octomesh.EINVALID, "expires_in must be a positive duration such as \"720h\"").WithParam("expires_in")
		}
		t = now.Add(d)
	default:
		return t, nil
	}
	if !t.After(now) {
		return t, octomesh.Errorf(octomesh.EINVALID, "the expiry must be in the future").WithParam("expires_at")
	}
	return t, nil
}

type updateKeyRequest struct {
	Name    *string             `json:"name"`
	Project *string             `json:"project"`
	Role    *octomesh.OrgRole   `json:"role"`
	Scopes  *octomesh.KeyScopes `json:"scopes"` // replaces the scopes as a whole
	// ExpiresAt sets the expiry; an explicit null removes it.
	ExpiresAt optionalTime `json:"expires_at"`
}

// optionalTime tells an absent field from an explicit null.
type optionalTime struct {
	Set  bool
	Time *time.Time
}

func (o *optionalTime) UnmarshalJSON(b []byte) error {
	o.Set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		o.Time = nil
		return nil
	}
	var t time.Time
	if err := t.UnmarshalJSON(b); err != nil {
		return octomesh.Errorf(octomesh.EINVALID, "expires_at must be an RFC 3339 time or null").WithParam("expires_at")
	}
	o.Time = &t
	return nil
}

func decodeUpdateKey(body []byte, now time.Time) (*updateKeyRequest, error) {
	var req updateKeyRequest
	if err := decodeStrict(body, &req); err != nil {
		return nil, err
	}
	if req.Role != nil && !req.Role.Valid() {
		return nil, octomesh.Errorf(octomesh.EINVALID, "role must be one of owner, admin, member, billing, viewer").WithParam("role")
	}
	if req.ExpiresAt.Time != nil && !req.ExpiresAt.Time.After(now) {
		return nil, octomesh.Errorf(octomesh.EINVALID, "the expiry must be in the future").WithParam("expires_at")
	}
	return &req, nil
}

// MaxRotationOverlap bounds how long a rotated key keeps working.
const MaxRotationOverlap = 30 * 24 * time.Hour

type rotateRequest struct {
	Overlap string `json:"overlap"` // a Go duration; "" or "0s" revokes the old key at once
}

func decodeRotate(body []byte) (time.Duration, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return 0, nil
	}
	var req rotateRequest
	if err := decodeStrict(body, &req); err != nil {
		return 0, err
	}
	if req.Overlap == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(req.Overlap)
	if err != nil || d < 0 || d > MaxRotationOverlap {
		return 0, octomesh.Errorf(octomesh.EINVALID, "overlap must be a duration from \"0s\" to \"720h\"").WithParam("overlap")
	}
	return d, nil
}

// decodeEmpty accepts an empty body or an empty JSON object.
func decodeEmpty(body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	var v struct{}
	return decodeStrict(body, &v)
}

// parseAuditQuery reads GET /v1/orgs/{org}/audit's query: action, target,
// since (RFC 3339), before (a seq, for paging) and limit (1-1000).
func parseAuditQuery(q map[string][]string, org string) (octomesh.AuditFilter, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	f := octomesh.AuditFilter{OrgID: org, Action: get("action"), Target: get("target")}
	if v := get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return f, octomesh.Errorf(octomesh.EINVALID, "since must be an RFC 3339 time").WithParam("since")
		}
		f.Since = t
	}
	for _, n := range []struct {
		name string
		dst  *int64
		max  int64
	}{{"before", &f.Before, 1 << 62}, {"limit", new(int64), 1000}} {
		v := get(n.name)
		if v == "" {
			continue
		}
		x, ok := parseCount(v)
		if !ok || x < 1 || x > n.max {
			return f, octomesh.Errorf(octomesh.EINVALID, "%s must be a whole number from 1 to %d", n.name, n.max).WithParam(n.name)
		}
		if n.name == "limit" {
			f.Limit = int(x)
		} else {
			*n.dst = x
		}
	}
	return f, nil
}

func parseCount(s string) (int64, bool) {
	if s == "" || len(s) > 19 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}
