package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/octomesh/octomesh"
)

// usageError marks a command-line mistake (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

const usage = `usage: octomesh <command> [flags]

commands:
  serve     run the gateway (default config: SQLite under ./octomesh-data, the built-in sim models)
  bench     run the benchmark harness (mock upstream, nginx, Go proxy, OctoMesh) and write a report
  router    train, evaluate and run the learned quality router (train, eval, decide)
  orgs      organisations: list, show, create, update, delete
  users     people of an organisation: list, show, create, update, delete (erase), export
  members   roles in an organisation: list, set, remove
  keys      API keys: list, show, create, update, rotate, revoke, delete
  audit     the audit log: list, verify (detects edited or deleted entries)
  version   print the version

Run "octomesh <command> -h" for a command's flags.
`

// errHelp is returned by parseFlags after -h printed a command's help: the
// command does nothing more, and the program exits 0.
var errHelp = errors.New("help requested")

// run is the whole program: args without the program name, an environment
// lookup, and the output streams.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	err := dispatch(ctx, args, getenv, stdout, stderr)
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

func dispatch(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stdout, stderr, nil)
	case "bench":
		return bench(ctx, args[1:], stdout, stderr)
	case "router":
		return routerCmd(ctx, args[1:], stdout, stderr)
	case "orgs":
		return orgsCmd(ctx, args[1:], getenv, stdout, stderr)
	case "users":
		return usersCmd(ctx, args[1:], getenv, stdout, stderr)
	case "members":
		return membersCmd(ctx, args[1:], getenv, stdout, stderr)
	case "keys":
		return keysCmd(ctx, args[1:], getenv, stdout, stderr)
	case "audit":
		return auditCmd(ctx, args[1:], getenv, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "octomesh", octomesh.Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp // the flag package printed the help; stop here
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}
