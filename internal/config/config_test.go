package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
)

// env returns a getenv backed by a map.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestDefault(t *testing.T) {
	want := Config{
		Server: Server{
			Listen:            "127.0.0.1:8080",
			MaxBodyBytes:      10 << 20,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       60 * time.Second,
			WriteTimeout:      0,
			IdleTimeout:       120 * time.Second,
			ShutdownTimeout:   30 * time.Second,
			UpstreamTimeout:   10 * time.Minute,
			Engine:            "octomesh",
			GCHeadroom:        8 * MiB,
		},
		DataDir: "./octomesh-data",
		Log:     Log{Level: "info", Format: "text", FlushInterval: 100 * time.Millisecond},
		Sim:     Sim{Enabled: true, Seed: 1, Speed: 1},
		Privacy: Privacy{StoreContent: false},
		Routing: Routing{
			Defaults:    RouteDefaults{Objective: "cheapest", QualityFloor: 0.9, Regions: []string{}},
			MaxAttempts: 3,
			RetryBudget: Budget{Ratio: 0.2, MinPerSecond: 5},
			HedgeBudget: Budget{Ratio: 0.1},
			Health: Health{ConsecutiveFailures: 5, ErrorRate: 0.5, MinRequests: 20, Window: 30 * time.Second,
				BaseEjection: 10 * time.Second, MaxEjection: 5 * time.Minute, HalfOpenProbes: 1, MaxEjectedFraction: 0.5},
			Timeouts:        Timeouts{Connect: 10 * time.Second, FirstByte: 30 * time.Second, Idle: 30 * time.Second, Total: 10 * time.Minute},
			Groups:          []Group{},
			QualityPriors:   map[string]float64{},
			DecisionRecords: 20_000,
		},
		Metering: Metering{Counters: "memory", RedisPrefix: "octomesh:", ReservationTTL: 15 * time.Minute, SpoolMaxBytes: 64 << 20,
			LedgerCommit: "auto", LedgerApplyDelay: 20 * time.Millisecond},
		Billing: Billing{TaxRate: "0", Currency: "USD", Stripe: Stripe{DaysUntilDue: 30}},
	}
	got := Default()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Default() mismatch (-want +got):\n%s", diff)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v, want nil", err)
	}
}

func TestParseEmptyGivesDefaults(t *testing.T) {
	for _, doc := range []string{"", "\n", "# only a comment\n", "---\n"} {
		got, err := Parse([]byte(doc), nil)
		if err != nil {
			t.Fatalf("Parse(%q) error: %v", doc, err)
		}
		if diff := cmp.Diff(Default(), got); diff != "" {
			t.Errorf("Parse(%q) mismatch (-want +got):\n%s", doc, diff)
		}
	}
}

func TestParseKeepsOmittedDefaults(t *testing.T) {
	doc := `
server:
  listen: ":9090"
  max_body_bytes: 1MiB
  write_timeout: 5m
sim:
  speed: 2.5
log:
  format: json
`
	got, err := Parse([]byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Server.Listen = ":9090"
	want.Server.MaxBodyBytes = MiB
	want.Server.WriteTimeout = 5 * time.Minute
	want.Sim.Speed = 2.5
	want.Log.Format = "json"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestParseFillsEntryDefaults(t *testing.T) {
	doc := `
providers:
  - {name: oai, type: openai, api_key: k}
  - {name: az, type: openai, api_key: k, api_version: "2024-10-21", base_url: "https://r.openai.azure.com"}
  - {name: local, type: openai, auth: none, base_url: "http://127.0.0.1:11434/v1"}
  - {name: ant, type: anthropic, api_key: k}
  - {name: ant2, type: anthropic, api_key: k, default_max_tokens: 1000}
models:
  - {provider: oai, upstream_model: gpt-4o-mini, context_window: 128000, price: {input: "0.15", output: "0.60"}}
  - {name: custom, provider: ant, upstream_model: claude, context_window: 200000, price: {input: "3", output: "15"}}
`
	got, err := Parse([]byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	var auths []string
	var maxTokens []int
	for _, p := range got.Providers {
		auths = append(auths, p.Auth)
		maxTokens = append(maxTokens, p.DefaultMaxTokens)
	}
	if diff := cmp.Diff([]string{"bearer", "api-key", "none", "", ""}, auths); diff != "" {
		t.Errorf("auth defaults (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{0, 0, 0, 4096, 1000}, maxTokens); diff != "" {
		t.Errorf("default_max_tokens defaults (-want +got):\n%s", diff)
	}
	if got, want := got.Models[0].Name, "oai/gpt-4o-mini"; got != want {
		t.Errorf("default model name = %q, want %q", got, want)
	}
	if got, want := got.Models[1].Name, "custom"; got != want {
		t.Errorf("explicit model name = %q, want %q", got, want)
	}
}

func TestParseSizesAndDurations(t *testing.T) {
	tests := []struct {
		doc     string
		want    func(*Server)
		wantErr string
	}{
		{doc: "max_body_bytes: 2048", want: func(s *Server) { s.MaxBodyBytes = 2048 }},
		{doc: "max_body_bytes: 512 KiB", want: func(s *Server) { s.MaxBodyBytes = 512 << 10 }},
		{doc: `max_body_bytes: "1GB"`, want: func(s *Server) { s.MaxBodyBytes = 1e9 }},
		{doc: "max_body_bytes: 10 parsecs", wantErr: "unknown unit"},
		{doc: "max_body_bytes: [1]", wantErr: "a size must be"},
		{doc: "idle_timeout: 1h30m", want: func(s *Server) { s.IdleTimeout = 90 * time.Minute }},
		{doc: "idle_timeout: 0s", want: func(s *Server) { s.IdleTimeout = 0 }},
		// A bare integer is refused rather than read as nanoseconds.
		{doc: "idle_timeout: 30", wantErr: "server.idle_timeout (line 2): want a duration such as 20ms, 1.5s or 1h30m, got a number"},
		{doc: "idle_timeout: soon", wantErr: "server.idle_timeout (line 2): want a duration such as 20ms, 1.5s or 1h30m, got a string"},
	}
	for _, tt := range tests {
		t.Run(tt.doc, func(t *testing.T) {
			got, err := Parse([]byte("server:\n  "+tt.doc+"\n"), nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := Default().Server
			tt.want(&want)
			if diff := cmp.Diff(want, got.Server); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRejectsUnknownFields(t *testing.T) {
	tests := []struct{ doc, want string }{
		{"lisen: 1\n", "lisen (line 1): unknown setting"},
		{"server:\n  listn: x\n", "server.listn (line 2): unknown setting"},
		{"providers:\n  - name: a\n    type: openai\n    apikey: x\n", "providers[0].apikey (line 4): unknown setting"},
		{"models:\n  - price: {inptu: \"1\"}\n", "models[0].price.inptu (line 2): unknown setting"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.doc), nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) error = %v, want one containing %q", tt.doc, err, tt.want)
		}
	}
}

func TestParseRejectsSeveralDocuments(t *testing.T) {
	_, err := Parse([]byte("log: {level: debug}\n---\nlog: {level: info}\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "single YAML document") {
		t.Errorf("error = %v, want a single-document error", err)
	}
}

func TestParseValidates(t *testing.T) {
	_, err := Parse([]byte("log: {level: loud}\n"), nil)
	if err == nil || !strings.Contains(err.Error(), `log.level: "loud" is not one of`) {
		t.Errorf("error = %v, want a log.level error", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "octomesh.yaml")
	if err := os.WriteFile(path, []byte("data_dir: ${DIR}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path, env(map[string]string{"DIR": "/var/lib/octomesh"}))
	if err != nil {
		t.Fatal(err)
	}
	if got.DataDir != "/var/lib/octomesh" {
		t.Errorf("DataDir = %q, want %q", got.DataDir, "/var/lib/octomesh")
	}

	_, err = Load(filepath.Join(dir, "missing.yaml"), nil)
	if err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("Load(missing) error = %v, want one naming the file", err)
	}

	_, err = Load(path, nil)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "DIR") {
		t.Errorf("Load without DIR: error = %v, want one naming the file and the variable", err)
	}

	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte("#"+strings.Repeat("x", MaxFileSize)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big, nil); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Load(big) error = %v, want a size error", err)
	}
}

const (
	apiKey  = "sk-proj-Zq8xSECRETvalue0123456789"
	hdrKey  = "hdr-SECRET-gateway-token-42"
	dsnPass = "pg-SECRET-password-77"
)

func TestSecretsRedactedInFormatting(t *testing.T) {
	doc := `
database:
  dsn: "postgres://octo:${PGPASS}@db:5432/octo"
providers:
  - name: openai
    type: openai
    api_key: "${OPENAI_API_KEY}"
    headers:
      X-Gateway-Auth: "Bearer ${HDR}"
`
	cfg, err := Parse([]byte(doc), env(map[string]string{"OPENAI_API_KEY": apiKey, "HDR": hdrKey, "PGPASS": dsnPass}))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Providers[0].APIKey.Reveal(); got != apiKey {
		t.Fatalf("APIKey.Reveal() = %q, want the key (decoding into Secret failed)", got)
	}
	if got := cfg.Providers[0].Headers["X-Gateway-Auth"]; got != "Bearer "+hdrKey {
		t.Fatalf("header = %q, want the configured value", got)
	}
	if _, dsn := cfg.DatabaseDSN(); !strings.Contains(dsn.Reveal(), dsnPass) {
		t.Fatalf("DSN lost the password")
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, cfg)
		for _, secret := range []string{apiKey, hdrKey, dsnPass} {
			if strings.Contains(out, secret) {
				t.Errorf("fmt %s of Config leaks a secret: %s", verb, out)
			}
		}
		if !strings.Contains(out, "X-Gateway-Auth") {
			t.Errorf("fmt %s of Config lost the header name: %s", verb, out)
		}
	}
}

func TestSecretsRedactedInErrors(t *testing.T) {
	vars := map[string]string{"OPENAI_API_KEY": apiKey, "HDR": hdrKey, "PGPASS": dsnPass}
	tests := []struct {
		name, doc string
	}{
		// yaml type errors quote the offending value.
		{"type error", "server:\n  read_timeout: \"${OPENAI_API_KEY}\"\n"},
		{"type error in int", "sim:\n  seed: \"${OPENAI_API_KEY}\"\n"},
		// Validation of fields that hold (or may hold) secrets.
		{"bad dsn", "database:\n  dsn: \"postgres://u:${PGPASS}@/x\"\n"},
		{"key with auth none", "providers:\n  - {name: a, type: openai, auth: none, base_url: \"http://x\", api_key: \"${OPENAI_API_KEY}\"}\n"},
		{"key in base_url", "providers:\n  - {name: a, type: openai, api_key: k, base_url: \"https://u:${OPENAI_API_KEY}@h\"}\n"},
		{"key in base_url query", "providers:\n  - {name: a, type: openai, api_key: k, base_url: \"https://h/?key=${OPENAI_API_KEY}\"}\n"},
		{"bad header value", "providers:\n  - {name: a, type: gemini, api_key: k, headers: {X-A: \"${HDR}\\n\"}}\n"},
		// A secret landing in a field whose value is echoed in messages.
		{"secret as type", "providers:\n  - {name: a, type: \"${OPENAI_API_KEY}\", api_key: k}\n"},
		{"secret as model provider", "models:\n  - {provider: \"${HDR}\", upstream_model: m, context_window: 1, price: {input: \"1\", output: \"1\"}}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc), env(vars))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			for _, secret := range []string{apiKey, hdrKey, dsnPass, apiKey[:7]} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error leaks a secret (%q): %v", secret, err)
				}
			}
		})
	}
}

func TestDatabaseDSN(t *testing.T) {
	tests := []struct {
		dsn, dataDir string
		wantDriver   string
		wantDSN      string
	}{
		{"", "./data", DriverSQLite, "data/octomesh.db"},
		{"", "/var/lib/octomesh/", DriverSQLite, "/var/lib/octomesh/octomesh.db"},
		{"postgres://u:p@h/db", "x", DriverPostgres, "postgres://u:p@h/db"},
		{"postgresql://h/db", "x", DriverPostgres, "postgresql://h/db"},
		{"/tmp/other.db", "x", DriverSQLite, "/tmp/other.db"},
	}
	for _, tt := range tests {
		c := Config{DataDir: tt.dataDir, Database: Database{DSN: octomesh.Secret(tt.dsn)}}
		driver, dsn := c.DatabaseDSN()
		if driver != tt.wantDriver || dsn.Reveal() != tt.wantDSN {
			t.Errorf("DatabaseDSN(%q, %q) = %q, %q; want %q, %q", tt.dsn, tt.dataDir, driver, dsn.Reveal(), tt.wantDriver, tt.wantDSN)
		}
	}
}

func TestLogSlogLevel(t *testing.T) {
	for level, want := range map[string]string{"debug": "DEBUG", "info": "INFO", "warn": "WARN", "error": "ERROR"} {
		if got := (Log{Level: level}).SlogLevel().String(); got != want {
			t.Errorf("SlogLevel(%q) = %s, want %s", level, got, want)
		}
	}
}

func TestModelDeployment(t *testing.T) {
	m := Model{
		Provider:        "openai",
		UpstreamModel:   "gpt-4o-mini",
		ContextWindow:   128000,
		MaxOutputTokens: 16384,
		Capabilities:    []string{"tools", "json_schema", "vision", "streaming", "embeddings"},
		Price:           Price{Input: "0.15", Output: "0.60", CachedInput: "0.075", PerRequest: "0.000000001"},
		Region:          "eastus",
	}
	got, err := m.Deployment()
	if err != nil {
		t.Fatal(err)
	}
	want := octomesh.Deployment{
		Name:            "openai/gpt-4o-mini",
		Provider:        "openai",
		UpstreamModel:   "gpt-4o-mini",
		ContextWindow:   128000,
		MaxOutputTokens: 16384,
		Capabilities:    octomesh.Capabilities{Tools: true, JSONSchema: true, Vision: true, Streaming: true, Embeddings: true},
		Price: octomesh.Price{
			InputPerMTok:       150_000_000,
			OutputPerMTok:      600_000_000,
			CachedInputPerMTok: 75_000_000,
			PerRequest:         1,
		},
		Region:  "eastus",
		OwnedBy: "openai",
		// No data policy configured: unknown, which routing treats as the worse value.
		DataPolicy: octomesh.DataPolicy{RetainsPrompts: octomesh.Unknown, TrainsOnData: octomesh.Unknown},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Deployment() mismatch (-want +got):\n%s", diff)
	}

	for _, bad := range []Model{
		{Provider: "p", UpstreamModel: "m", Price: Price{Input: "0.1e-3", Output: "1"}},
		{Provider: "p", UpstreamModel: "m", Price: Price{Input: "1", Output: "-1"}},
		{Provider: "p", UpstreamModel: "m", Capabilities: []string{"telepathy"}},
	} {
		if _, err := bad.Deployment(); err == nil {
			t.Errorf("Deployment(%+v) succeeded, want an error", bad)
		}
	}
}

func TestHeadersString(t *testing.T) {
	h := Headers{"B": "secret-b", "A": "secret-a"}
	if got, want := h.String(), "map[A:[REDACTED] B:[REDACTED]]"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := fmt.Sprintf("%#v", h); strings.Contains(got, "secret") {
		t.Errorf("%%#v = %q leaks a value", got)
	}
	if got := h.LogValue().String(); strings.Contains(got, "secret") {
		t.Errorf("LogValue() = %q leaks a value", got)
	}
}

// TestParseReportsEveryProblemByField: wrong types and unknown keys name
// the key's path like Validate's problems, come together with them, and
// never echo a value (it may be a secret).
func TestParseReportsEveryProblemByField(t *testing.T) {
	doc := "metering:\n  ledger_commit: later\n  ledger_apply_delay: 20\n  ledger_comit: journal\n" +
		"server:\n  read_timeout: sk-live-CANARY-123\n" +
		"log: {level: loud, format: [text]}\n"
	_, err := Parse([]byte(doc), nil)
	if err == nil {
		t.Fatal("accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		"metering.ledger_apply_delay (line 3): want a duration such as 20ms, 1.5s or 1h30m, got a number",
		"metering.ledger_comit (line 4): unknown setting",
		"server.read_timeout (line 6): want a duration",
		`metering.ledger_commit: "later" is not one of auto, database, journal`,
		`log.level: "loud" is not one of`,
		"log.format (line 7): want a string, got a list", // picked out of a flow mapping by its type
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "CANARY") || strings.Contains(msg, "time.Duration") || strings.Contains(msg, "config.") {
		t.Errorf("error echoes a value or a Go type:\n%s", msg)
	}
}
