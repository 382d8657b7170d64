package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/octomesh/octomesh"
)

const userVerbs = "list|show|create|update|delete|export"

// usersCmd is `octomesh users …`.
func usersCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	v, args, err := verb("users", args, userVerbs)
	if err != nil {
		return err
	}
	e := newAdminEnv("users "+v, getenv, stdout, stderr)
	defer e.close()
	fs := e.fs
	org := fs.String("org", "", "organisation id")
	id := fs.String("user", "", "user id")
	name := fs.String("name", "", "the user's name")
	email := fs.String("email", "", "the user's email (list: filter by it)")
	role := fs.String("role", "", "create: also make the user a member with this role")
	yes := fs.Bool("yes", false, "confirm erasure")
	switch v {
	case "list", "show", "create", "update", "delete", "export":
	default:
		return unknownVerb("users", v, userVerbs)
	}
	if ctx, err = e.open(ctx, args); err != nil {
		return err
	}
	st := e.st
	need := map[string]string{"org": *org}
	if v != "list" && v != "create" {
		need["user"] = *id
	}
	if v == "create" {
		need["name"] = *name
	}
	if err := required(need); err != nil {
		return err
	}
	switch v {
	case "list":
		users, err := st.ListUsers(ctx, *org, octomesh.UserFilter{Email: *email})
		if err != nil {
			return err
		}
		var rows [][]string
		for _, u := range users {
			role := "-"
			if m, err := st.Member(ctx, *org, u.ID); err == nil {
				role = string(m.Role)
			}
			rows = append(rows, []string{safe(u.ID), safe(u.Name), orDash(u.Email), role, fmtTime(u.CreatedAt)})
		}
		table(stdout, "ID\tNAME\tEMAIL\tROLE\tCREATED", rows)
		return nil
	case "show":
		u, err := st.User(ctx, *org, *id)
		if err != nil {
			return err
		}
		printUser(stdout, u)
		return nil
	case "create":
		u := &octomesh.User{ID: octomesh.NewID("usr"), OrgID: *org, Name: *name, Email: *email}
		if *role != "" && !octomesh.OrgRole(*role).Valid() {
			return usageError{"--role must be one of owner, admin, member, billing, viewer"}
		}
		if err := st.CreateUser(ctx, u); err != nil {
			return err
		}
		if *role != "" {
			if err := st.SetMember(ctx, &octomesh.Membership{OrgID: *org, UserID: u.ID, Role: octomesh.OrgRole(*role)}); err != nil {
				return err
			}
		}
		printUser(stdout, u)
		return nil
	case "update":
		u, err := st.User(ctx, *org, *id)
		if err != nil {
			return err
		}
		set := visited(fs)
		if set["name"] {
			u.Name = *name
		}
		if set["email"] {
			u.Email = *email
		}
		if err := st.UpdateUser(ctx, u); err != nil {
			return err
		}
		printUser(stdout, u)
		return nil
	case "delete":
		if !*yes {
			return usageError{"erasing a user deletes their personal data and revokes their keys; add --yes to confirm"}
		}
		if err := st.DeleteUser(ctx, *org, *id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "erased user %s\n", safe(*id))
		return nil
	default: // export
		return exportUser(ctx, st, *org, *id, stdout)
	}
}

func printUser(w io.Writer, u *octomesh.User) {
	fmt.Fprintf(w, "id:        %s\norg:       %s\nname:      %s\nemail:     %s\ncreated:   %s\n",
		safe(u.ID), safe(u.OrgID), safe(u.Name), orDash(u.Email), fmtTime(u.CreatedAt))
}

// exportUser writes everything stored about a user as JSON and records
// the export in the audit log.
func exportUser(ctx context.Context, st *store, org, id string, w io.Writer) error {
	u, err := st.User(ctx, org, id)
	if err != nil {
		return err
	}
	type key struct {
		ID, Name, Project, Prefix string
		Role                      octomesh.OrgRole
		Created, Expires, Revoked string
	}
	out := struct {
		ExportedAt string            `json:"exported_at"`
		User       map[string]string `json:"user"`
		Role       octomesh.OrgRole  `json:"role,omitempty"`
		Keys       []key             `json:"api_keys"`
		Audit      []map[string]any  `json:"audit"`
	}{
		ExportedAt: time.Now().UTC().Format(time.RFC3339),
		User:       map[string]string{"id": u.ID, "org_id": u.OrgID, "name": u.Name, "email": u.Email, "created_at": fmtTime(u.CreatedAt)},
		Keys:       []key{}, Audit: []map[string]any{},
	}
	if m, err := st.Member(ctx, org, id); err == nil {
		out.Role = m.Role
	}
	keys, err := st.ListKeys(ctx, org, octomesh.KeyFilter{UserID: id, IncludeRevoked: true})
	if err != nil {
		return err
	}
	for _, k := range keys {
		out.Keys = append(out.Keys, key{k.ID, k.Name, k.Project, k.Prefix, k.Role, fmtTime(k.CreatedAt), fmtTime(k.ExpiresAt), fmtTime(k.RevokedAt)})
	}
	entries, err := st.ListAudit(ctx, octomesh.AuditFilter{OrgID: org, Target: id, Limit: 1000})
	if err != nil {
		return err
	}
	for _, e := range entries {
		out.Audit = append(out.Audit, map[string]any{"seq": e.Seq, "time": fmtTime(e.Time), "action": e.Action, "details": e.Details})
	}
	if err := st.AppendAudit(ctx, &octomesh.AuditEntry{OrgID: org, Action: octomesh.AuditUserExported, Target: id}); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

const memberVerbs = "list|set|remove"

// membersCmd is `octomesh members …`.
func membersCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	v, args, err := verb("members", args, memberVerbs)
	if err != nil {
		return err
	}
	e := newAdminEnv("members "+v, getenv, stdout, stderr)
	defer e.close()
	org := e.fs.String("org", "", "organisation id")
	id := e.fs.String("user", "", "user id")
	role := e.fs.String("role", "", "role: owner, admin, member, billing or viewer (list: filter by it)")
	switch v {
	case "list", "set", "remove":
	default:
		return unknownVerb("members", v, memberVerbs)
	}
	if ctx, err = e.open(ctx, args); err != nil {
		return err
	}
	need := map[string]string{"org": *org}
	switch v {
	case "set":
		need["user"], need["role"] = *id, *role
	case "remove":
		need["user"] = *id
	}
	if err := required(need); err != nil {
		return err
	}
	st := e.st
	switch v {
	case "list":
		ms, err := st.ListMembers(ctx, *org, octomesh.OrgRole(*role))
		if err != nil {
			return err
		}
		var rows [][]string
		for _, m := range ms {
			rows = append(rows, []string{safe(m.UserID), string(m.Role), fmtTime(m.CreatedAt)})
		}
		table(stdout, "USER\tROLE\tSINCE", rows)
		return nil
	case "set":
		if err := st.SetMember(ctx, &octomesh.Membership{OrgID: *org, UserID: *id, Role: octomesh.OrgRole(*role)}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s is now %s of %s\n", safe(*id), *role, safe(*org))
		return nil
	default:
		if err := st.RemoveMember(ctx, *org, *id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed %s from %s; their keys are revoked\n", safe(*id), safe(*org))
		return nil
	}
}
