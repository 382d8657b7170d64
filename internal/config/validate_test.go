package config

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// validConfig returns a valid configuration with one provider of each type
// and one model each, for validation tests to break one field at a time.
func validConfig() Config {
	c := Default()
	c.Providers = []Provider{
		{Name: "openai", Type: TypeOpenAI, APIKey: "sk-test"},
		{Name: "anthropic", Type: TypeAnthropic, APIKey: "sk-ant", DefaultMaxTokens: 4096},
		{Name: "gemini", Type: TypeGemini, APIKey: "g-key"},
	}
	c.Models = []Model{
		{Provider: "openai", UpstreamModel: "gpt-4o-mini", ContextWindow: 128000, MaxOutputTokens: 16384,
			Capabilities: []string{"tools", "streaming"}, Price: Price{Input: "0.15", Output: "0.60"}},
		{Name: "claude", Provider: "anthropic", UpstreamModel: "claude-sonnet-4-5", ContextWindow: 200000,
			Price: Price{Input: "3", Output: "15"}, Aliases: []string{"sonnet"}},
	}
	return c
}

func TestValidateAcceptsValid(t *testing.T) {
	c := validConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() = %v, want nil", err)
	}
}

func TestValidateRules(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // "field.path: message fragment"
	}{
		// server
		{"listen empty", func(c *Config) { c.Server.Listen = "" }, "server.listen: must be host:port"},
		{"listen no port", func(c *Config) { c.Server.Listen = "localhost" }, "server.listen: must be host:port"},
		{"listen bad port", func(c *Config) { c.Server.Listen = "127.0.0.1:http" }, "server.listen: must be host:port"},
		{"listen port range", func(c *Config) { c.Server.Listen = ":70000" }, "server.listen: must be host:port"},
		{"max body zero", func(c *Config) { c.Server.MaxBodyBytes = 0 }, "server.max_body_bytes: must be positive"},
		{"gc headroom negative", func(c *Config) { c.Server.GCHeadroom = -1 }, "server.gc_headroom: must be 0 (Go's default) or positive"},
		{"read header timeout zero", func(c *Config) { c.Server.ReadHeaderTimeout = 0 }, "server.read_header_timeout: must be positive"},
		{"read timeout negative", func(c *Config) { c.Server.ReadTimeout = -time.Second }, "server.read_timeout: must not be negative"},
		{"write timeout negative", func(c *Config) { c.Server.WriteTimeout = -1 }, "server.write_timeout: must not be negative"},
		{"idle timeout negative", func(c *Config) { c.Server.IdleTimeout = -1 }, "server.idle_timeout: must not be negative"},
		{"shutdown timeout negative", func(c *Config) { c.Server.ShutdownTimeout = -1 }, "server.shutdown_timeout: must not be negative"},
		{"upstream timeout negative", func(c *Config) { c.Server.UpstreamTimeout = -1 }, "server.upstream_timeout: must not be negative"},
		{"forward header invalid", func(c *Config) { c.Server.AllowedForwardHeaders = []string{"x-ok", "bad header"} },
			`server.allowed_forward_headers[1]: "bad header" is not a valid HTTP header name`},
		{"forward authorization", func(c *Config) { c.Server.AllowedForwardHeaders = []string{"Authorization"} },
			`server.allowed_forward_headers[0]: "Authorization" may not be forwarded`},
		{"forward cookie", func(c *Config) { c.Server.AllowedForwardHeaders = []string{"cookie"} },
			`server.allowed_forward_headers[0]: "cookie" may not be forwarded`},
		{"forward duplicate", func(c *Config) { c.Server.AllowedForwardHeaders = []string{"X-A", "x-a"} },
			`server.allowed_forward_headers[1]: "x-a" is listed twice`},
		// top level
		{"data dir", func(c *Config) { c.DataDir = " " }, "data_dir: required"},
		{"bad postgres dsn", func(c *Config) { c.Database.DSN = "postgres://" }, "database.dsn: not a valid PostgreSQL URL"},
		{"log level", func(c *Config) { c.Log.Level = "verbose" }, `log.level: "verbose" is not one of`},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, `log.format: "xml" is not one of text, json`},
		{"server engine", func(c *Config) { c.Server.Engine = "fasthttp" }, `server.engine: "fasthttp" is not one of octomesh, net/http`},
		{"log flush interval negative", func(c *Config) { c.Log.FlushInterval = -time.Second }, "log.flush_interval: must be between 0 (write each line at once) and 10s"},
		{"log flush interval too long", func(c *Config) { c.Log.FlushInterval = time.Minute }, "log.flush_interval: must be between 0 (write each line at once) and 10s"},
		{"sim speed negative", func(c *Config) { c.Sim.Speed = -1 }, "sim.speed: must be 0 (instant) or a positive number"},
		{"sim speed NaN", func(c *Config) { c.Sim.Speed = math.NaN() }, "sim.speed: must be 0 (instant) or a positive number"},
		{"sim speed Inf", func(c *Config) { c.Sim.Speed = math.Inf(1) }, "sim.speed: must be 0 (instant) or a positive number"},
		{"sim failure scale", func(c *Config) { c.Sim.FailureScale = -0.5 }, "sim.failure_scale: must be zero or a positive number"},
		// providers
		{"provider name missing", func(c *Config) { c.Providers[1].Name = "" }, "providers[1].name: required"},
		{"provider name chars", func(c *Config) { c.Providers[1].Name = "Open AI" }, `providers[1].name: "Open AI" must be 1 to 64 of`},
		{"provider name duplicate", func(c *Config) { c.Providers[2].Name = "openai"; c.Models = nil }, `providers[2].name: "openai" is used by another provider`},
		{"provider name sim", func(c *Config) { c.Providers[0].Name = "sim"; c.Models = nil }, `providers[0].name: "sim" is reserved`},
		{"provider type", func(c *Config) { c.Providers[0].Type = "azure" }, `providers[0].type: "azure" is not one of openai, anthropic, gemini`},
		{"base_url scheme", func(c *Config) { c.Providers[1].BaseURL = "ftp://x" }, "providers[1].base_url: must be an http or https URL"},
		{"base_url relative", func(c *Config) { c.Providers[1].BaseURL = "api.openai.com/v1" }, "providers[1].base_url: must be an http or https URL"},
		{"base_url no host", func(c *Config) { c.Providers[1].BaseURL = "https:///v1" }, "providers[1].base_url: must be an http or https URL with a host"},
		{"base_url userinfo", func(c *Config) { c.Providers[1].BaseURL = "https://u:p@h/v1" }, "providers[1].base_url: must not contain user:password"},
		{"base_url query", func(c *Config) { c.Providers[2].BaseURL = "https://h/v1?key=x" }, "providers[2].base_url: must not contain a query"},
		{"base_url empty query", func(c *Config) { c.Providers[2].BaseURL = "https://h/v1?" }, "providers[2].base_url: must not contain a query"},
		{"base_url fragment", func(c *Config) { c.Providers[2].BaseURL = "https://h/v1#x" }, "providers[2].base_url: must not contain a fragment"},
		{"base_url port", func(c *Config) { c.Providers[2].BaseURL = "https://h:99999/v1" }, "providers[2].base_url: has an invalid port"},
		{"api key missing openai", func(c *Config) { c.Providers[0].APIKey = "" }, "providers[0].api_key: required (or auth: none"},
		{"api key missing anthropic", func(c *Config) { c.Providers[1].APIKey = "" }, "providers[1].api_key: required"},
		{"api key missing gemini", func(c *Config) { c.Providers[2].APIKey = "" }, "providers[2].api_key: required"},
		{"api key with auth none", func(c *Config) { c.Providers[0].Auth = AuthNone }, "providers[0].api_key: set, but auth is none"},
		{"api key control char", func(c *Config) { c.Providers[0].APIKey = "k\n" }, "providers[0].api_key: contains a control character"},
		{"auth unknown", func(c *Config) { c.Providers[0].Auth = "basic" }, `providers[0].auth: "basic" is not one of bearer, api-key, none`},
		{"auth on anthropic", func(c *Config) { c.Providers[1].Auth = AuthBearer }, "providers[1].auth: only the openai type takes auth"},
		{"api_version on gemini", func(c *Config) { c.Providers[2].APIVersion = "v1" }, "providers[2].api_version: only the openai type"},
		{"api_version needs base_url", func(c *Config) { c.Providers[0].APIVersion = "2024-10-21" }, "providers[0].base_url: required with api_version"},
		{"api_version format", func(c *Config) {
			c.Providers[0].APIVersion = "2024 10"
			c.Providers[0].BaseURL = "https://r.openai.azure.com"
		}, `providers[0].api_version: "2024 10" is not a valid API version`},
		{"header name", func(c *Config) { c.Providers[0].Headers = Headers{"X Bad": "v"} }, `providers[0].headers["X Bad"]: not a valid HTTP header name`},
		{"header owned by client", func(c *Config) { c.Providers[0].Headers = Headers{"Content-Length": "1"} }, `providers[0].headers["Content-Length"]: set by the HTTP client`},
		{"header value", func(c *Config) { c.Providers[0].Headers = Headers{"X-A": "a\r\nb"} }, `providers[0].headers["X-A"]: the value contains a control character`},
		{"quirks on anthropic", func(c *Config) { c.Providers[1].Quirks = []string{"x"} }, "providers[1].quirks: only the openai type takes quirks"},
		{"quirk name", func(c *Config) { c.Providers[0].Quirks = []string{"No Stream"} }, `providers[0].quirks[0]: "No Stream" must be a quirk name`},
		{"quirk duplicate", func(c *Config) { c.Providers[0].Quirks = []string{"a", "a"} }, `providers[0].quirks[1]: "a" is listed twice`},
		{"default_max_tokens negative", func(c *Config) { c.Providers[1].DefaultMaxTokens = -1 }, "providers[1].default_max_tokens: must not be negative"},
		{"default_max_tokens on openai", func(c *Config) { c.Providers[0].DefaultMaxTokens = 10 }, "providers[0].default_max_tokens: only the anthropic type"},
		// models
		{"model provider missing", func(c *Config) { c.Models[0].Provider = "" }, "models[0].provider: required"},
		{"model provider unknown", func(c *Config) { c.Models[0].Provider = "foo" }, `models[0].provider: "foo" is not a configured provider`},
		{"model provider sim", func(c *Config) { c.Models[0].Provider = "sim" }, `models[0].provider: "sim" is not a configured provider`},
		{"upstream model missing", func(c *Config) { c.Models[1].UpstreamModel = "" }, "models[1].upstream_model: required"},
		{"upstream model blank", func(c *Config) { c.Models[1].UpstreamModel = "gpt 4" }, "models[1].upstream_model: must not contain blanks"},
		{"model name blank", func(c *Config) { c.Models[1].Name = "my model" }, "models[1].name: must be 1 to 256 characters"},
		{"model name auto", func(c *Config) { c.Models[1].Name = "auto" }, `models[1].name: "auto" is reserved`},
		{"model name duplicate", func(c *Config) { c.Models[1].Name = "openai/gpt-4o-mini" },
			`models[1].name: "openai/gpt-4o-mini" is already the name or an alias of models[0]`},
		{"default name duplicate", func(c *Config) { c.Models[1] = c.Models[0] },
			`models[1].name (default "openai/gpt-4o-mini"): "openai/gpt-4o-mini" is already the name or an alias of models[0]`},
		{"alias clashes with name", func(c *Config) { c.Models[1].Aliases = []string{"openai/gpt-4o-mini"} },
			`models[1].aliases[0]: "openai/gpt-4o-mini" is already the name or an alias of models[0]`},
		{"alias clashes with own name", func(c *Config) { c.Models[1].Aliases = []string{"claude"} },
			`models[1].aliases[0]: "claude" is listed twice for this model`},
		{"alias clashes with later name", func(c *Config) { c.Models[0].Aliases = []string{"claude"} },
			`models[1].name: "claude" is already the name or an alias of models[0]`},
		{"alias blank", func(c *Config) { c.Models[1].Aliases = []string{""} }, "models[1].aliases[0]: must be 1 to 256 characters"},
		{"context window", func(c *Config) { c.Models[0].ContextWindow = 0 }, "models[0].context_window: required"},
		{"max output negative", func(c *Config) { c.Models[0].MaxOutputTokens = -1 }, "models[0].max_output_tokens: must not be negative"},
		{"max output over window", func(c *Config) { c.Models[0].MaxOutputTokens = 200000 }, "models[0].max_output_tokens: exceeds context_window"},
		{"capability unknown", func(c *Config) { c.Models[0].Capabilities = []string{"tools", "audio"} }, `models[0].capabilities[1]: "audio" is not one of tools, json_schema`},
		{"capability duplicate", func(c *Config) { c.Models[0].Capabilities = []string{"tools", "tools"} }, `models[0].capabilities[1]: "tools" is listed twice`},
		{"price input missing", func(c *Config) { c.Models[0].Price.Input = "" }, "models[0].price.input: required"},
		{"price output missing", func(c *Config) { c.Models[0].Price.Output = "" }, "models[0].price.output: required"},
		{"price float syntax", func(c *Config) { c.Models[0].Price.Input = "1.5e-7" }, `models[0].price.input: "1.5e-7" is not a decimal USD amount`},
		{"price too precise", func(c *Config) { c.Models[0].Price.Output = "0.0000000001" }, `models[0].price.output: "0.0000000001" is not a decimal USD amount`},
		{"price negative", func(c *Config) { c.Models[1].Price.CachedInput = "-0.1" }, "models[1].price.cached_input: must not be negative"},
		{"price per request", func(c *Config) { c.Models[1].Price.PerRequest = "one cent" }, `models[1].price.per_request: "one cent" is not a decimal`},
		{"region", func(c *Config) { c.Models[0].Region = "us east" }, "models[0].region: must be a region name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(&c)
			err := c.Validate()
			if err == nil {
				t.Fatalf("Validate() = nil, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v\nwant an error containing %q", err, tt.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Errorf("Validate() error is not a *FieldError with a field: %v", err)
			}
		})
	}
}

func TestValidateReportsAllProblems(t *testing.T) {
	c := validConfig()
	c.Server.Listen = "nope"
	c.Log.Level = "loud"
	c.Providers[1].BaseURL = "ftp://x"
	c.Models[0].Provider = "foo"
	c.Models[1].ContextWindow = 0
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate() = nil, want errors")
	}
	want := []string{
		"server.listen: must be host:port",
		`log.level: "loud" is not one of`,
		"providers[1].base_url: must be an http or https URL",
		`models[0].provider: "foo" is not a configured provider`,
		"models[1].context_window: required",
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("Validate() gave %d problems, want %d:\n%v", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("problem %d = %q, want prefix %q", i, lines[i], w)
		}
	}
}

func TestValidateAcceptsVariants(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"listen all interfaces", func(c *Config) { c.Server.Listen = ":8080" }},
		{"listen ipv6", func(c *Config) { c.Server.Listen = "[::1]:0" }},
		{"no timeouts", func(c *Config) {
			c.Server.ReadTimeout, c.Server.WriteTimeout, c.Server.IdleTimeout, c.Server.ShutdownTimeout, c.Server.UpstreamTimeout = 0, 0, 0, 0, 0
		}},
		{"forward headers", func(c *Config) { c.Server.AllowedForwardHeaders = []string{"anthropic-beta", "X-Request-Id"} }},
		{"postgres", func(c *Config) { c.Database.DSN = "postgres://u:p@db:5432/octo?sslmode=require" }},
		{"sqlite path", func(c *Config) { c.Database.DSN = "/var/lib/octomesh/db.sqlite" }},
		{"local server without key", func(c *Config) {
			c.Providers[0] = Provider{Name: "openai", Type: TypeOpenAI, Auth: AuthNone, BaseURL: "http://127.0.0.1:11434/v1"}
		}},
		{"azure", func(c *Config) {
			c.Providers[0] = Provider{Name: "openai", Type: TypeOpenAI, Auth: AuthAPIKey, APIKey: "k",
				APIVersion: "2024-10-21", BaseURL: "https://r.openai.azure.com"}
		}},
		{"headers and quirks", func(c *Config) {
			c.Providers[0].Headers = Headers{"HTTP-Referer": "https://x", "X-Title": "T"}
			c.Providers[0].Quirks = []string{"max_tokens_only"}
		}},
		{"free model", func(c *Config) { c.Models[0].Price = Price{Input: "0", Output: "0"} }},
		{"all prices", func(c *Config) {
			c.Models[0].Price = Price{Input: "$0.15", Output: "0.6", CachedInput: ".075", PerRequest: "0.000000001"}
		}},
		{"sim disabled, failure scale", func(c *Config) { c.Sim.Enabled = false; c.Sim.FailureScale = 2 }},
		{"unknown max output", func(c *Config) { c.Models[0].MaxOutputTokens = 0 }},
		{"region", func(c *Config) { c.Models[0].Region = "eu-west-1" }},
		{"no providers or models", func(c *Config) { c.Providers, c.Models = nil, nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(&c)
			if err := c.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}
