package httpapi

import (
	"context"
	"log/slog"
	"net"
	"net/http"

	"github.com/octomesh/octomesh"
)

// adminRoutes is the admin API: organisations, users, memberships, API keys
// and the audit log, under /v1 beside the model routes. Each route names the
// permission it needs; authorize checks it with octomesh.Authorize before
// the handler runs, so no handler can forget. docs/admin-api.md documents
// every route; a test keeps the two in step.
func (s *Server) adminRoutes() []Route {
	const (
		read   = octomesh.PermOrgRead
		users  = octomesh.PermUsersRead
		manage = octomesh.PermUsersManage
		keysR  = octomesh.PermKeysRead
		keysM  = octomesh.PermKeysManage
		self   = octomesh.PermKeysSelf
	)
	return append([]Route{
		{Pattern: "GET /v1/me", Auth: true, handler: s.handleMe},
		{Pattern: "GET /v1/orgs", Auth: true, Perm: read, handler: s.handleListOrgs},
		{Pattern: "POST /v1/orgs", Auth: true, Perm: octomesh.PermCreateOrgs, handler: s.handleCreateOrg},
		{Pattern: "GET /v1/orgs/{org}", Auth: true, Perm: read, handler: s.handleGetOrg},
		{Pattern: "PATCH /v1/orgs/{org}", Auth: true, Perm: octomesh.PermOrgUpdate, handler: s.handleUpdateOrg},
		{Pattern: "DELETE /v1/orgs/{org}", Auth: true, Perm: octomesh.PermOrgDelete, handler: s.handleDeleteOrg},
		{Pattern: "GET /v1/orgs/{org}/billing", Auth: true, Perm: octomesh.PermBillingRead, handler: s.handleGetBilling},
		{Pattern: "PUT /v1/orgs/{org}/billing", Auth: true, Perm: octomesh.PermBillingUpdate, handler: s.handleSetBilling},
		{Pattern: "GET /v1/orgs/{org}/users", Auth: true, Perm: users, handler: s.handleListUsers},
		{Pattern: "POST /v1/orgs/{org}/users", Auth: true, Perm: manage, handler: s.handleCreateUser},
		{Pattern: "GET /v1/orgs/{org}/users/{user}", Auth: true, Perm: users, handler: s.handleGetUser},
		{Pattern: "PATCH /v1/orgs/{org}/users/{user}", Auth: true, Perm: manage, handler: s.handleUpdateUser},
		{Pattern: "DELETE /v1/orgs/{org}/users/{user}", Auth: true, Perm: manage, handler: s.handleDeleteUser},
		{Pattern: "GET /v1/orgs/{org}/users/{user}/export", Auth: true, Perm: manage, handler: s.handleExportUser},
		{Pattern: "GET /v1/orgs/{org}/members", Auth: true, Perm: users, handler: s.handleListMembers},
		{Pattern: "GET /v1/orgs/{org}/members/{user}", Auth: true, Perm: users, handler: s.handleGetMember},
		{Pattern: "PUT /v1/orgs/{org}/members/{user}", Auth: true, Perm: manage, handler: s.handleSetMember},
		{Pattern: "DELETE /v1/orgs/{org}/members/{user}", Auth: true, Perm: manage, handler: s.handleRemoveMember},
		{Pattern: "GET /v1/orgs/{org}/keys", Auth: true, Perm: keysR, Self: self, handler: s.handleListKeys},
		{Pattern: "POST /v1/orgs/{org}/keys", Auth: true, Perm: keysM, Self: self, handler: s.handleCreateKey},
		{Pattern: "GET /v1/orgs/{org}/keys/{key}", Auth: true, Perm: keysR, Self: self, handler: s.handleGetKey},
		{Pattern: "PATCH /v1/orgs/{org}/keys/{key}", Auth: true, Perm: keysM, Self: self, handler: s.handleUpdateKey},
		{Pattern: "DELETE /v1/orgs/{org}/keys/{key}", Auth: true, Perm: keysM, Self: self, handler: s.handleDeleteKey},
		{Pattern: "POST /v1/orgs/{org}/keys/{key}/rotate", Auth: true, Perm: keysM, Self: self, handler: s.handleRotateKey},
		{Pattern: "POST /v1/orgs/{org}/keys/{key}/revoke", Auth: true, Perm: keysM, Self: self, handler: s.handleRevokeKey},
		{Pattern: "GET /v1/orgs/{org}/audit", Auth: true, Perm: octomesh.PermAuditRead, handler: s.handleListAudit},
	}, s.billingRoutes()...)
}

type selfOnlyKey struct{}

// selfOnly reports whether the caller passed authorize through a route's
// Self permission: it may act only on its own user's objects.
func selfOnly(ctx context.Context) bool {
	v, _ := ctx.Value(selfOnlyKey{}).(bool)
	return v
}

// authorize wraps an authenticated route's handler with the route's access
// check, octomesh.Authorize: for a route under /v1/orgs/{org}, a foreign
// organisation answers 404 exactly like a missing one, before permissions
// are looked at; a missing permission answers 403. It also puts the audit
// actor (the key, its user, the client's address) into the context.
func (s *Server) authorize(rt Route, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p := octomesh.PrincipalFrom(ctx)
		org := r.PathValue("org")
		err := octomesh.Authorize(p, org, rt.Perm)
		if octomesh.ErrorCodeOf(err) == octomesh.EFORBIDDEN && rt.Self != "" && p.UserID != "" && octomesh.Authorize(p, org, rt.Self) == nil {
			ctx, err = context.WithValue(ctx, selfOnlyKey{}, true), nil
		}
		if err != nil {
			s.writeError(w, r, rt.format, err)
			return
		}
		if p != nil {
			actor := octomesh.Actor{Type: "key", KeyID: p.KeyID, UserID: p.UserID, OrgID: p.OrgID, Source: clientAddr(r)}
			if sc := octomesh.ScopeFrom(ctx); sc != nil {
				sc.Actor, sc.HasActor = actor, true
			} else {
				ctx = octomesh.WithActor(ctx, actor)
			}
		}
		if ctx == r.Context() {
			next(w, r)
			return
		}
		next(w, r.WithContext(ctx))
	}
}

// clientAddr is the client's IP address as the audit log records it: the
// connection's peer, never a header a client could forge.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// refresher is implemented by authenticators that cache keys (apikey.Cache).
type refresher interface {
	Refresh(ctx context.Context) error
}

// syncAuth makes a committed change effective on this node at once, by
// refreshing the key cache. A failure is logged: the periodic refresh will
// catch up within its bound.
func (s *Server) syncAuth(ctx context.Context) {
	if rf, ok := s.auth.(refresher); ok {
		if err := rf.Refresh(ctx); err != nil {
			s.log.LogAttrs(ctx, slog.LevelError, "refresh api keys after a change failed",
				attrString(attrRequestID, octomesh.RequestIDFrom(ctx)), attrString(attrCause, err.Error()))
		}
	}
}

// accounts returns the store, or ENOTFOUND when the admin API is disabled
// (no store, or no way to mint keys).
func (s *Server) accounts() (octomesh.AccountStore, error) {
	if s.store == nil || s.mint == nil {
		return nil, octomesh.Errorf(octomesh.ENOTFOUND, "the admin API is not enabled on this server")
	}
	return s.store, nil
}

// mayGrant requires the caller's role to cover role: nobody hands out, or
// manages a member or key holding, powers they do not have themselves.
func mayGrant(p *octomesh.Principal, role octomesh.OrgRole) error {
	if p.Role.Covers(role) {
		return nil
	}
	return octomesh.Errorf(octomesh.EFORBIDDEN, "this API key's role (%s) cannot grant or manage the %s role", p.Role, role)
}
