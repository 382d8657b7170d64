package httpapi

import (
	"net/http"

	"github.com/octomesh/octomesh"
)

type meJSON struct {
	Object      string                `json:"object"` // "principal"
	KeyID       string                `json:"key_id"`
	OrgID       string                `json:"org_id"`
	UserID      string                `json:"user_id,omitempty"`
	Project     string                `json:"project,omitempty"`
	Role        octomesh.OrgRole      `json:"role"`
	Operator    bool                  `json:"operator,omitempty"`
	Scopes      octomesh.KeyScopes    `json:"scopes"`
	Permissions []octomesh.Permission `json:"permissions"`
}

// handleMe describes the calling key: its organisation, role, scopes and
// the permissions they give.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	p := octomesh.PrincipalFrom(r.Context())
	perms := octomesh.PermissionsOf(p)
	if perms == nil {
		perms = []octomesh.Permission{}
	}
	writeJSON(w, http.StatusOK, meJSON{Object: "principal", KeyID: p.KeyID, OrgID: p.OrgID, UserID: p.UserID, Project: p.Project,
		Role: p.Role, Operator: p.Platform, Scopes: p.Scopes, Permissions: perms})
}

// handleListOrgs lists the caller's organisation; operator keys see all.
func (s *Server) handleListOrgs(w http.ResponseWriter, r *http.Request) {
	st, err := s.accounts()
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	ctx := r.Context()
	p := octomesh.PrincipalFrom(ctx)
	var orgs []*octomesh.Org
	if octomesh.Authorize(p, "", octomesh.PermListAllOrgs) == nil {
		orgs, err = st.ListOrgs(ctx)
	} else {
		var o *octomesh.Org
		if o, err = st.Org(ctx, p.OrgID); err == nil {
			orgs = []*octomesh.Org{o}
		}
	}
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	out := make([]orgJSON, len(orgs))
	for i, o := range orgs {
		out[i] = toOrgJSON(o)
	}
	writeList(w, out)
}

type createdOrgJSON struct {
	orgJSON
	Owner    userJSON `json:"owner"`
	OwnerKey keyJSON  `json:"owner_key"`
}

// handleCreateOrg creates an organisation with its first owner and the
// owner's key, shown once.
func (s *Server) handleCreateOrg(w http.ResponseWriter, r *http.Request) {
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
	req, err := decodeCreateOrg(body)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	org := &octomesh.Org{ID: octomesh.NewID("org"), Name: req.Name, BillingEmail: req.BillingEmail, Settings: req.Settings}
	owner := &octomesh.User{ID: octomesh.NewID("usr"), OrgID: org.ID, Name: req.Owner.Name, Email: req.Owner.Email}
	key := &octomesh.APIKey{ID: octomesh.NewID("key"), OrgID: org.ID, UserID: owner.ID, Role: octomesh.RoleOwner, Name: "owner key"}
	raw, err := s.mint(key)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	if err := st.CreateOrg(r.Context(), org, owner, key); err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	s.syncAuth(r.Context())
	kj := toKeyJSON(key, s.now())
	kj.Key = raw.Reveal()
	writeJSON(w, http.StatusCreated, createdOrgJSON{orgJSON: toOrgJSON(org), Owner: toUserJSON(owner), OwnerKey: kj})
}

func (s *Server) handleGetOrg(w http.ResponseWriter, r *http.Request) {
	st, err := s.accounts()
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	o, err := st.Org(r.Context(), r.PathValue("org"))
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	writeJSON(w, http.StatusOK, toOrgJSON(o))
}

// handleUpdateOrg changes the name and settings (the settings object is
// replaced as a whole).
func (s *Server) handleUpdateOrg(w http.ResponseWriter, r *http.Request) {
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
	req, err := decodeUpdateOrg(body)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	ctx := r.Context()
	o, err := st.Org(ctx, r.PathValue("org"))
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	if req.Name != nil {
		o.Name = *req.Name
	}
	if req.Settings != nil {
		o.Settings = *req.Settings
	}
	if err := st.UpdateOrg(ctx, o); err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	s.syncAuth(ctx)
	writeJSON(w, http.StatusOK, toOrgJSON(o))
}

// handleDeleteOrg deletes the caller's organisation and everything in it;
// its keys, the caller's included, stop working at once.
func (s *Server) handleDeleteOrg(w http.ResponseWriter, r *http.Request) {
	st, err := s.accounts()
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	if err := st.DeleteOrg(r.Context(), r.PathValue("org")); err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	s.syncAuth(r.Context())
	writeJSON(w, http.StatusOK, deletedJSON{Object: "organization.deleted", ID: r.PathValue("org"), Deleted: true})
}

func (s *Server) handleGetBilling(w http.ResponseWriter, r *http.Request) {
	st, err := s.accounts()
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	o, err := st.Org(r.Context(), r.PathValue("org"))
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	writeJSON(w, http.StatusOK, billingJSON{Object: "organization.billing", OrgID: o.ID, BillingEmail: o.BillingEmail})
}

func (s *Server) handleSetBilling(w http.ResponseWriter, r *http.Request) {
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
	req, err := decodeBilling(body)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	ctx := r.Context()
	o, err := st.Org(ctx, r.PathValue("org"))
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	o.BillingEmail = req.BillingEmail
	if err := st.UpdateOrg(ctx, o); err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	writeJSON(w, http.StatusOK, billingJSON{Object: "organization.billing", OrgID: o.ID, BillingEmail: o.BillingEmail})
}
