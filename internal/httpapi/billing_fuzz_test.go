package httpapi

import (
	"net/url"
	"testing"
	"unicode/utf8"

	"github.com/octomesh/octomesh"
)

// FuzzUsageQuery feeds arbitrary query strings to the usage and ledger
// parsers: no panic, only EINVALID errors with bounded messages, and every
// accepted query is a valid filter within the page bounds.
func FuzzUsageQuery(f *testing.F) {
	for _, s := range []string{
		"", "from=2026-03-01&to=2026-03-31", "from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00+02:00", "group_by=day,model,key,user,project,kind",
		"group_by=model,model", "format=csv", "format=ndjson", "kind=usage,topup", "kind=", "limit=1000", "limit=1001", "after_seq=5",
		"key=%00", "to=2026-02-30", "from=0001-01-01", "x=1", "model=a&model=b", "group_by=", "from=2026-03-01&to=2026-03-01",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, ledger bool) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		out, err := parseUsageQuery(q, ledger)
		if err != nil {
			if octomesh.ErrorCodeOf(err) != octomesh.EINVALID {
				t.Fatalf("code %v for %q", err, raw)
			}
			if msg := octomesh.ErrorMessage(err); len(msg) > 300 || !utf8.ValidString(msg) {
				t.Fatalf("message %q", msg)
			}
			return
		}
		fl := out.filter
		if err := fl.Validate(); err != nil {
			t.Fatalf("accepted %q gives an invalid filter %+v: %v", raw, fl, err)
		}
		if err := octomesh.ValidateGroups(out.groups); err != nil || (ledger && len(out.groups) > 0) {
			t.Fatalf("groups %v from %q: %v", out.groups, raw, err)
		}
		if ledger && (fl.Limit < 1 || fl.Limit > maxLedgerPage) || !ledger && fl.Limit != 0 {
			t.Fatalf("limit %d from %q", fl.Limit, raw)
		}
		if !ledger && len(fl.Kinds) == 0 {
			t.Fatalf("a usage query without kinds counts top-ups as spend: %q", raw)
		}
		if out.format != "json" && out.format != "csv" && (!ledger || out.format != "ndjson") {
			t.Fatalf("format %q from %q", out.format, raw)
		}
	})
}

// FuzzBillingDecoders feeds arbitrary bodies to the billing routes'
// decoders: no panic, only EINVALID errors, and accepted budgets are valid
// once given an id and organisation.
func FuzzBillingDecoders(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `{"limit":"12.50"}`, `{"limit":12.5}`, `{"limit":"-1"}`, `{"limit":"1","scope":"key","subject":"k"}`, `{"limit":"1","period":"week"}`,
		`{"limit":"1","alert_percent":101}`, `{"scope":"org"}`, `{"org_id":"acme","amount":"25.00","reference":"r"}`, `{"org_id":"a b","amount":"1"}`,
		`{"org_id":"acme"}`, `{"limit":"99999999999999"}`, `{"name":"x","hard":false}`, `{"limit":"1"}{"limit":"2"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		check := func(what string, err error) {
			if err != nil && octomesh.ErrorCodeOf(err) != octomesh.EINVALID {
				t.Fatalf("%s: code %v for %q", what, err, body)
			}
		}
		b, err := decodeCreateBudget(body)
		check("create budget", err)
		if err == nil {
			b.ID, b.OrgID = "bud_x", "org_x"
			if b.Limit <= 0 || b.AlertPercent < 1 || b.AlertPercent > 100 {
				t.Fatalf("accepted budget %+v from %q", b, body)
			}
			check("validate", b.Validate())
		}
		old := octomesh.Budget{ID: "bud_x", OrgID: "org_x", Scope: octomesh.ScopeOrg, Period: octomesh.PeriodMonth, Limit: 1, AlertPercent: 80}
		if err := decodeUpdateBudget(body, &old); err == nil && (old.Limit <= 0 || old.Scope != octomesh.ScopeOrg || old.Period != octomesh.PeriodMonth) {
			t.Fatalf("update %q gave %+v", body, old)
		} else {
			check("update budget", err)
		}
		_, m, err := decodeGrant(body)
		check("grant", err)
		if err == nil && m <= 0 {
			t.Fatalf("grant of %d from %q", m, body)
		}
		_, err = decodePushInvoice(body)
		check("push invoice", err)
	})
}
