package main

import (
	"context"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/apikey"
)

const keyVerbs = "list|show|create|update|rotate|revoke|delete"

// keysCmd is `octomesh keys …`.
func keysCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	v, args, err := verb("keys", args, keyVerbs)
	if err != nil {
		return err
	}
	e := newAdminEnv("keys "+v, getenv, stdout, stderr)
	defer e.close()
	fs := e.fs
	org := fs.String("org", "", "organisation id")
	id := fs.String("key", "", "key id")
	name := fs.String("name", "", "key name")
	role := fs.String("role", "", "role the key acts with (create: default member)")
	userID := fs.String("user", "", "the user the key belongs to (list: filter by it)")
	project := fs.String("project", "", "project label (list: filter by it)")
	expiresIn := fs.Duration("expires-in", 0, "expire after this long, e.g. 720h")
	noExpiry := fs.Bool("no-expiry", false, "update: remove the expiry")
	models := fs.String("models", "", "allowed models or groups, comma-separated")
	rpm := fs.Int64("rpm", 0, "requests per minute (0: no limit)")
	tpm := fs.Int64("tpm", 0, "tokens per minute (0: no limit)")
	budgets := fs.String("budgets", "", "budget ids, comma-separated")
	zeroRet := fs.Bool("zero-retention", false, "only deployments that retain nothing")
	noTrain := fs.Bool("no-training", false, "only deployments that never train on data")
	regions := fs.String("regions", "", "allowed regions, comma-separated")
	operator := fs.Bool("operator", false, "create: an operator key, which may also create organisations")
	overlap := fs.Duration("overlap", 0, "rotate: how long the old key keeps working")
	all := fs.Bool("all", false, "list: include revoked and expired keys")
	switch v {
	case "list", "show", "create", "update", "rotate", "revoke", "delete":
	default:
		return unknownVerb("keys", v, keyVerbs)
	}
	if ctx, err = e.open(ctx, args); err != nil {
		return err
	}
	need := map[string]string{"org": *org}
	switch v {
	case "create":
		need["name"] = *name
	case "show", "update", "rotate", "revoke", "delete":
		need["key"] = *id
	}
	if err := required(need); err != nil {
		return err
	}
	st := e.st
	now := time.Now()
	scopes := func(s *octomesh.KeyScopes) {
		set := visited(fs)
		if set["models"] {
			s.Models = list(*models)
		}
		if set["rpm"] {
			s.RPM = *rpm
		}
		if set["tpm"] {
			s.TPM = *tpm
		}
		if set["budgets"] {
			s.Budgets = list(*budgets)
		}
		if set["zero-retention"] {
			s.ZeroRetention = *zeroRet
		}
		if set["no-training"] {
			s.NoTraining = *noTrain
		}
		if set["regions"] {
			s.Regions = list(*regions)
		}
	}
	switch v {
	case "list":
		keys, err := st.ListKeys(ctx, *org, octomesh.KeyFilter{UserID: *userID, Project: *project, IncludeRevoked: *all})
		if err != nil {
			return err
		}
		var rows [][]string
		for _, k := range keys {
			rows = append(rows, []string{safe(k.ID), safe(k.Prefix) + "…", orDash(k.Name), string(k.Role), orDash(k.UserID), orDash(k.Project),
				keyStatus(k, now), fmtTime(k.ExpiresAt)})
		}
		table(stdout, "ID\tPREFIX\tNAME\tROLE\tUSER\tPROJECT\tSTATUS\tEXPIRES", rows)
		return nil
	case "show":
		k, err := st.Key(ctx, *org, *id)
		if err != nil {
			return err
		}
		printKey(stdout, k, now)
		return nil
	case "create":
		k := &octomesh.APIKey{ID: octomesh.NewID("key"), OrgID: *org, UserID: *userID, Project: *project, Name: *name,
			Role: octomesh.OrgRole(*role), Platform: *operator}
		if k.Role == "" {
			k.Role = octomesh.RoleMember
		}
		if *expiresIn > 0 {
			k.ExpiresAt = now.Add(*expiresIn)
		}
		scopes(&k.Scopes)
		if len(k.Scopes.Budgets) > 0 {
			// An unknown organisation is the mistake to report, not its budgets.
			if _, err := st.Org(ctx, k.OrgID); err != nil {
				return err
			}
			if err := budgetsExist(ctx, st, k.OrgID, k.Scopes.Budgets); err != nil {
				return err
			}
		}
		raw, err := apikey.Mint(k)
		if err != nil {
			return err
		}
		if err := st.CreateKey(ctx, k); err != nil {
			return err
		}
		printNewKey(stdout, k, raw)
		return nil
	case "update":
		k, err := st.Key(ctx, *org, *id)
		if err != nil {
			return err
		}
		set := visited(fs)
		if set["name"] {
			k.Name = *name
		}
		if set["project"] {
			k.Project = *project
		}
		if set["role"] {
			k.Role = octomesh.OrgRole(*role)
		}
		if *expiresIn > 0 {
			k.ExpiresAt = now.Add(*expiresIn)
		}
		if *noExpiry {
			k.ExpiresAt = time.Time{}
		}
		scopes(&k.Scopes)
		if set["budgets"] {
			if err := budgetsExist(ctx, st, k.OrgID, k.Scopes.Budgets); err != nil {
				return err
			}
		}
		if err := st.UpdateKey(ctx, k); err != nil {
			return err
		}
		printKey(stdout, k, now)
		return nil
	case "rotate":
		old, err := st.Key(ctx, *org, *id)
		if err != nil {
			return err
		}
		next := &octomesh.APIKey{ID: octomesh.NewID("key"), OrgID: old.OrgID, UserID: old.UserID, Project: old.Project,
			Name: old.Name, Role: old.Role, Platform: old.Platform, Scopes: old.Scopes}
		if !old.ExpiresAt.IsZero() {
			next.ExpiresAt = now.Add(old.ExpiresAt.Sub(old.CreatedAt))
		}
		raw, err := apikey.Mint(next)
		if err != nil {
			return err
		}
		var ends time.Time
		if *overlap > 0 {
			ends = now.Add(*overlap)
		}
		if err := st.RotateKey(ctx, *org, *id, next, ends); err != nil {
			return err
		}
		if ends.IsZero() {
			fmt.Fprintf(stdout, "revoked %s\n", safe(*id))
		} else {
			fmt.Fprintf(stdout, "%s keeps working until %s\n", safe(*id), fmtTime(ends))
		}
		printNewKey(stdout, next, raw)
		return nil
	case "revoke":
		if err := st.RevokeKey(ctx, *org, *id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked %s (servers refuse it within %v)\n", safe(*id), apikey.RefreshInterval)
		return nil
	default: // delete
		if err := st.DeleteKey(ctx, *org, *id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deleted %s\n", safe(*id))
		return nil
	}
}

// budgetsExist applies the admin API's rule for a key's scopes.budgets
// (httpapi's budgetsExist, same code and message): every id must be a
// budget of the key's organisation, since a mistyped id would otherwise
// limit nothing, silently.
func budgetsExist(ctx context.Context, st *store, org string, ids []string) error {
	for _, id := range ids {
		if _, err := st.meter.Budget(ctx, org, id); err != nil {
			if octomesh.ErrorCodeOf(err) == octomesh.ENOTFOUND {
				return octomesh.Errorf(octomesh.EINVALID, "--budgets: this organisation has no budget %q", clipID(id, 64)).WithParam("budgets")
			}
			return err
		}
	}
	return nil
}

// clipID shortens an id to at most n bytes (at a character boundary) for
// an error message.
func clipID(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func printKey(w io.Writer, k *octomesh.APIKey, now time.Time) {
	s := k.Scopes
	fmt.Fprintf(w, "id:        %s\nprefix:    %s…\nname:      %s\norg:       %s\nuser:      %s\nproject:   %s\nrole:      %s\noperator:  %v\nstatus:    %s\ncreated:   %s\nexpires:   %s\nrevoked:   %s\nscopes:    models=%s rpm=%d tpm=%d budgets=%s zero_retention=%v no_training=%v regions=%s\n",
		safe(k.ID), safe(k.Prefix), orDash(k.Name), safe(k.OrgID), orDash(k.UserID), orDash(k.Project), k.Role, k.Platform,
		keyStatus(k, now), fmtTime(k.CreatedAt), fmtTime(k.ExpiresAt), fmtTime(k.RevokedAt),
		orDash(joinSafe(s.Models)), s.RPM, s.TPM, orDash(joinSafe(s.Budgets)), s.ZeroRetention, s.NoTraining, orDash(joinSafe(s.Regions)))
}
