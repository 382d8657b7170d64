package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestKeysCLIBudgetsMustExist: `keys create|update --budgets` applies the
// admin API's rule (TestKeyScopesNameExistingBudgets): every id must be a
// budget of the key's organisation. An unknown id, or another
// organisation's budget, is refused with the API's message and changes
// nothing; a budget of the organisation is kept.
func TestKeysCLIBudgetsMustExist(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			ts := startAdminServer(t, be.dsn(t))
			var own, other struct{ ID string }
			budget := `{"name":"team","scope":"org","period":"month","limit":"5.00"}`
			ts.must(t, 201, ts.AdminKey, "POST", "/v1/orgs/default/budgets", budget, &own)
			acme := ts.newOrg(t, "Acme", "Ann", "ann@acme.example")
			ts.must(t, 201, acme.OwnerKey.Key, "POST", "/v1/orgs/"+acme.ID+"/budgets", budget, &other)

			keyCount := func() int {
				out, err := ts.cli(t, "keys", "list", "--org", "default", "--all")
				if err != nil {
					t.Fatalf("keys list: %v\n%s", err, out)
				}
				return strings.Count(out, "key_")
			}
			before := keyCount()
			for _, bad := range []string{"bud_nope", other.ID, own.ID + ",bud_nope"} {
				out, err := ts.cli(t, "keys", "create", "--org", "default", "--name", "k", "--budgets", bad)
				missing := bad
				if i := strings.LastIndex(bad, ","); i >= 0 {
					missing = bad[i+1:]
				}
				want := `this organisation has no budget "` + missing + `"`
				if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--budgets") {
					t.Errorf("keys create --budgets %s: err %v (exit %d), want exit 1 mentioning --budgets and %q\n%s", bad, err, exitCode(err), want, out)
				}
			}
			if n := keyCount(); n != before {
				t.Errorf("refused creates left keys: %d before, %d after", before, n)
			}
			// Budgets on an unknown organisation: the organisation is what is wrong.
			if _, err := ts.cli(t, "keys", "create", "--org", "org_nope", "--name", "k", "--budgets", own.ID); err == nil || !strings.Contains(err.Error(), "organisation not found") {
				t.Errorf("keys create in an unknown organisation with budgets: %v", err)
			}

			out, err := ts.cli(t, "keys", "create", "--org", "default", "--name", "k", "--budgets", own.ID)
			if err != nil {
				t.Fatalf("keys create with the organisation's budget: %v\n%s", err, out)
			}
			key := regexp.MustCompile(`key_[0-9a-f]{20}`).FindString(out)
			if out, err := ts.cli(t, "keys", "show", "--org", "default", "--key", key); err != nil || !strings.Contains(out, "budgets="+own.ID+" ") {
				t.Fatalf("keys show: %v\n%s", err, out)
			}
			if _, err := ts.cli(t, "keys", "update", "--org", "default", "--key", key, "--budgets", "bud_other"); err == nil ||
				!strings.Contains(err.Error(), `this organisation has no budget "bud_other"`) {
				t.Errorf("keys update to an unknown budget: %v", err)
			}
			if out, err := ts.cli(t, "keys", "show", "--org", "default", "--key", key); err != nil || !strings.Contains(out, "budgets="+own.ID+" ") {
				t.Errorf("a refused update changed the key: %v\n%s", err, out)
			}
			// Updating other fields, or clearing the budgets, needs no lookup.
			if out, err := ts.cli(t, "keys", "update", "--org", "default", "--key", key, "--name", "renamed"); err != nil {
				t.Errorf("keys update --name: %v\n%s", err, out)
			}
			if out, err := ts.cli(t, "keys", "update", "--org", "default", "--key", key, "--budgets", ""); err != nil || !strings.Contains(out, "budgets=- ") {
				t.Errorf("keys update --budgets '': %v\n%s", err, out)
			}
		})
	}
}
