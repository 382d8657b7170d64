package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/config"
)

// The administration commands (orgs, users, members, keys, audit) work on
// the configured database directly, as the operator: they need no server
// and no API key, and apply no role checks (whoever can run them can read
// the database anyway). Every change they make is in the audit log with
// the actor "cli". Servers pick changes to keys and settings up within
// apikey.RefreshInterval.
//
// On SQLite, only a command that may bootstrap (`orgs create`, before the
// first `serve`) creates the database; every other command refuses a data
// directory that holds none (errNoDatabase), so that a mistyped --data-dir
// is an error rather than an empty answer from a new, empty database.

// adminEnv is one administration command's parsed common flags and store.
type adminEnv struct {
	fs     *flag.FlagSet
	cfg    *string
	data   *string
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
	// mayCreate lets open create the SQLite database (and its data
	// directory) when it does not exist; set by bootstrapping commands.
	mayCreate bool
	st        *store
}

// newAdminEnv starts a command's flag set with the common flags.
func newAdminEnv(name string, getenv func(string) string, stdout, stderr io.Writer) *adminEnv {
	fs := newFlagSet(name, stderr)
	return &adminEnv{
		fs:     fs,
		cfg:    fs.String("config", "", "YAML config file (default: built-in defaults)"),
		data:   fs.String("data-dir", "", "data directory (overrides data_dir)"),
		getenv: getenv, stdout: stdout, stderr: stderr,
	}
}

// open parses args, loads the configuration and opens the store. The
// returned context carries the CLI actor for the audit log.
func (e *adminEnv) open(ctx context.Context, args []string) (context.Context, error) {
	if err := parseFlags(e.fs, args); err != nil {
		return nil, err
	}
	cfg := config.Default()
	if *e.cfg != "" {
		var err error
		if cfg, err = config.Load(*e.cfg, e.getenv); err != nil {
			return nil, err
		}
	}
	if *e.data != "" {
		cfg.DataDir = *e.data
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	var created string // the SQLite database this command creates, if any
	if driver, dsn := cfg.DatabaseDSN(); e.mayCreate && driver == config.DriverSQLite {
		if p, isFile := sqliteDBPath(dsn.Reveal()); isFile {
			if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
				created = p
			}
		}
	}
	st, err := openStoreMode(ctx, &cfg, e.mayCreate)
	if err != nil {
		return nil, err
	}
	e.st = st
	if created != "" {
		fmt.Fprintf(e.stderr, "octomesh: created a new OctoMesh database at %s\n", created)
	}
	source := "cli"
	if u, err := user.Current(); err == nil && u.Username != "" {
		source = "cli:" + u.Username
	}
	return octomesh.WithActor(ctx, octomesh.Actor{Type: "cli", Source: source}), nil
}

func (e *adminEnv) close() {
	if e.st != nil {
		e.st.close()
	}
}

// required fails with a usage error naming the missing flags.
func required(flags map[string]string) error {
	var missing []string
	for name, v := range flags {
		if v == "" {
			missing = append(missing, "--"+name)
		}
	}
	if len(missing) > 0 {
		sortStrings(missing)
		return usageError{"missing " + strings.Join(missing, ", ")}
	}
	return nil
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// visited reports which flags were set on the command line.
func visited(fs *flag.FlagSet) map[string]bool {
	m := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { m[f.Name] = true })
	return m
}

// list splits a comma-separated flag value.
func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// safe makes a stored string safe to print on a terminal: control and
// formatting characters are escaped, so a name cannot forge output lines
// or send escape sequences.
func safe(s string) string { return octomesh.SanitizeLogString(s) }

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return safe(s)
}

// table writes rows aligned in columns.
func table(w io.Writer, header string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// verb splits "create --org x" into the verb and its flags.
func verb(noun string, args []string, verbs string) (string, []string, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "", nil, usageError{fmt.Sprintf("usage: octomesh %s %s [flags]", noun, verbs)}
	}
	return args[0], args[1:], nil
}

func unknownVerb(noun, v, verbs string) error {
	return usageError{fmt.Sprintf("unknown command %q: usage: octomesh %s %s [flags]", v, noun, verbs)}
}

// keyStatus is a key's state at now, as listings show it.
func keyStatus(k *octomesh.APIKey, now time.Time) string {
	switch {
	case !k.RevokedAt.IsZero() && !now.Before(k.RevokedAt):
		return "revoked"
	case !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt):
		return "expired"
	}
	return "active"
}
