package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
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
	return openStoreMode(ctx, cfg, true)
}

// errNoDatabase is an administration command's refusal to work on a SQLite
// database that does not exist: opening it would create an empty one, and
// the command would answer from that ("audit log intact: 0 entries", no
// organisations) as if the data had been lost.
type errNoDatabase struct{ path string }

func (e errNoDatabase) Error() string {
	return fmt.Sprintf("no OctoMesh database at %s: check --data-dir (or data_dir, or database.dsn, in the --config file), "+
		"or run `octomesh serve` once to create it", e.path)
}

// sqliteDBPath is the file a SQLite DSN names, absolute where it can be
// made so (a relative data directory depends on the working directory),
// and whether it names a file at all (not ":memory:").
func sqliteDBPath(dsn string) (string, bool) {
	p := sqlitePath(dsn)
	if p == "" || p == ":memory:" {
		return p, false
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return p, true
}

// openStoreMode is openStore; with create false, a SQLite database that
// does not exist yet is refused (errNoDatabase) and nothing is created, no
// file and no directory. PostgreSQL is opened either way: the server
// decides what exists.
func openStoreMode(ctx context.Context, cfg *config.Config, create bool) (*store, error) {
	driver, dsn := cfg.DatabaseDSN()
	if driver == config.DriverPostgres {
		db, err := postgres.Open(ctx, dsn.Reveal())
		if err != nil {
			return nil, err
		}
		return &store{db, db, db.Close}, nil
	}
	if !create {
		if p, isFile := sqliteDBPath(dsn.Reveal()); isFile {
			if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
				return nil, errNoDatabase{p}
			}
		}
		db, err := sqlite.Open(ctx, sqlitePath(dsn.Reveal()))
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
