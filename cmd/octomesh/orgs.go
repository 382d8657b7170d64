package main

import (
	"context"
	"fmt"
	"io"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/apikey"
)

const orgVerbs = "list|show|create|update|delete"

// orgsCmd is `octomesh orgs …`.
func orgsCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	v, args, err := verb("orgs", args, orgVerbs)
	if err != nil {
		return err
	}
	e := newAdminEnv("orgs "+v, getenv, stdout, stderr)
	defer e.close()
	fs := e.fs
	org := fs.String("org", "", "organisation id")
	name := fs.String("name", "", "organisation name")
	billing := fs.String("billing-email", "", "billing contact")
	ownerName := fs.String("owner-name", "", "the first owner's name (create)")
	ownerEmail := fs.String("owner-email", "", "the first owner's email (create)")
	zeroRet := fs.Bool("zero-retention", false, "settings: only deployments that retain nothing")
	noTrain := fs.Bool("no-training", false, "settings: only deployments that never train on data")
	regions := fs.String("regions", "", "settings: allowed regions, comma-separated")
	models := fs.String("allowed-models", "", "settings: allowed models or groups, comma-separated")
	storeContent := fs.Bool("store-content", false, "settings: opt in to storing (sealed) content")
	rpm := fs.Int64("rpm", 0, "settings: the organisation's requests per minute (0: no limit)")
	tpm := fs.Int64("tpm", 0, "settings: the organisation's tokens per minute (0: no limit)")
	prepaid := fs.Bool("prepaid", false, "settings: admit requests only while the prepaid credit covers them")
	yes := fs.Bool("yes", false, "confirm deletion")
	switch v {
	case "list", "show", "create", "update", "delete":
	default:
		return unknownVerb("orgs", v, orgVerbs)
	}
	e.mayCreate = v == "create" // the one command that may start a database before the first serve
	ctx, err = e.open(ctx, args)
	if err != nil {
		return err
	}
	st := e.st
	settings := func(s *octomesh.OrgSettings) {
		set := visited(fs)
		if set["zero-retention"] {
			s.ZeroRetention = *zeroRet
		}
		if set["no-training"] {
			s.NoTraining = *noTrain
		}
		if set["regions"] {
			s.Regions = list(*regions)
		}
		if set["allowed-models"] {
			s.AllowedModels = list(*models)
		}
		if set["store-content"] {
			s.StoreContent = *storeContent
		}
		if set["rpm"] {
			s.RPM = *rpm
		}
		if set["tpm"] {
			s.TPM = *tpm
		}
		if set["prepaid"] {
			s.Prepaid = *prepaid
		}
	}
	switch v {
	case "list":
		orgs, err := st.ListOrgs(ctx)
		if err != nil {
			return err
		}
		var rows [][]string
		for _, o := range orgs {
			rows = append(rows, []string{safe(o.ID), safe(o.Name), orDash(o.BillingEmail), fmtTime(o.CreatedAt)})
		}
		table(stdout, "ID\tNAME\tBILLING\tCREATED", rows)
		return nil
	case "show":
		if err := required(map[string]string{"org": *org}); err != nil {
			return err
		}
		o, err := st.Org(ctx, *org)
		if err != nil {
			return err
		}
		printOrg(stdout, o)
		return nil
	case "create":
		if err := required(map[string]string{"name": *name, "owner-name": *ownerName}); err != nil {
			return err
		}
		o := &octomesh.Org{ID: octomesh.NewID("org"), Name: *name, BillingEmail: *billing}
		settings(&o.Settings)
		owner := &octomesh.User{ID: octomesh.NewID("usr"), Name: *ownerName, Email: *ownerEmail}
		key := &octomesh.APIKey{ID: octomesh.NewID("key"), OrgID: o.ID, UserID: owner.ID, Role: octomesh.RoleOwner, Name: "owner key"}
		raw, err := apikey.Mint(key)
		if err != nil {
			return err
		}
		if err := st.CreateOrg(ctx, o, owner, key); err != nil {
			return err
		}
		printOrg(stdout, o)
		fmt.Fprintf(stdout, "owner:     %s (%s)\n", safe(owner.ID), safe(owner.Name))
		printNewKey(stdout, key, raw)
		return nil
	case "update":
		if err := required(map[string]string{"org": *org}); err != nil {
			return err
		}
		o, err := st.Org(ctx, *org)
		if err != nil {
			return err
		}
		set := visited(fs)
		if set["name"] {
			o.Name = *name
		}
		if set["billing-email"] {
			o.BillingEmail = *billing
		}
		settings(&o.Settings)
		if err := st.UpdateOrg(ctx, o); err != nil {
			return err
		}
		printOrg(stdout, o)
		return nil
	default: // delete
		if err := required(map[string]string{"org": *org}); err != nil {
			return err
		}
		if !*yes {
			return usageError{"deleting an organisation deletes its users and memberships and revokes its keys; add --yes to confirm"}
		}
		if err := st.DeleteOrg(ctx, *org); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deleted organisation %s\n", safe(*org))
		return nil
	}
}

func printOrg(w io.Writer, o *octomesh.Org) {
	s := o.Settings
	fmt.Fprintf(w, "id:        %s\nname:      %s\nbilling:   %s\ncreated:   %s\nsettings:  zero_retention=%v no_training=%v store_content=%v regions=%s allowed_models=%s rpm=%d tpm=%d prepaid=%v\n",
		safe(o.ID), safe(o.Name), orDash(o.BillingEmail), fmtTime(o.CreatedAt), s.ZeroRetention, s.NoTraining, s.StoreContent,
		orDash(joinSafe(s.Regions)), orDash(joinSafe(s.AllowedModels)), s.RPM, s.TPM, s.Prepaid)
}

func joinSafe(v []string) string {
	out := ""
	for i, s := range v {
		if i > 0 {
			out += ","
		}
		out += safe(s)
	}
	return out
}

// printNewKey shows a key just created: the only time its secret is shown.
func printNewKey(w io.Writer, k *octomesh.APIKey, raw octomesh.Secret) {
	fmt.Fprintf(w, "key id:    %s\nrole:      %s\n\nThe API key is shown only this once; store it now:\n\n    %s\n\n", safe(k.ID), k.Role, raw.Reveal())
}
