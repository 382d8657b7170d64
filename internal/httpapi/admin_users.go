package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/octomesh/octomesh"
)

func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request) {
	st, err := s.accounts()
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	users, err := st.ListUsers(r.Context(), r.PathValue("org"), octomesh.UserFilter{Email: r.URL.Query().Get("email")})
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	out := make([]userJSON, len(users))
	for i, u := range users {
		out[i] = toUserJSON(u)
	}
	writeList(w, out)
}

func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request) {
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
	req, err := decodeUser(body, true)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	u := &octomesh.User{ID: octomesh.NewID("usr"), OrgID: r.PathValue("org"), Name: *req.Name}
	if req.Email != nil {
		u.Email = *req.Email
	}
	if err := st.CreateUser(r.Context(), u); err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	writeJSON(w, http.StatusCreated, toUserJSON(u))
}

func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request) {
	st, err := s.accounts()
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	u, err := st.User(r.Context(), r.PathValue("org"), r.PathValue("user"))
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	writeJSON(w, http.StatusOK, toUserJSON(u))
}

// mayManageUser requires the caller's role to cover the user's membership
// role, if the user has one: an admin cannot edit or erase an owner.
func mayManageUser(ctx context.Context, st octomesh.AccountStore, p *octomesh.Principal, org, user string) error {
	m, err := st.Member(ctx, org, user)
	switch {
	case octomesh.ErrorCodeOf(err) == octomesh.ENOTFOUND:
		return nil
	case err != nil:
		return err
	}
	return mayGrant(p, m.Role)
}

func (s *Server) handleUpdateUser(w http.ResponseWriter, r *http.Request) {
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
	req, err := decodeUser(body, false)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	ctx := r.Context()
	u, err := st.User(ctx, r.PathValue("org"), r.PathValue("user"))
	if err == nil {
		err = mayManageUser(ctx, st, octomesh.PrincipalFrom(ctx), u.OrgID, u.ID)
	}
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	if req.Name != nil {
		u.Name = *req.Name
	}
	if req.Email != nil {
		u.Email = *req.Email
	}
	if err := st.UpdateUser(ctx, u); err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	writeJSON(w, http.StatusOK, toUserJSON(u))
}

// handleDeleteUser erases a user's personal data: the record and the
// membership go, the user's keys are revoked.
func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request) {
	st, err := s.accounts()
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	ctx := r.Context()
	org, user := r.PathValue("org"), r.PathValue("user")
	if _, err = st.User(ctx, org, user); err == nil {
		err = mayManageUser(ctx, st, octomesh.PrincipalFrom(ctx), org, user)
	}
	if err == nil {
		err = st.DeleteUser(ctx, org, user)
	}
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	s.syncAuth(ctx)
	writeJSON(w, http.StatusOK, deletedJSON{Object: "user.deleted", ID: user, Deleted: true})
}

type userExportJSON struct {
	Object     string      `json:"object"` // "user.export"
	ExportedAt time.Time   `json:"exported_at"`
	User       userJSON    `json:"user"`
	Membership *memberJSON `json:"membership"`
	APIKeys    []keyJSON   `json:"api_keys"`
	Audit      []auditJSON `json:"audit"` // entries about the user
}

// handleExportUser returns everything stored about a user (the right of
// access) and records the export in the audit log.
func (s *Server) handleExportUser(w http.ResponseWriter, r *http.Request) {
	st, err := s.accounts()
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	ctx := r.Context()
	org := r.PathValue("org")
	u, err := st.User(ctx, org, r.PathValue("user"))
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	out := userExportJSON{Object: "user.export", ExportedAt: s.now().UTC(), User: toUserJSON(u), APIKeys: []keyJSON{}, Audit: []auditJSON{}}
	if m, err := st.Member(ctx, org, u.ID); err == nil {
		mj := toMemberJSON(m)
		out.Membership = &mj
	}
	keys, err := st.ListKeys(ctx, org, octomesh.KeyFilter{UserID: u.ID, IncludeRevoked: true})
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	for _, k := range keys {
		out.APIKeys = append(out.APIKeys, toKeyJSON(k, s.now()))
	}
	entries, err := st.ListAudit(ctx, octomesh.AuditFilter{OrgID: org, Target: u.ID, Limit: 1000})
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	for _, e := range entries {
		out.Audit = append(out.Audit, toAuditJSON(e, org))
	}
	if err := st.AppendAudit(ctx, &octomesh.AuditEntry{OrgID: org, Action: octomesh.AuditUserExported, Target: u.ID}); err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleListMembers(w http.ResponseWriter, r *http.Request) {
	st, err := s.accounts()
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	role := octomesh.OrgRole(r.URL.Query().Get("role"))
	if role != "" && !role.Valid() {
		s.writeError(w, r, formatOpenAI, octomesh.Errorf(octomesh.EINVALID, "role must be one of owner, admin, member, billing, viewer").WithParam("role"))
		return
	}
	ms, err := st.ListMembers(r.Context(), r.PathValue("org"), role)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	out := make([]memberJSON, len(ms))
	for i, m := range ms {
		out[i] = toMemberJSON(m)
	}
	writeList(w, out)
}

func (s *Server) handleGetMember(w http.ResponseWriter, r *http.Request) {
	st, err := s.accounts()
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	m, err := st.Member(r.Context(), r.PathValue("org"), r.PathValue("user"))
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	writeJSON(w, http.StatusOK, toMemberJSON(m))
}

// handleSetMember gives a user of the organisation a role, or changes it.
// The caller's role must cover both the new role and the current one.
func (s *Server) handleSetMember(w http.ResponseWriter, r *http.Request) {
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
	req, err := decodeMember(body)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	ctx := r.Context()
	p := octomesh.PrincipalFrom(ctx)
	org, user := r.PathValue("org"), r.PathValue("user")
	if _, err = st.User(ctx, org, user); err == nil {
		if err = mayGrant(p, req.Role); err == nil {
			err = mayManageUser(ctx, st, p, org, user)
		}
	}
	m := &octomesh.Membership{OrgID: org, UserID: user, Role: req.Role}
	if err == nil {
		err = st.SetMember(ctx, m)
	}
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	s.syncAuth(ctx)
	writeJSON(w, http.StatusOK, toMemberJSON(m))
}

// handleRemoveMember ends a membership and revokes the user's keys.
func (s *Server) handleRemoveMember(w http.ResponseWriter, r *http.Request) {
	st, err := s.accounts()
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	ctx := r.Context()
	org, user := r.PathValue("org"), r.PathValue("user")
	m, err := st.Member(ctx, org, user)
	if err == nil {
		err = mayGrant(octomesh.PrincipalFrom(ctx), m.Role)
	}
	if err == nil {
		err = st.RemoveMember(ctx, org, user)
	}
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	s.syncAuth(ctx)
	writeJSON(w, http.StatusOK, deletedJSON{Object: "organization.member.deleted", ID: user, Deleted: true})
}
