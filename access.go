package octomesh

import (
	"slices"
	"strings"
)

// OrgRole is what a member (and an API key) may do in an organisation. The
// powers of each role are AccessTable's rows.
type OrgRole string

// Roles.
const (
	RoleOwner   OrgRole = "owner"   // everything, deleting the organisation included
	RoleAdmin   OrgRole = "admin"   // runs the organisation: settings, people, keys, audit
	RoleMember  OrgRole = "member"  // uses models; manages the keys of their own user
	RoleBilling OrgRole = "billing" // the billing contact and (with metering) usage and invoices
	RoleViewer  OrgRole = "viewer"  // reads everything, changes nothing, cannot spend
)

// OrgRoles lists every role, most powerful first.
func OrgRoles() []OrgRole {
	return []OrgRole{RoleOwner, RoleAdmin, RoleMember, RoleBilling, RoleViewer}
}

// Valid reports whether r is one of the roles.
func (r OrgRole) Valid() bool { return slices.Contains(OrgRoles(), r) }

// Permission is one power in AccessTable.
type Permission string

// Permissions.
const (
	PermUseModels     Permission = "models:use"     // call the model routes (chat, messages, embeddings, models)
	PermOrgRead       Permission = "org:read"       // read the organisation's name and settings
	PermOrgUpdate     Permission = "org:update"     // change its name and settings
	PermOrgDelete     Permission = "org:delete"     // delete it, with everything in it
	PermBillingRead   Permission = "billing:read"   // read the billing contact
	PermBillingUpdate Permission = "billing:update" // change the billing contact
	PermUsersRead     Permission = "users:read"     // list users (names, emails) and memberships
	PermUsersManage   Permission = "users:manage"   // create, change, export and erase users; grant and remove roles
	PermKeysRead      Permission = "keys:read"      // list every key's metadata
	PermKeysManage    Permission = "keys:manage"    // create, change, rotate, revoke and delete any key
	PermKeysSelf      Permission = "keys:self"      // the same for keys of the caller's own user
	PermAuditRead     Permission = "audit:read"     // read the organisation's audit log
	PermCreateOrgs    Permission = "orgs:create"    // create organisations (operator keys only)
	PermListAllOrgs   Permission = "orgs:list_all"  // list every organisation (operator keys only)
	PermUsageRead     Permission = "usage:read"     // read usage, the ledger, statements and the credit balance
	PermBudgetsRead   Permission = "budgets:read"   // list budgets and their spend
	PermBudgetsManage Permission = "budgets:manage" // create, change and delete budgets
	PermCreditsGrant  Permission = "credits:grant"  // record manual top-ups of prepaid credits (operator keys only)
	PermInvoicesPush  Permission = "invoices:push"  // push monthly statements to the payment processor (operator keys only)
)

// AccessRule is one row of AccessTable: a permission, what it allows, the
// roles that hold it, and whether operator (platform) keys hold it.
type AccessRule struct {
	Perm     Permission
	Allows   string
	Roles    []OrgRole
	Platform bool
}

// AccessTable is the one table of every role's powers. Authorize enforces
// it and nothing else does; docs/admin-api.md shows the same table (a test
// keeps them equal). A key never has more power than its role, and a key
// created by another key never more than its creator's (OrgRole.Covers,
// KeyScopes.Narrow).
func AccessTable() []AccessRule {
	out := slices.Clone(accessTable)
	for i := range out {
		out[i].Roles = slices.Clone(out[i].Roles)
	}
	return out
}

// accessTable is AccessTable's data, built once and never modified: the
// permission checks read it on every request, and AccessTable hands out
// copies so that no caller can change it.
var accessTable = func() []AccessRule {
	all := OrgRoles()
	return []AccessRule{
		{PermUseModels, "call the model routes", []OrgRole{RoleOwner, RoleAdmin, RoleMember}, false},
		{PermOrgRead, "read the organisation's name and settings", all, false},
		{PermOrgUpdate, "change the organisation's name and settings", []OrgRole{RoleOwner, RoleAdmin}, false},
		{PermOrgDelete, "delete the organisation and everything in it", []OrgRole{RoleOwner}, false},
		{PermBillingRead, "read the billing contact", []OrgRole{RoleOwner, RoleAdmin, RoleBilling, RoleViewer}, false},
		{PermBillingUpdate, "change the billing contact", []OrgRole{RoleOwner, RoleAdmin, RoleBilling}, false},
		{PermUsersRead, "list users and memberships", []OrgRole{RoleOwner, RoleAdmin, RoleViewer}, false},
		{PermUsersManage, "create, change, export and erase users; grant and remove roles", []OrgRole{RoleOwner, RoleAdmin}, false},
		{PermKeysRead, "list every API key's metadata", []OrgRole{RoleOwner, RoleAdmin, RoleViewer}, false},
		{PermKeysManage, "create, change, rotate, revoke and delete any API key", []OrgRole{RoleOwner, RoleAdmin}, false},
		{PermKeysSelf, "the same for the keys of the caller's own user", []OrgRole{RoleOwner, RoleAdmin, RoleMember}, false},
		{PermAuditRead, "read the audit log", []OrgRole{RoleOwner, RoleAdmin, RoleViewer}, false},
		{PermUsageRead, "read usage, the ledger, statements and the credit balance", []OrgRole{RoleOwner, RoleAdmin, RoleBilling, RoleViewer}, false},
		{PermBudgetsRead, "list budgets and their spend", []OrgRole{RoleOwner, RoleAdmin, RoleBilling, RoleViewer}, false},
		{PermBudgetsManage, "create, change and delete budgets", []OrgRole{RoleOwner, RoleAdmin, RoleBilling}, false},
		{PermCreateOrgs, "create organisations", nil, true},
		{PermListAllOrgs, "list every organisation", nil, true},
		{PermCreditsGrant, "grant prepaid credits to any organisation", nil, true},
		{PermInvoicesPush, "push statements to the payment processor as invoices", nil, true},
	}
}()

// accessRule is accessTable's row for perm (nil for an unknown one).
func accessRule(perm Permission) *AccessRule {
	if i, ok := accessIndex[perm]; ok {
		return &accessTable[i]
	}
	return nil
}

// accessIndex maps each permission to its row in accessTable. Never modified.
var accessIndex = func() map[Permission]int {
	m := make(map[Permission]int, len(accessTable))
	for i, rule := range accessTable {
		m[rule.Perm] = i
	}
	return m
}()

// Has reports whether role r holds perm.
func (r OrgRole) Has(perm Permission) bool {
	rule := accessRule(perm)
	return rule != nil && slices.Contains(rule.Roles, r)
}

// Covers reports whether r holds every permission other holds: only then
// may a caller with role r grant other (to a member or a key) or manage a
// member or key that has it.
func (r OrgRole) Covers(other OrgRole) bool {
	if !r.Valid() || !other.Valid() {
		return false
	}
	for _, rule := range accessTable {
		if slices.Contains(rule.Roles, other) && !slices.Contains(rule.Roles, r) {
			return false
		}
	}
	return true
}

// KeyRoleUnder returns the role a user's key keeps when the user's
// membership role becomes member: unchanged when member covers it, lowered
// to member when that only takes powers away, and ok false (the key must be
// revoked) when no role would hold just the powers both share, since
// lowering would then grant the key new ones.
func KeyRoleUnder(key, member OrgRole) (role OrgRole, ok bool) {
	switch {
	case member.Covers(key):
		return key, true
	case key.Covers(member):
		return member, true
	}
	return "", false
}

// Can reports whether the principal holds perm, through its role or, for
// operator permissions, through being a platform key.
func (p *Principal) Can(perm Permission) bool {
	rule := accessRule(perm)
	return rule != nil && (slices.Contains(rule.Roles, p.Role) || (p.Platform && rule.Platform))
}

// Authorize is the one access check. It returns nil when p may use perm in
// organisation orgID ("" for a request not about one organisation;
// perm "" for "any authenticated caller"). Otherwise it returns
// EUNAUTHORIZED without a principal; ENOTFOUND when orgID is not p's own
// organisation, exactly as for an organisation that does not exist, so
// nothing tells a caller whether another organisation exists; and
// EFORBIDDEN when p's role lacks perm.
func Authorize(p *Principal, orgID string, perm Permission) error {
	if p == nil {
		return Errorf(EUNAUTHORIZED, "missing API key")
	}
	if orgID != "" && orgID != p.OrgID {
		return ErrOrgNotFound()
	}
	if perm == "" || p.Can(perm) {
		return nil
	}
	return Errorf(EFORBIDDEN, "this API key's role (%s) does not allow this: it needs the %s permission", roleName(p.Role), perm)
}

// ErrOrgNotFound is the one answer for an organisation that does not exist
// or is not the caller's.
func ErrOrgNotFound() *Error {
	return Errorf(ENOTFOUND, "organisation not found")
}

func roleName(r OrgRole) string {
	if r.Valid() {
		return string(r)
	}
	return "none"
}

// PermissionsOf lists the permissions p holds, in AccessTable order.
func PermissionsOf(p *Principal) []Permission {
	var out []Permission
	for _, rule := range accessTable {
		if p.Can(rule.Perm) {
			out = append(out, rule.Perm)
		}
	}
	return out
}

// AccessTableMarkdown renders AccessTable as the Markdown table that
// docs/admin-api.md shows.
func AccessTableMarkdown() string {
	var b strings.Builder
	b.WriteString("| permission | allows |")
	for _, r := range OrgRoles() {
		b.WriteString(" " + string(r) + " |")
	}
	b.WriteString(" operator keys, too |\n|---|---|")
	for range OrgRoles() {
		b.WriteString(":-:|")
	}
	b.WriteString(":-:|\n")
	mark := func(ok bool) string {
		if ok {
			return " ✓ |"
		}
		return " – |"
	}
	for _, rule := range accessTable {
		b.WriteString("| `" + string(rule.Perm) + "` | " + rule.Allows + " |")
		for _, r := range OrgRoles() {
			b.WriteString(mark(slices.Contains(rule.Roles, r)))
		}
		b.WriteString(mark(rule.Platform) + "\n")
	}
	return b.String()
}
