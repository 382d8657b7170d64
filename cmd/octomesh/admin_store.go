package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/apikey"
	"github.com/octomesh/octomesh/internal/config"
	"github.com/octomesh/octomesh/internal/postgres"
	"github.com/octomesh/octomesh/internal/sqlite"
)

// store is an open account store, the same database as a meter store, and
// how to close it.
type store struct {
	octomesh.AccountStore
	meter octomesh.MeterStore
	close func() error
}

// openStore opens the store the configuration selects: SQLite in the data
// directory (creating it) unless database.dsn is a postgres:// URL.
func openStore(ctx context.Context, cfg *config.Config) (*store, error) {
	driver, dsn := cfg.DatabaseDSN()
	if driver == config.DriverPostgres {
		db, err := postgres.Open(ctx, dsn.Reveal())
		if err != nil {
			return nil, err
		}
		return &store{db, db, db.Close}, nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	db, err := sqlite.Open(ctx, sqlitePath(dsn.Reveal()))
	if err != nil {
		return nil, err
	}
	return &store{db, db, db.Close}, nil
}

// defaultOrgID is the first organisation, created on first start.
const defaultOrgID = "default"

// bootstrapAdmin makes sure the first organisation exists with an owner and
// an operator key. With OCTOMESH_ADMIN_KEY set, that key is adopted (once;
// later starts find it stored). Otherwise, on first start, a key is
// generated and printed once: only its hash is kept. The key is an owner of
// the "default" organisation and an operator key (it may create further
// organisations).
func bootstrapAdmin(ctx context.Context, st octomesh.AccountStore, envKey string, stdout io.Writer) error {
	ctx = octomesh.WithActor(ctx, octomesh.Actor{Type: "system", Source: "bootstrap"})
	_, err := st.Org(ctx, defaultOrgID)
	orgExists := err == nil
	if err != nil && octomesh.ErrorCodeOf(err) != octomesh.ENOTFOUND {
		return err
	}
	key := &octomesh.APIKey{ID: octomesh.NewID("key"), OrgID: defaultOrgID, Name: "bootstrap admin", Role: octomesh.RoleOwner, Platform: true}
	var raw octomesh.Secret
	switch {
	case envKey != "":
		if k, err := st.KeyByHash(ctx, apikey.Hash(envKey)); err == nil {
			key = nil // adopted on an earlier start (and perhaps revoked since: that stands)
			if !k.Active(time.Now()) {
				fmt.Fprintln(stdout, "OCTOMESH_ADMIN_KEY was revoked and stays revoked; make a new operator key with `octomesh keys create --operator`.")
			}
		} else if octomesh.ErrorCodeOf(err) != octomesh.ENOTFOUND {
			return err
		} else if err := apikey.Adopt(key, octomesh.Secret(envKey)); err != nil {
			return fmt.Errorf("OCTOMESH_ADMIN_KEY: %w", err)
		}
	default:
		keys, err := st.ListKeys(ctx, "", octomesh.KeyFilter{IncludeRevoked: true})
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			key = nil // not the first start
		} else if raw, err = apikey.Mint(key); err != nil {
			return err
		}
	}
	switch {
	case !orgExists:
		owner := &octomesh.User{ID: octomesh.NewID("usr"), Name: "Administrator"}
		if key != nil {
			key.UserID = owner.ID
		}
		if err := st.CreateOrg(ctx, &octomesh.Org{ID: defaultOrgID, Name: "Default"}, owner, key); err != nil {
			return fmt.Errorf("create the default organisation: %w", err)
		}
	case key != nil:
		if err := st.CreateKey(ctx, key); err != nil {
			return fmt.Errorf("create the admin key: %w", err)
		}
	}
	switch {
	case key == nil:
	case raw != "":
		fmt.Fprintf(stdout, "Created the admin API key. It is shown only this once; store it now:\n\n    %s\n\n", raw.Reveal())
	default:
		fmt.Fprintln(stdout, "Adopted OCTOMESH_ADMIN_KEY as the admin API key.")
	}
	return nil
}
