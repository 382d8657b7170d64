// Package config is OctoMesh's typed configuration: the Config struct, its
// embedded defaults, loading from YAML and validation.
//
// Lifecycle: Load (or Parse) reads a YAML document, expands ${VAR} references
// once over the raw text, decodes it on top of Default() so that omitted
// settings keep their defaults, rejects unknown keys, fills per-entry defaults
// (model names, provider auth, Anthropic's default max_tokens) and calls
// Validate, which reports every problem at once, each prefixed with the path
// of the offending field ("providers[1].base_url: ...").
//
// The file /octomesh.example.yaml at the repository root documents every
// option; tests keep it complete and parseable.
//
// Secrets (provider API keys, the database DSN, extra header values) never
// appear in error messages or in fmt output of a Config: they are
// octomesh.Secret or Headers values, which redact themselves.
package config

import (
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/octomesh/octomesh"
)

// Config is the whole OctoMesh configuration.
type Config struct {
	Server    Server     `yaml:"server"`
	DataDir   string     `yaml:"data_dir"` // default "./octomesh-data"
	Database  Database   `yaml:"database"`
	Log       Log        `yaml:"log"`
	Sim       Sim        `yaml:"sim"`
	Providers []Provider `yaml:"providers"`
	Models    []Model    `yaml:"models"`
	Routing   Routing    `yaml:"routing"`
	Privacy   Privacy    `yaml:"privacy"`
	Metering  Metering   `yaml:"metering"`
	Billing   Billing    `yaml:"billing"`
}

// Server configures the HTTP listener and the bounds on each request.
type Server struct {
	// Listen is the TCP address to serve on, host:port. Default "127.0.0.1:8080".
	Listen string `yaml:"listen"`
	// MaxBodyBytes bounds a request body. Default 10 MiB.
	MaxBodyBytes ByteSize `yaml:"max_body_bytes"`
	// ReadHeaderTimeout bounds reading request headers. Default 10s; must be
	// positive (it is the defence against slow-header clients).
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request, body included. Default 60s; 0 = none.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds writing a response. Default 0 = none, because a
	// streamed completion may legitimately run for minutes; UpstreamTimeout
	// bounds those instead.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// IdleTimeout bounds how long a keep-alive connection waits for the next
	// request. Default 120s; 0 = none.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// ShutdownTimeout is how long a graceful shutdown waits for in-flight
	// requests. Default 30s; 0 = close at once.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// UpstreamTimeout is the total bound on one upstream call, streams
	// included. Default 10m; 0 = none.
	UpstreamTimeout time.Duration `yaml:"upstream_timeout"`
	// AllowedForwardHeaders lists inbound request headers that may be
	// forwarded to upstream providers. Default none. Credential, hop-by-hop
	// and framing headers (Authorization, Cookie, Host, …) are refused.
	AllowedForwardHeaders []string `yaml:"allowed_forward_headers"`
	// Engine is the inbound HTTP/1.1 server: "octomesh" (default; the
	// gateway's own, internal/h1server, which costs less per request) or
	// "net/http" (Go's standard server).
	Engine string `yaml:"engine"`
	// GCHeadroom bounds how far the Go heap may grow past what the last
	// collection found live (live heap, stacks and globals) before the
	// next one (internal/gctune): with Go's default the heap grows to
	// twice its live size, which doubles what each of thousands of
	// waiting streams costs. GOGC stays between 25 and 100, so past a
	// base of 32 MiB the headroom is a quarter of the base instead.
	// Default 8MiB (16 MiB until the harness could see where a stream's
	// memory goes: at 2,000 streams 8 MiB saved about 2 KB a stream);
	// 0 = Go's default (GOGC=100). Ignored when GOGC or
	// GOMEMLIMIT is set in the environment: whoever set those has taken
	// control.
	GCHeadroom ByteSize `yaml:"gc_headroom"`
}

// Database selects the store.
type Database struct {
	// DSN is "" for an embedded SQLite file <data_dir>/octomesh.db, a
	// postgres:// or postgresql:// URL for PostgreSQL, or any other value as
	// the path (or file: URI) of a SQLite database. It is a Secret because a
	// PostgreSQL URL usually carries a password.
	DSN octomesh.Secret `yaml:"dsn"`
}

// Database drivers returned by Config.DatabaseDSN.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Log configures the structured logger.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error; default info
	Format string `yaml:"format"` // text | json; default text
	// FlushInterval batches log lines: they reach the log at most this long
	// after they are logged, many per write, and request lines are
	// formatted then rather than on the request's goroutine (default
	// 100ms; 0 formats and writes each line at once, which costs one
	// system call per request).
	FlushInterval time.Duration `yaml:"flush_interval"`
}

// SlogLevel returns the level as a slog.Level; unknown levels give Info.
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Sim configures the built-in simulated fleet.
type Sim struct {
	// Enabled serves the simulated models (provider "sim"). Default true.
	Enabled bool `yaml:"enabled"`
	// Seed makes the simulation reproducible. Default 1.
	Seed int64 `yaml:"seed"`
	// Speed multiplies simulated throughput: 2 answers twice as fast. 0 means
	// instant: no simulated latency at all (tests). Default 1.
	Speed float64 `yaml:"speed"`
	// FailureScale multiplies each simulated model's failure rates: 0 (the
	// default) never fails, 1 fails at the realistic rates.
	FailureScale float64 `yaml:"failure_scale"`
	// AllowFaultHints lets a request ask a simulated model for a specific
	// failure (for tests and demos). Default false; keep it off in production.
	AllowFaultHints bool `yaml:"allow_fault_hints"`
}

// SimProviderName is the provider instance ID of the simulated fleet; no
// configured provider may use it.
const SimProviderName = "sim"

// Provider types.
const (
	TypeOpenAI    = "openai"
	TypeAnthropic = "anthropic"
	TypeGemini    = "gemini"
)

// Auth schemes of the openai provider type.
const (
	AuthBearer = "bearer"  // Authorization: Bearer <key> (OpenAI, Groq, OpenRouter, …)
	AuthAPIKey = "api-key" // api-key: <key> (Azure OpenAI)
	AuthNone   = "none"    // no credentials (a local server)
)

// DefaultAnthropicMaxTokens is max_tokens for Anthropic requests that set none.
const DefaultAnthropicMaxTokens = 4096

// Provider is one upstream provider instance.
type Provider struct {
	// Name is the instance ID, unique, [a-z0-9_-]+; models refer to it.
	Name string `yaml:"name"`
	// Type is the wire format: openai | anthropic | gemini.
	Type string `yaml:"type"`
	// BaseURL overrides the provider's official endpoint: an http(s) URL with
	// a host and no userinfo, query or fragment. Required for Azure OpenAI
	// (the resource endpoint, https://<resource>.openai.azure.com).
	BaseURL string `yaml:"base_url"`
	// APIKey is the credential, usually "${OPENAI_API_KEY}".
	APIKey octomesh.Secret `yaml:"api_key"`
	// Auth is how the openai type sends the key: bearer | api-key | none.
	// Default api-key when APIVersion is set (Azure), else bearer.
	Auth string `yaml:"auth"`
	// APIVersion is Azure OpenAI's api-version query parameter (openai type only).
	APIVersion string `yaml:"api_version"`
	// Headers are extra headers sent on every upstream request.
	Headers Headers `yaml:"headers"`
	// Quirks switch on compatibility behaviours of the openai adapter for
	// servers that deviate from OpenAI's API (openai type only).
	Quirks []string `yaml:"quirks"`
	// DefaultMaxTokens is max_tokens for requests that set none (anthropic
	// type only; Anthropic requires it). Default 4096.
	DefaultMaxTokens int `yaml:"default_max_tokens"`
}

// Model is one deployment: a public model name served by a configured
// provider under an upstream model name.
type Model struct {
	// Name is the public model name. Default "<provider>/<upstream_model>".
	Name string `yaml:"name"`
	// Provider names a configured provider.
	Provider string `yaml:"provider"`
	// UpstreamModel is the model name the provider knows (for Azure, the
	// deployment name). Required.
	UpstreamModel string `yaml:"upstream_model"`
	// ContextWindow is the model's context window in tokens. Required.
	ContextWindow int `yaml:"context_window"`
	// MaxOutputTokens is the most tokens one answer may have; 0 = unknown.
	MaxOutputTokens int `yaml:"max_output_tokens"`
	// Capabilities: tools, json_schema, vision, streaming, embeddings.
	Capabilities []string `yaml:"capabilities"`
	// Price is the deployment's price list.
	Price Price `yaml:"price"`
	// PriceChanges are dated price lists: each applies to requests from
	// its effective date (UTC) on, so usage before a change stays priced
	// as it was. Sorted by date; Price applies before the first.
	PriceChanges []PriceChange `yaml:"price_changes"`
	// Region is where the deployment runs, for data-residency policies.
	Region string `yaml:"region"`
	// Aliases are extra public names for the deployment.
	Aliases []string `yaml:"aliases"`
	// DataPolicy is what the provider does with prompts for this model;
	// unknown counts as the worse value when a request demands zero
	// retention or no training.
	DataPolicy DataPolicy `yaml:"data_policy"`
	// Groups are the model groups this model serves (e.g. "fast"); a request
	// naming a group is load-balanced and failed over across its members.
	Groups []string `yaml:"groups"`
	// Weight is the model's load-balancing weight in its groups. Default 1.
	Weight int `yaml:"weight"`
}

// Price is a price list as decimal US dollar strings, parsed exactly (never
// through a float) by octomesh.ParseMoney. Token prices are per million
// tokens; PerRequest is a flat fee per request.
type Price struct {
	Input       string `yaml:"input"`        // required, e.g. "0.15"
	Output      string `yaml:"output"`       // required, e.g. "0.60"
	CachedInput string `yaml:"cached_input"` // optional; "" = charged at Input
	PerRequest  string `yaml:"per_request"`  // optional; "" = 0
}

// PriceChange is a price list in effect from a date on.
type PriceChange struct {
	// Effective is a date (2026-12-01, midnight UTC) or an RFC 3339 time.
	Effective string `yaml:"effective"`
	Price     Price  `yaml:"price"`
}

// Privacy holds the deployment-wide privacy switches.
type Privacy struct {
	// StoreContent allows prompts and outputs to be written to disk (sealed,
	// and only for organisations that opt in). Default false: content is
	// never written to disk.
	StoreContent bool `yaml:"store_content"`
}

// Headers is a set of extra HTTP headers. Values may hold credentials (a
// gateway token, say), so String, GoString and LogValue redact them.
type Headers map[string]string

// String lists the header names with redacted values, in sorted order.
func (h Headers) String() string {
	if h == nil {
		return "map[]"
	}
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("map[")
	for i, k := range names {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteString(":[REDACTED]")
	}
	b.WriteByte(']')
	return b.String()
}

// GoString redacts values for %#v.
func (h Headers) GoString() string { return "config.Headers" + h.String() }

// LogValue redacts values in structured logs.
func (h Headers) LogValue() slog.Value { return slog.StringValue(h.String()) }

// Default returns the embedded defaults: what `octomesh serve` runs with and
// no config file: loopback listener, SQLite in ./octomesh-data, the simulated
// fleet, no real providers, content never stored.
func Default() Config {
	return Config{
		Server: Server{
			Listen:            "127.0.0.1:8080",
			MaxBodyBytes:      10 * MiB,
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
		Sim:     Sim{Enabled: true, Seed: 1, Speed: 1.0},
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
		Metering: Metering{Counters: "memory", RedisPrefix: "octomesh:", ReservationTTL: 15 * time.Minute, SpoolMaxBytes: 64 * MiB,
			LedgerCommit: "auto", LedgerApplyDelay: 20 * time.Millisecond},
		Billing: Billing{TaxRate: "0", Currency: "USD", Stripe: Stripe{DaysUntilDue: 30}},
	}
}

// DatabaseDSN resolves the database setting: the driver (DriverSQLite or
// DriverPostgres) and the DSN to open, <data_dir>/octomesh.db when none is set.
func (c *Config) DatabaseDSN() (driver string, dsn octomesh.Secret) {
	raw := c.Database.DSN.Reveal()
	switch {
	case raw == "":
		return DriverSQLite, octomesh.Secret(filepath.Join(c.DataDir, "octomesh.db"))
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		return DriverPostgres, c.Database.DSN
	}
	return DriverSQLite, c.Database.DSN
}
