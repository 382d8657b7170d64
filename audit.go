package octomesh

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Audit actions: every security-relevant change.
const (
	AuditOrgCreated       = "org.created"
	AuditOrgUpdated       = "org.updated"
	AuditOrgDeleted       = "org.deleted"
	AuditUserCreated      = "user.created"
	AuditUserUpdated      = "user.updated"
	AuditUserDeleted      = "user.deleted"
	AuditUserExported     = "user.exported"
	AuditMemberAdded      = "member.added"
	AuditMemberRoleChange = "member.role_changed"
	AuditMemberRemoved    = "member.removed"
	AuditKeyCreated       = "key.created"
	AuditKeyUpdated       = "key.updated"
	AuditKeyRotated       = "key.rotated"
	AuditKeyRevoked       = "key.revoked"
	AuditKeyDeleted       = "key.deleted"
)

// Actor is who did something and from where, as the audit log records it.
type Actor struct {
	Type   string // "key" (an API request), "cli" (an operator command) or "system"
	KeyID  string // the API key used
	UserID string // the key's user, if any
	OrgID  string // the key's organisation
	Source string // the client's address, or "cli"
}

type actorKey struct{}

// WithActor returns ctx carrying the actor that stores record in the audit
// log for changes made with ctx.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx, or the "system" actor.
func ActorFrom(ctx context.Context) Actor {
	switch v := ctx.Value(actorKey{}).(type) {
	case Actor:
		return v
	case *RequestScope:
		return v.Actor
	}
	return Actor{Type: "system"}
}

// AuditEntry is one record of the tamper-evident audit log. Entries form a
// hash chain: Hash covers PrevHash (the previous entry's Hash) and every
// field of the entry, so editing or deleting an entry breaks the chain.
// Entries hold identifiers, roles and field names, never secrets, content
// or personal data (names, emails), so that erasing a person never needs
// the chain to be rewritten.
type AuditEntry struct {
	Seq      int64 // 1, 2, 3 … with no gaps
	Time     time.Time
	OrgID    string // the organisation concerned
	Actor    Actor
	Action   string            // one of the Audit* constants
	Target   string            // the object's ID
	Details  map[string]string // small enumerated values: roles, field names, IDs
	PrevHash []byte
	Hash     []byte
}

// Sanitize makes every string of the entry safe to store and print: control
// and invisible formatting characters are escaped (\n becomes the two
// characters \ and n), invalid UTF-8 is replaced and lengths are bounded, so
// a user-supplied string cannot forge log lines or terminal output. Stores
// call it before hashing.
func (e *AuditEntry) Sanitize() {
	for _, p := range []*string{&e.OrgID, &e.Actor.Type, &e.Actor.KeyID, &e.Actor.UserID, &e.Actor.OrgID, &e.Actor.Source, &e.Action, &e.Target} {
		*p = SanitizeLogString(*p)
	}
	if len(e.Details) > 0 {
		d := make(map[string]string, len(e.Details))
		for k, v := range e.Details {
			d[SanitizeLogString(k)] = SanitizeLogString(v)
		}
		e.Details = d
	}
}

// SanitizeLogString escapes control and formatting characters in s and
// bounds it to 256 bytes, for audit entries and terminal output.
func SanitizeLogString(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || r == '\\' || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			clean = false
			break
		}
	}
	if !clean {
		var b strings.Builder
		for _, r := range s {
			switch {
			case r == '\\':
				b.WriteString(`\\`)
			case r == utf8.RuneError:
				b.WriteString(`\ufffd`)
			case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
				q := strconv.QuoteRuneToASCII(r) // e.g. '\n' or '\u202e'
				b.WriteString(q[1 : len(q)-1])
			default:
				b.WriteRune(r)
			}
		}
		s = b.String()
	}
	if len(s) > 256 {
		cut := 256
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// ComputeHash returns SHA-256(PrevHash ‖ canonical fields), where the
// canonical form length-prefixes every field so no two entries encode alike.
func (e *AuditEntry) ComputeHash() []byte {
	var b bytes.Buffer
	field := func(s string) {
		var n [binary.MaxVarintLen64]byte
		b.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		b.WriteString(s)
	}
	field("octomesh-audit-v1")
	field(strconv.FormatInt(e.Seq, 10))
	field(strconv.FormatInt(e.Time.UnixNano(), 10))
	for _, s := range []string{e.OrgID, e.Actor.Type, e.Actor.KeyID, e.Actor.UserID, e.Actor.OrgID, e.Actor.Source, e.Action, e.Target} {
		field(s)
	}
	keys := make([]string, 0, len(e.Details))
	for k := range e.Details {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	field(strconv.Itoa(len(keys)))
	for _, k := range keys {
		field(k)
		field(e.Details[k])
	}
	h := sha256.New()
	h.Write(e.PrevHash)
	h.Write(b.Bytes())
	return h.Sum(nil)
}

// AuditFilter selects audit entries, newest first.
type AuditFilter struct {
	OrgID  string    // only this organisation's entries ("" for all)
	Action string    // only this action
	Target string    // only entries about this object
	Since  time.Time // only entries at or after this time
	Before int64     // only entries with Seq below this (paging); 0: no bound
	Limit  int       // at most this many; 0 means 100
}

// AuditReport is the result of verifying the audit chain.
type AuditReport struct {
	Entries  int64  // entries checked
	HeadSeq  int64  // the last entry's Seq
	HeadHash []byte // the last entry's Hash: record it elsewhere to anchor the log
	Problem  string // the first problem found; "" when the chain is intact
}

// OK reports whether the chain is intact.
func (r *AuditReport) OK() bool { return r.Problem == "" }

// AuditLog is the append-only, hash-chained audit log. Implementations are
// safe for concurrent use.
type AuditLog interface {
	// AppendAudit records an action that is not a store change (e.g. data
	// exported). The store sets Seq, Time, Actor (from ctx) and the hashes.
	AppendAudit(ctx context.Context, e *AuditEntry) error
	// ListAudit returns entries matching f, newest first.
	ListAudit(ctx context.Context, f AuditFilter) ([]*AuditEntry, error)
	// VerifyAudit checks the whole chain and the stored head. A broken chain
	// is reported in the AuditReport; the error is for failures to read.
	VerifyAudit(ctx context.Context) (*AuditReport, error)
}

// AuditVerifier checks a chain entry by entry, in Seq order. Stores use it
// to implement VerifyAudit.
type AuditVerifier struct {
	report AuditReport
	prev   []byte
}

// Check verifies the next entry and reports whether the chain is still
// intact; after the first problem it returns false without looking further.
func (v *AuditVerifier) Check(e *AuditEntry) bool {
	r := &v.report
	if r.Problem != "" {
		return false
	}
	switch want := r.HeadSeq + 1; {
	case e.Seq != want:
		r.Problem = fmt.Sprintf("entry %d follows entry %d: entries %d to %d are missing (deleted)", e.Seq, r.HeadSeq, want, e.Seq-1)
	case !bytes.Equal(e.PrevHash, v.prev):
		r.Problem = fmt.Sprintf("entry %d does not link to entry %d: an entry was edited or deleted", e.Seq, r.HeadSeq)
	case !bytes.Equal(e.ComputeHash(), e.Hash):
		r.Problem = fmt.Sprintf("entry %d does not match its hash: it was edited", e.Seq)
	}
	if r.Problem != "" {
		return false
	}
	r.Entries++
	r.HeadSeq, r.HeadHash, v.prev = e.Seq, e.Hash, e.Hash
	return true
}

// Finish compares the checked chain with the store's recorded head (the
// last Seq and Hash written), which catches entries deleted from the end,
// and returns the report.
func (v *AuditVerifier) Finish(headSeq int64, headHash []byte) *AuditReport {
	r := v.report
	if r.Problem == "" && (headSeq != r.HeadSeq || !bytes.Equal(headHash, r.HeadHash)) {
		r.Problem = fmt.Sprintf("the log ends at entry %d but the store's head records entry %d: entries at the end were deleted, added or edited", r.HeadSeq, headSeq)
	}
	return &r
}
