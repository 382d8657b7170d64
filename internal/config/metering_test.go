package config

import (
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
)

func TestMeteringValidation(t *testing.T) {
	for _, tc := range []struct {
		yaml, want string
	}{
		{"metering: {counters: disk}", `metering.counters: "disk" is not one of memory, redis`},
		{"metering: {counters: redis}", "metering.redis: required when metering.counters is redis"},
		{"metering: {key_rpm: -1}", "metering.key_rpm: must be 0 (no limit) or positive"},
		{"metering: {org_tpm: -5}", "metering.org_tpm: must be 0 (no limit) or positive"},
		{"metering: {reservation_ttl: 5m}", "metering.reservation_ttl: must exceed server.upstream_timeout (10m0s)"},
		{"metering: {spool_max_bytes: 0}", "metering.spool_max_bytes: must be positive"},
		{"routing: {decision_records: 0}", "routing.decision_records: must be between 1 and 10000000"},
	} {
		_, err := Parse([]byte(tc.yaml), env(nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error = %v, want %q", tc.yaml, err, tc.want)
		}
	}
	c, err := Parse([]byte("metering: {counters: redis, redis: 127.0.0.1:6379, key_rpm: 60, key_tpm: 1000}"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Metering.KeyRPM != 60 || c.Metering.KeyTPM != 1000 || c.Metering.Redis.Reveal() != "127.0.0.1:6379" || c.Metering.ReservationTTL != 15*time.Minute {
		t.Errorf("metering = %+v", c.Metering)
	}
}

func TestPriceChanges(t *testing.T) {
	base := `providers: [{name: p, type: openai, base_url: "http://127.0.0.1:1", api_key: k}]
models:
  - provider: p
    upstream_model: m
    context_window: 1000
    price: {input: "1", output: "2"}
    price_changes:
`
	c, err := Parse([]byte(base+`      - {effective: 2026-12-01, price: {input: "0.5", output: "1"}}
      - {effective: "2027-01-01T12:00:00Z", price: {input: "0.25", output: "0.5"}}
`), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.Models[0].Deployment()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at      string
		in      octomesh.Money
		version string
	}{
		{"2026-11-30T23:59:59Z", octomesh.Dollar, octomesh.BasePriceVersion},
		{"2026-12-01T00:00:00Z", octomesh.Dollar / 2, "2026-12-01T00:00:00Z"},
		{"2027-01-01T11:59:59Z", octomesh.Dollar / 2, "2026-12-01T00:00:00Z"},
		{"2027-01-01T12:00:00Z", octomesh.Dollar / 4, "2027-01-01T12:00:00Z"},
	} {
		at, _ := time.Parse(time.RFC3339, tc.at)
		p, v := d.PriceAt(at)
		if p.InputPerMTok != tc.in || v != tc.version {
			t.Errorf("PriceAt(%s) = %s %q, want %s %q", tc.at, p.InputPerMTok, v, tc.in, tc.version)
		}
	}
	for _, tc := range []struct{ change, want string }{
		{`      - {effective: 2026-13-01, price: {input: "1", output: "1"}}`, `models[0].price_changes[0].effective: "2026-13-01" is not a date`},
		{`      - {effective: 2026-12-01, price: {input: "1"}}`, `models[0].price_changes[0].price.output: required`},
		{"      - {effective: 2026-12-01, price: {input: \"1\", output: \"1\"}}\n      - {effective: 2026-11-01, price: {input: \"1\", output: \"1\"}}", `models[0].price_changes[1].effective: must be later than the change before it`},
	} {
		_, err := Parse([]byte(base+tc.change+"\n"), env(nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error = %v, want %q", tc.change, err, tc.want)
		}
	}
}

func TestLedgerWriteBehind(t *testing.T) {
	m := Default().Metering
	for _, tt := range []struct {
		commit, driver string
		want           time.Duration
	}{
		{"auto", DriverSQLite, 20 * time.Millisecond},
		{"auto", DriverPostgres, 0},
		{"database", DriverSQLite, 0},
		{"journal", DriverPostgres, 20 * time.Millisecond},
	} {
		m.LedgerCommit = tt.commit
		if got := m.LedgerWriteBehind(tt.driver); got != tt.want {
			t.Errorf("ledger_commit %s on %s: write-behind %v, want %v", tt.commit, tt.driver, got, tt.want)
		}
	}
	for _, bad := range []Metering{
		func() Metering { m := Default().Metering; m.LedgerCommit = "later"; return m }(),
		func() Metering { m := Default().Metering; m.LedgerApplyDelay = 0; return m }(),
		func() Metering { m := Default().Metering; m.LedgerApplyDelay = time.Hour; return m }(),
	} {
		var p problems
		bad.validate(&p, 0)
		if len(p) == 0 {
			t.Errorf("%+v validated", bad)
		}
	}
}
