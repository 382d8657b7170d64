package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestOrgsCLILimits: `orgs update --rpm --tpm --prepaid` sets the
// organisation's metering settings, `orgs show` prints them, and a
// negative limit is refused naming the field.
func TestOrgsCLILimits(t *testing.T) {
	dir := t.TempDir()
	cli := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := run(context.Background(), append(args, "--data-dir", dir), func(string) string { return "" }, &out, &errb)
		return out.String() + errb.String(), err
	}
	out, err := cli("orgs", "create", "--name", "Acme", "--owner-name", "Ann", "--owner-email", "ann@acme.example")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	id := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(out, "\n", 2)[0], "id:"))
	if out, err := cli("orgs", "update", "--org", id, "--rpm", "60", "--tpm", "10000", "--prepaid"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	out, err = cli("orgs", "show", "--org", id)
	if err != nil || !strings.Contains(out, "rpm=60 tpm=10000 prepaid=true") {
		t.Fatalf("orgs show: %v\n%s", err, out)
	}
	if out, err := cli("orgs", "update", "--org", id, "--rpm", "-1"); err == nil || !strings.Contains(err.Error(), "settings.rpm") {
		t.Fatalf("negative rpm: %v %s", err, out)
	}
}
