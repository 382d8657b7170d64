package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/octomesh/octomesh"
)

func errOwnKeysOnly() error {
	return octomesh.Errorf(octomesh.EFORBIDDEN, "this API key may manage only the keys of its own user")
}

// handleListKeys lists keys' metadata, never the keys. Callers that may
// manage only their own keys see only those.
func (s *Server) handleListKeys(w http.ResponseWriter, r *http.Request) {
	st, err := s.accounts()
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	f := octomesh.KeyFilter{UserID: q.Get("user_id"), Project: q.Get("project")}
	switch v := q.Get("include_revoked"); v {
	case "", "false":
	case "true":
		f.IncludeRevoked = true
	default:
		s.writeError(w, r, formatOpenAI, octomesh.Errorf(octomesh.EINVALID, "include_revoked must be true or false").WithParam("include_revoked"))
		return
	}
	if selfOnly(ctx) {
		p := octomesh.PrincipalFrom(ctx)
		if f.UserID != "" && f.UserID != p.UserID {
			writeList(w, []keyJSON{})
			return
		}
		f.UserID = p.UserID
	}
	keys, err := st.ListKeys(ctx, r.PathValue("org"), f)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	out := make([]keyJSON, len(keys))
	now := s.now()
	for i, k := range keys {
		out[i] = toKeyJSON(k, now)
	}
	writeList(w, out)
}

// handleCreateKey creates a key and shows it once. Its role must be within
// the caller's, and its scopes are narrowed by the caller's own.
func (s *Server) handleCreateKey(w http.ResponseWriter, r *http.Request) {
	st, err := s.accounts()
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	body, err := s.readBody(w, r)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	ctx := r.Context()
	now := s.now()
	req, expires, err := decodeCreateKey(body, now)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	p := octomesh.PrincipalFrom(ctx)
	if selfOnly(ctx) {
		if req.UserID != "" && req.UserID != p.UserID {
			s.writeError(w, r, formatOpenAI, errOwnKeysOnly())
			return
		}
		req.UserID = p.UserID
	}
	var scopes octomesh.KeyScopes
	if req.Scopes != nil {
		scopes = *req.Scopes
	}
	k := &octomesh.APIKey{ID: octomesh.NewID("key"), OrgID: r.PathValue("org"), UserID: req.UserID, Project: req.Project,
		Name: req.Name, Role: req.Role, ExpiresAt: expires}
	if err = mayGrant(p, req.Role); err == nil {
		err = s.budgetsExist(ctx, k.OrgID, scopes.Budgets)
	}
	if err == nil {
		k.Scopes, err = scopes.Narrow(p.Scopes)
	}
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	raw, err := s.mint(k)
	if err == nil {
		err = st.CreateKey(ctx, k)
	}
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	s.syncAuth(ctx)
	out := toKeyJSON(k, now)
	out.Key = raw.Reveal()
	writeJSON(w, http.StatusCreated, out)
}

// loadKey returns a key of the path's organisation that the caller may see;
// with manage, one the caller may also change (its role within the caller's).
func (s *Server) loadKey(ctx context.Context, st octomesh.AccountStore, org, id string, manage bool) (*octomesh.APIKey, error) {
	k, err := st.Key(ctx, org, id)
	if err != nil {
		return nil, err
	}
	p := octomesh.PrincipalFrom(ctx)
	if selfOnly(ctx) && k.UserID != p.UserID {
		return nil, errOwnKeysOnly()
	}
	if manage {
		if err := mayGrant(p, k.Role); err != nil {
			return nil, err
		}
	}
	return k, nil
}

func (s *Server) handleGetKey(w http.ResponseWriter, r *http.Request) {
	st, err := s.accounts()
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	k, err := s.loadKey(r.Context(), st, r.PathValue("org"), r.PathValue("key"), false)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	writeJSON(w, http.StatusOK, toKeyJSON(k, s.now()))
}

func (s *Server) handleUpdateKey(w http.ResponseWriter, r *http.Request) {
	st, err := s.accounts()
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	body, err := s.readBody(w, r)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	ctx := r.Context()
	req, err := decodeUpdateKey(body, s.now())
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	k, err := s.loadKey(ctx, st, r.PathValue("org"), r.PathValue("key"), true)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	p := octomesh.PrincipalFrom(ctx)
	if req.Name != nil {
		k.Name = *req.Name
	}
	if req.Project != nil {
		k.Project = *req.Project
	}
	if req.Role != nil {
		k.Role = *req.Role
	}
	if req.ExpiresAt.Set {
		k.ExpiresAt = time.Time{}
		if req.ExpiresAt.Time != nil {
			k.ExpiresAt = req.ExpiresAt.Time.UTC()
		}
	}
	err = mayGrant(p, k.Role)
	if err == nil && req.Scopes != nil {
		err = s.budgetsExist(ctx, k.OrgID, req.Scopes.Budgets)
	}
	if err == nil && req.Scopes != nil {
		k.Scopes, err = req.Scopes.Narrow(p.Scopes)
	}
	if err == nil {
		err = st.UpdateKey(ctx, k)
	}
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	s.syncAuth(ctx)
	writeJSON(w, http.StatusOK, toKeyJSON(k, s.now()))
}

// handleDeleteKey revokes a key and removes it from listings.
func (s *Server) handleDeleteKey(w http.ResponseWriter, r *http.Request) {
	st, err := s.accounts()
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	ctx := r.Context()
	k, err := s.loadKey(ctx, st, r.PathValue("org"), r.PathValue("key"), true)
	if err == nil {
		err = st.DeleteKey(ctx, k.OrgID, k.ID)
	}
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	s.syncAuth(ctx)
	writeJSON(w, http.StatusOK, deletedJSON{Object: "api_key.deleted", ID: k.ID, Deleted: true})
}

// handleRotateKey issues a successor with the same owner, role and scopes
// (narrowed by the caller's) and, if the old key expires, the same
// lifetime from now; the old key keeps working for the overlap asked for.
func (s *Server) handleRotateKey(w http.ResponseWriter, r *http.Request) {
	st, err := s.accounts()
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	body, err := s.readBody(w, r)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	overlap, err := decodeRotate(body)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	ctx := r.Context()
	old, err := s.loadKey(ctx, st, r.PathValue("org"), r.PathValue("key"), true)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	now := s.now()
	next := &octomesh.APIKey{ID: octomesh.NewID("key"), OrgID: old.OrgID, UserID: old.UserID, Project: old.Project,
		Name: old.Name, Role: old.Role}
	if !old.ExpiresAt.IsZero() {
		next.ExpiresAt = now.Add(old.ExpiresAt.Sub(old.CreatedAt))
	}
	next.Scopes, err = old.Scopes.Narrow(octomesh.PrincipalFrom(ctx).Scopes)
	var raw octomesh.Secret
	if err == nil {
		raw, err = s.mint(next)
	}
	var overlapEnds time.Time
	if overlap > 0 {
		overlapEnds = now.Add(overlap)
	}
	if err == nil {
		err = st.RotateKey(ctx, old.OrgID, old.ID, next, overlapEnds)
	}
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	s.syncAuth(ctx)
	out := toKeyJSON(next, now)
	out.Key = raw.Reveal()
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) handleRevokeKey(w http.ResponseWriter, r *http.Request) {
	st, err := s.accounts()
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	body, err := s.readBody(w, r)
	if err == nil {
		err = decodeEmpty(body)
	}
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	ctx := r.Context()
	k, err := s.loadKey(ctx, st, r.PathValue("org"), r.PathValue("key"), true)
	if err == nil {
		err = st.RevokeKey(ctx, k.OrgID, k.ID)
	}
	if err == nil {
		k, err = st.Key(ctx, k.OrgID, k.ID)
	}
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	s.syncAuth(ctx)
	writeJSON(w, http.StatusOK, toKeyJSON(k, s.now()))
}

// handleListAudit lists the organisation's audit entries, newest first.
func (s *Server) handleListAudit(w http.ResponseWriter, r *http.Request) {
	st, err := s.accounts()
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	org := r.PathValue("org")
	f, err := parseAuditQuery(r.URL.Query(), org)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	entries, err := st.ListAudit(r.Context(), f)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	out := make([]auditJSON, len(entries))
	for i, e := range entries {
		out[i] = toAuditJSON(e, org)
	}
	writeList(w, out)
}

// budgetsExist checks that every budget a key's scopes name is a budget of
// its organisation: a mistyped id would otherwise limit nothing, silently.
func (s *Server) budgetsExist(ctx context.Context, org string, ids []string) error {
	if s.bill.meter == nil {
		return nil
	}
	for _, id := range ids {
		if _, err := s.bill.meter.Budget(ctx, org, id); err != nil {
			if octomesh.ErrorCodeOf(err) == octomesh.ENOTFOUND {
				return octomesh.Errorf(octomesh.EINVALID, "scopes.budgets: this organisation has no budget %q", clip(id, 64)).WithParam("scopes.budgets")
			}
			return err
		}
	}
	return nil
}
