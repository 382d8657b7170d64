package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/octomesh/octomesh/internal/storetest"
)

// cliIn runs an administration command with extra trailing flags and no
// environment, returning stdout and stderr together.
func cliIn(getenv func(string) string, args []string, extra ...string) (string, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var out, errb bytes.Buffer
	full := append(append([]string{}, args...), extra...)
	err := run(context.Background(), full, getenv, &out, &errb)
	return out.String() + errb.String(), err
}

// readOnlyCommands are administration commands that only read or change
// records that must already exist: none of them may create a database.
var readOnlyCommands = [][]string{
	{"orgs", "list"},
	{"orgs", "show", "--org", "default"},
	{"orgs", "update", "--org", "default", "--name", "x"},
	{"orgs", "delete", "--org", "default", "--yes"},
	{"users", "list", "--org", "default"},
	{"users", "show", "--org", "default", "--user", "usr_x"},
	{"users", "create", "--org", "default", "--name", "Bob"},
	{"users", "update", "--org", "default", "--user", "usr_x", "--name", "y"},
	{"users", "delete", "--org", "default", "--user", "usr_x", "--yes"},
	{"users", "export", "--org", "default", "--user", "usr_x"},
	{"members", "list", "--org", "default"},
	{"members", "set", "--org", "default", "--user", "usr_x", "--role", "admin"},
	{"members", "remove", "--org", "default", "--user", "usr_x"},
	{"keys", "list", "--org", "default"},
	{"keys", "show", "--org", "default", "--key", "key_x"},
	{"keys", "create", "--org", "default", "--name", "ci"},
	{"keys", "create", "--org", "default", "--name", "op", "--operator"},
	{"keys", "update", "--org", "default", "--key", "key_x", "--name", "y"},
	{"keys", "rotate", "--org", "default", "--key", "key_x"},
	{"keys", "revoke", "--org", "default", "--key", "key_x"},
	{"keys", "delete", "--org", "default", "--key", "key_x"},
	{"audit", "list"},
	{"audit", "verify"},
}

// TestCLIRefusesMissingDatabase: pointed at a data directory where no
// server ever ran (a typo, or the wrong working directory), the commands
// that only read or change existing records refuse, naming the database
// they looked for and how to fix it, and create nothing, instead of
// answering from a new, empty database ("audit log intact: 0 entries").
func TestCLIRefusesMissingDatabase(t *testing.T) {
	root := t.TempDir()
	missing := filepath.Join(root, "typo") // no such directory
	empty := filepath.Join(root, "empty")  // a directory, but no database in it
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	// The same, with the data directory or the SQLite file named by a config.
	cfgDataDir := filepath.Join(root, "datadir.yaml")
	cfgDSN := filepath.Join(root, "dsn.yaml")
	dsnFile := filepath.Join(empty, "elsewhere.db")
	if err := os.WriteFile(cfgDataDir, []byte("data_dir: "+missing+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgDSN, []byte("data_dir: "+missing+"\ndatabase:\n  dsn: \"file:"+dsnFile+"?cache=shared\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		flags []string
		db    string
	}{
		{"missing --data-dir", []string{"--data-dir", missing}, filepath.Join(missing, "octomesh.db")},
		{"empty --data-dir", []string{"--data-dir", empty}, filepath.Join(empty, "octomesh.db")},
		{"config data_dir", []string{"--config", cfgDataDir}, filepath.Join(missing, "octomesh.db")},
		{"config database.dsn", []string{"--config", cfgDSN}, dsnFile},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, args := range readOnlyCommands {
				out, err := cliIn(nil, args, c.flags...)
				cmd := "octomesh " + strings.Join(args, " ")
				if err == nil {
					t.Errorf("%s: succeeded on a missing database:\n%s", cmd, out)
					continue
				}
				if exitCode(err) == 0 {
					t.Errorf("%s: exit code 0", cmd)
				}
				msg := err.Error()
				for _, want := range []string{"no OctoMesh database at " + c.db, "--data-dir", "octomesh serve"} {
					if !strings.Contains(msg, want) {
						t.Errorf("%s: error %q does not mention %q", cmd, msg, want)
					}
				}
			}
			if _, err := os.Stat(missing); !os.IsNotExist(err) {
				t.Errorf("the missing data directory was created (stat: %v)", err)
			}
			if ents, err := os.ReadDir(empty); err != nil || len(ents) > 0 {
				t.Errorf("files were created in the empty data directory: %v %v", ents, err)
			}
		})
	}
}

// TestCLIRelativeDataDirNamedAbsolute: the refusal names the database by
// its absolute path, so that running from the wrong working directory is
// visible.
func TestCLIRelativeDataDirNamedAbsolute(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	_, err := cliIn(nil, []string{"audit", "verify"}) // the default ./octomesh-data
	want := filepath.Join(dir, "octomesh-data", "octomesh.db")
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("audit verify in an empty working directory: %v, want it to name %s", err, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "octomesh-data")); !os.IsNotExist(err) {
		t.Errorf("./octomesh-data was created (stat: %v)", err)
	}
}

// TestCLIOrgsCreateBootstraps: `orgs create` may still start a database
// before the first `serve` (and says so), after which the other commands
// work on it.
func TestCLIOrgsCreateBootstraps(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	out, err := cliIn(nil, []string{"orgs", "create", "--name", "Acme", "--owner-name", "Ann"}, "--data-dir", dir)
	if err != nil {
		t.Fatalf("orgs create on a new data directory: %v\n%s", err, out)
	}
	if !strings.Contains(out, "created a new OctoMesh database at "+filepath.Join(dir, "octomesh.db")) {
		t.Errorf("orgs create did not say it created a database:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "octomesh.db")); err != nil {
		t.Fatalf("no database after orgs create: %v", err)
	}
	if out, err := cliIn(nil, []string{"orgs", "list"}, "--data-dir", dir); err != nil || !strings.Contains(out, "Acme") {
		t.Errorf("orgs list after orgs create: %v\n%s", err, out)
	}
	if out, err := cliIn(nil, []string{"audit", "verify"}, "--data-dir", dir); err != nil || !regexp.MustCompile(`audit log intact: [1-9]`).MatchString(out) {
		t.Errorf("audit verify after orgs create: %v\n%s", err, out)
	}
	// A second create on the same database does not claim to create it.
	out, err = cliIn(nil, []string{"orgs", "create", "--name", "Beta", "--owner-name", "Bo"}, "--data-dir", dir)
	if err != nil || strings.Contains(out, "created a new OctoMesh database") {
		t.Errorf("second orgs create: %v\n%s", err, out)
	}
}

// TestCLIPostgresIgnoresDataDir: on PostgreSQL the data directory plays no
// part: the commands run (the server decides) and create no directory.
func TestCLIPostgresIgnoresDataDir(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	root := t.TempDir()
	missing := filepath.Join(root, "typo")
	cfg := filepath.Join(root, "pg.yaml")
	if err := os.WriteFile(cfg, []byte("database:\n  dsn: \"${PG_DSN}\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		if k == "PG_DSN" {
			return dsn
		}
		return ""
	}
	for _, args := range [][]string{{"orgs", "list"}, {"audit", "verify"}} {
		if out, err := cliIn(getenv, args, "--config", cfg, "--data-dir", missing); err != nil {
			t.Errorf("octomesh %s on PostgreSQL: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("the data directory was created for PostgreSQL (stat: %v)", err)
	}
}
