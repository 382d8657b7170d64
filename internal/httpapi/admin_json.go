package httpapi

import (
	"net/http"
	"time"

	"github.com/octomesh/octomesh"
)

// The admin API's response objects. Times are RFC 3339 in UTC; a time
// that is not set ("never", "not revoked") is null.

type orgJSON struct {
	Object    string               `json:"object"` // "organization"
	ID        string               `json:"id"`
	Name      string               `json:"name"`
	Settings  octomesh.OrgSettings `json:"settings"`
	CreatedAt *time.Time           `json:"created_at"`
	UpdatedAt *time.Time           `json:"updated_at"`
}

func toOrgJSON(o *octomesh.Org) orgJSON {
	return orgJSON{Object: "organization", ID: o.ID, Name: o.Name, Settings: o.Settings, CreatedAt: timePtr(o.CreatedAt), UpdatedAt: timePtr(o.UpdatedAt)}
}

type billingJSON struct {
	Object       string `json:"object"` // "organization.billing"
	OrgID        string `json:"org_id"`
	BillingEmail string `json:"billing_email"`
}

type userJSON struct {
	Object    string     `json:"object"` // "user"
	ID        string     `json:"id"`
	OrgID     string     `json:"org_id"`
	Name      string     `json:"name"`
	Email     string     `json:"email"`
	CreatedAt *time.Time `json:"created_at"`
	UpdatedAt *time.Time `json:"updated_at"`
}

func toUserJSON(u *octomesh.User) userJSON {
	return userJSON{Object: "user", ID: u.ID, OrgID: u.OrgID, Name: u.Name, Email: u.Email, CreatedAt: timePtr(u.CreatedAt), UpdatedAt: timePtr(u.UpdatedAt)}
}

type memberJSON struct {
	Object    string           `json:"object"` // "organization.member"
	OrgID     string           `json:"org_id"`
	UserID    string           `json:"user_id"`
	Role      octomesh.OrgRole `json:"role"`
	CreatedAt *time.Time       `json:"created_at"`
	UpdatedAt *time.Time       `json:"updated_at"`
}

func toMemberJSON(m *octomesh.Membership) memberJSON {
	return memberJSON{Object: "organization.member", OrgID: m.OrgID, UserID: m.UserID, Role: m.Role, CreatedAt: timePtr(m.CreatedAt), UpdatedAt: timePtr(m.UpdatedAt)}
}

type keyJSON struct {
	Object     string             `json:"object"` // "api_key"
	ID         string             `json:"id"`
	OrgID      string             `json:"org_id"`
	UserID     string             `json:"user_id,omitempty"`
	Project    string             `json:"project,omitempty"`
	Name       string             `json:"name"`
	Prefix     string             `json:"prefix"` // the key's first characters, to recognise it
	Role       octomesh.OrgRole   `json:"role"`
	Operator   bool               `json:"operator,omitempty"`
	Scopes     octomesh.KeyScopes `json:"scopes"`
	Status     string             `json:"status"` // active, expired or revoked
	CreatedAt  *time.Time         `json:"created_at"`
	UpdatedAt  *time.Time         `json:"updated_at"`
	ExpiresAt  *time.Time         `json:"expires_at"`
	RevokedAt  *time.Time         `json:"revoked_at"`
	ReplacedBy string             `json:"replaced_by,omitempty"`
	// Key is the secret itself: present only in the answer that created it.
	Key string `json:"key,omitempty"`
}

func toKeyJSON(k *octomesh.APIKey, now time.Time) keyJSON {
	status := "active"
	switch {
	case !k.RevokedAt.IsZero() && !now.Before(k.RevokedAt):
		status = "revoked"
	case !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt):
		status = "expired"
	}
	return keyJSON{Object: "api_key", ID: k.ID, OrgID: k.OrgID, UserID: k.UserID, Project: k.Project, Name: k.Name,
		Prefix: k.Prefix, Role: k.Role, Operator: k.Platform, Scopes: k.Scopes, Status: status,
		CreatedAt: timePtr(k.CreatedAt), UpdatedAt: timePtr(k.UpdatedAt), ExpiresAt: timePtr(k.ExpiresAt),
		RevokedAt: timePtr(k.RevokedAt), ReplacedBy: k.ReplacedBy}
}

type actorJSON struct {
	Type   string `json:"type"`
	KeyID  string `json:"key_id,omitempty"`
	UserID string `json:"user_id,omitempty"`
	Source string `json:"source,omitempty"`
}

type auditJSON struct {
	Object  string            `json:"object"` // "audit_entry"
	Seq     int64             `json:"seq"`
	Time    time.Time         `json:"time"`
	OrgID   string            `json:"org_id"`
	Actor   actorJSON         `json:"actor"`
	Action  string            `json:"action"`
	Target  string            `json:"target"`
	Details map[string]string `json:"details,omitempty"`
	Hash    []byte            `json:"hash"` // base64; the chain link `octomesh audit verify` checks
}

// toAuditJSON shows an entry to a member of org. An actor from another
// organisation (an operator creating this one) appears as "operator",
// without identifiers that belong to that other organisation.
func toAuditJSON(e *octomesh.AuditEntry, org string) auditJSON {
	a := actorJSON{Type: e.Actor.Type, KeyID: e.Actor.KeyID, UserID: e.Actor.UserID, Source: e.Actor.Source}
	if e.Actor.Type == "key" && e.Actor.OrgID != org {
		a = actorJSON{Type: "operator"}
	}
	return auditJSON{Object: "audit_entry", Seq: e.Seq, Time: e.Time, OrgID: e.OrgID, Actor: a, Action: e.Action,
		Target: e.Target, Details: e.Details, Hash: e.Hash}
}

// listJSON is OpenAI's list envelope.
type listJSON[T any] struct {
	Object string `json:"object"` // "list"
	Data   []T    `json:"data"`
}

func writeList[T any](w http.ResponseWriter, data []T) {
	if data == nil {
		data = []T{}
	}
	writeJSON(w, http.StatusOK, listJSON[T]{Object: "list", Data: data})
}

type deletedJSON struct {
	Object  string `json:"object"`
	ID      string `json:"id"`
	Deleted bool   `json:"deleted"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
