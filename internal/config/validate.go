package config

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/octomesh/octomesh"
)

// FieldError is one validation problem: the path of the field, in YAML key
// syntax ("providers[1].base_url"), and what is wrong with it.
type FieldError struct {
	Field   string
	Message string
}

// Error implements error.
func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// problems collects FieldErrors.
type problems []error

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Validate checks the whole configuration and returns every problem found,
// joined (errors.Join), each a *FieldError naming the field path, or nil.
// Messages never contain secrets: API keys, the database DSN, header values
// and URLs are not echoed.
func (c *Config) Validate() error {
	var p problems
	c.Server.validate(&p)
	if strings.TrimSpace(c.DataDir) == "" {
		p.add("data_dir", "required")
	}
	validateDSN(&p, c.Database.DSN)
	if !oneOf(c.Log.Level, "debug", "info", "warn", "error") {
		p.add("log.level", "%s is not one of debug, info, warn, error", quoted(c.Log.Level))
	}
	if !oneOf(c.Log.Format, "text", "json") {
		p.add("log.format", "%s is not one of text, json", quoted(c.Log.Format))
	}
	if c.Log.FlushInterval < 0 || c.Log.FlushInterval > 10*time.Second {
		p.add("log.flush_interval", "must be between 0 (write each line at once) and 10s")
	}
	if !(c.Sim.Speed >= 0) || math.IsInf(c.Sim.Speed, 0) {
		p.add("sim.speed", "must be 0 (instant) or a positive number")
	}
	if !(c.Sim.FailureScale >= 0) || math.IsInf(c.Sim.FailureScale, 0) {
		p.add("sim.failure_scale", "must be zero or a positive number")
	}
	providers := make(map[string]bool, len(c.Providers))
	for i := range c.Providers {
		pr := &c.Providers[i]
		pr.validate(&p, fmt.Sprintf("providers[%d]", i))
		if pr.Name != "" {
			if providers[pr.Name] {
				p.add(fmt.Sprintf("providers[%d].name", i), "%s is used by another provider", quoted(pr.Name))
			}
			providers[pr.Name] = true
		}
	}
	names := make(map[string]string) // public name or alias -> where it was defined
	for i := range c.Models {
		c.Models[i].validate(&p, fmt.Sprintf("models[%d]", i), providers, names)
		c.Models[i].DataPolicy.validate(&p, fmt.Sprintf("models[%d].data_policy", i))
		if c.Models[i].Weight < 0 {
			p.add(fmt.Sprintf("models[%d].weight", i), "must not be negative")
		}
	}
	c.Routing.validate(&p, nil)
	c.Metering.validate(&p, c.Server.UpstreamTimeout)
	c.Billing.validate(&p)
	return errors.Join(p...)
}

func (s *Server) validate(p *problems) {
	if host, port, err := net.SplitHostPort(s.Listen); err != nil || !validPort(port) || strings.ContainsAny(host, " /") {
		p.add("server.listen", "must be host:port with a numeric port, e.g. 127.0.0.1:8080 or :8080")
	}
	if s.MaxBodyBytes <= 0 {
		p.add("server.max_body_bytes", "must be positive")
	}
	if s.ReadHeaderTimeout <= 0 {
		p.add("server.read_header_timeout", "must be positive")
	}
	if s.GCHeadroom < 0 {
		p.add("server.gc_headroom", "must be 0 (Go's default) or positive")
	}
	if !oneOf(s.Engine, "octomesh", "net/http") {
		p.add("server.engine", "%s is not one of octomesh, net/http", quoted(s.Engine))
	}
	for _, d := range []struct {
		name string
		v    int64
	}{
		{"read_timeout", int64(s.ReadTimeout)},
		{"write_timeout", int64(s.WriteTimeout)},
		{"idle_timeout", int64(s.IdleTimeout)},
		{"shutdown_timeout", int64(s.ShutdownTimeout)},
		{"upstream_timeout", int64(s.UpstreamTimeout)},
	} {
		if d.v < 0 {
			p.add("server."+d.name, "must not be negative (0 means no limit)")
		}
	}
	seen := make(map[string]bool)
	for i, h := range s.AllowedForwardHeaders {
		field := fmt.Sprintf("server.allowed_forward_headers[%d]", i)
		lower := strings.ToLower(h)
		switch {
		case !validHeaderName(h):
			p.add(field, "%s is not a valid HTTP header name", quoted(h))
		case forbiddenForward[lower]:
			p.add(field, "%s may not be forwarded upstream (credential, hop-by-hop or framing header)", quoted(h))
		case seen[lower]:
			p.add(field, "%s is listed twice", quoted(h))
		}
		seen[lower] = true
	}
}

// forbiddenForward are inbound headers never forwarded upstream: the
// client's credentials for OctoMesh (which a provider must never see),
// cookies, and headers the HTTP client sets itself.
var forbiddenForward = map[string]bool{
	"authorization": true, "proxy-authorization": true, "x-api-key": true, "api-key": true,
	"x-goog-api-key": true, "cookie": true, "set-cookie": true,
	"host": true, "content-length": true, "content-type": true, "content-encoding": true,
	"transfer-encoding": true, "connection": true, "keep-alive": true, "proxy-connection": true,
	"te": true, "trailer": true, "upgrade": true, "accept-encoding": true, "expect": true,
}

// forbiddenProviderHeader are headers the HTTP client owns.
var forbiddenProviderHeader = map[string]bool{
	"host": true, "content-length": true, "content-type": true, "transfer-encoding": true,
	"connection": true, "keep-alive": true, "proxy-connection": true, "te": true,
	"trailer": true, "upgrade": true,
}

func validateDSN(p *problems, dsn octomesh.Secret) {
	raw := dsn.Reveal()
	if raw == "" {
		return
	}
	if strings.HasPrefix(raw, "postgres://") || strings.HasPrefix(raw, "postgresql://") {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			// The DSN may hold a password: describe the problem, not the value.
			p.add("database.dsn", "not a valid PostgreSQL URL (want postgres://user:password@host:5432/dbname)")
		}
		return
	}
	if strings.ContainsAny(raw, "\x00\n\r") {
		p.add("database.dsn", "not a valid SQLite file path")
	}
}

func (pr *Provider) validate(p *problems, at string) {
	switch {
	case pr.Name == "":
		p.add(at+".name", "required")
	case len(pr.Name) > 64 || !isIdent(pr.Name, "-_"):
		p.add(at+".name", "%s must be 1 to 64 of a-z, 0-9, _ and -", quoted(pr.Name))
	case pr.Name == SimProviderName:
		p.add(at+".name", "%q is reserved for the built-in simulated fleet", SimProviderName)
	}
	if !oneOf(pr.Type, TypeOpenAI, TypeAnthropic, TypeGemini) {
		p.add(at+".type", "%s is not one of openai, anthropic, gemini", quoted(pr.Type))
	}
	if pr.BaseURL != "" {
		if msg := checkBaseURL(pr.BaseURL); msg != "" {
			p.add(at+".base_url", "%s", msg)
		}
	}
	openai := pr.Type == TypeOpenAI
	if pr.Auth != "" && !openai {
		p.add(at+".auth", "only the openai type takes auth")
	} else if openai && !oneOf(pr.Auth, "", AuthBearer, AuthAPIKey, AuthNone) {
		p.add(at+".auth", "%s is not one of bearer, api-key, none", quoted(pr.Auth))
	}
	switch {
	case openai && pr.Auth == AuthNone:
		if pr.APIKey != "" {
			p.add(at+".api_key", "set, but auth is none: remove the key or change auth")
		}
	case pr.APIKey == "" && openai:
		p.add(at+".api_key", "required (or auth: none for a server without credentials)")
	case pr.APIKey == "" && oneOf(pr.Type, TypeAnthropic, TypeGemini):
		p.add(at+".api_key", "required")
	case strings.ContainsAny(pr.APIKey.Reveal(), "\x00\r\n"):
		p.add(at+".api_key", "contains a control character")
	}
	if pr.APIVersion != "" {
		switch {
		case !openai:
			p.add(at+".api_version", "only the openai type (Azure OpenAI) takes api_version")
		case !isIdent(strings.ToLower(pr.APIVersion), "-_."):
			p.add(at+".api_version", "%s is not a valid API version, e.g. 2024-10-21", quoted(pr.APIVersion))
		}
		if openai && pr.BaseURL == "" {
			p.add(at+".base_url", "required with api_version: the Azure OpenAI resource endpoint, e.g. https://my-resource.openai.azure.com")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(pr.Headers)) {
		field := fmt.Sprintf("%s.headers[%s]", at, quoted(name))
		switch {
		case !validHeaderName(name):
			p.add(field, "not a valid HTTP header name")
		case forbiddenProviderHeader[strings.ToLower(name)]:
			p.add(field, "set by the HTTP client itself; it cannot be configured")
		case strings.ContainsAny(pr.Headers[name], "\x00\r\n"):
			p.add(field, "the value contains a control character")
		}
	}
	if len(pr.Quirks) > 0 && !openai {
		p.add(at+".quirks", "only the openai type takes quirks")
	}
	seen := make(map[string]bool)
	for i, q := range pr.Quirks {
		field := fmt.Sprintf("%s.quirks[%d]", at, i)
		switch {
		case q == "" || len(q) > 64 || !isIdent(q, "_-"):
			p.add(field, "%s must be a quirk name of a-z, 0-9, _ and -", quoted(q))
		case seen[q]:
			p.add(field, "%s is listed twice", quoted(q))
		}
		seen[q] = true
	}
	switch {
	case pr.DefaultMaxTokens < 0:
		p.add(at+".default_max_tokens", "must not be negative")
	case pr.DefaultMaxTokens != 0 && pr.Type != TypeAnthropic:
		p.add(at+".default_max_tokens", "only the anthropic type takes default_max_tokens")
	}
}

// checkBaseURL returns what is wrong with a provider base URL, or "". The
// URL itself is never echoed: a malformed one may carry credentials.
func checkBaseURL(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https"):
		return "must be an http or https URL"
	case u.Host == "" || u.Hostname() == "":
		return "must be an http or https URL with a host"
	case u.User != nil:
		return "must not contain user:password (put credentials in api_key or headers)"
	case u.RawQuery != "" || u.ForceQuery:
		return "must not contain a query (put keys in api_key and versions in api_version)"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "must not contain a fragment"
	case u.Port() != "" && !validPort(u.Port()):
		return "has an invalid port"
	}
	return ""
}

// Capability names, as the config spells them.
var capabilityNames = []string{"tools", "json_schema", "vision", "streaming", "embeddings", "continuation"}

func (m *Model) validate(p *problems, at string, providers map[string]bool, names map[string]string) {
	switch {
	case m.Provider == "":
		p.add(at+".provider", "required")
	case !providers[m.Provider]:
		p.add(at+".provider", "%s is not a configured provider", quoted(m.Provider))
	}
	if m.UpstreamModel == "" {
		p.add(at+".upstream_model", "required")
	} else if !validModelName(m.UpstreamModel) {
		p.add(at+".upstream_model", "must not contain blanks or control characters")
	}
	if name := m.PublicName(); name != "" {
		field := at + ".name"
		if m.Name == "" {
			field = at + ".name (default " + quoted(name) + ")"
		}
		checkPublicName(p, field, name, at, names)
	} else if m.Provider != "" && m.UpstreamModel != "" {
		p.add(at+".name", "required")
	}
	if m.ContextWindow <= 0 {
		p.add(at+".context_window", "required: the model's context window in tokens")
	}
	switch {
	case m.MaxOutputTokens < 0:
		p.add(at+".max_output_tokens", "must not be negative")
	case m.ContextWindow > 0 && m.MaxOutputTokens > m.ContextWindow:
		p.add(at+".max_output_tokens", "exceeds context_window")
	}
	seen := make(map[string]bool)
	for i, c := range m.Capabilities {
		field := fmt.Sprintf("%s.capabilities[%d]", at, i)
		switch {
		case !oneOf(c, capabilityNames...):
			p.add(field, "%s is not one of %s", quoted(c), strings.Join(capabilityNames, ", "))
		case seen[c]:
			p.add(field, "%s is listed twice", quoted(c))
		}
		seen[c] = true
	}
	for _, f := range m.Price.fields() {
		if *f.value == "" {
			if f.required {
				p.add(at+".price."+f.name, "required: a decimal USD amount such as \"0.15\" (use \"0\" for a free model)")
			}
			continue
		}
		if _, err := parsePrice(*f.value); err != nil {
			p.add(at+".price."+f.name, "%v", err)
		}
	}
	var last time.Time
	for i, pc := range m.PriceChanges {
		pat := fmt.Sprintf("%s.price_changes[%d]", at, i)
		t, err := parseEffective(pc.Effective)
		if err != nil {
			p.add(pat+".effective", "%v", err)
		} else if !last.IsZero() && !t.After(last) {
			p.add(pat+".effective", "must be later than the change before it")
		} else {
			last = t
		}
		for _, f := range pc.Price.fields() {
			if *f.value == "" {
				if f.required {
					p.add(pat+".price."+f.name, "required: a decimal USD amount such as \"0.15\"")
				}
				continue
			}
			if _, err := parsePrice(*f.value); err != nil {
				p.add(pat+".price."+f.name, "%v", err)
			}
		}
	}
	if m.Region != "" && (len(m.Region) > 64 || !isIdent(strings.ToLower(m.Region), "-_")) {
		p.add(at+".region", "must be a region name of letters, digits, - and _, e.g. eastus or eu-west-1")
	}
	for i, a := range m.Aliases {
		checkPublicName(p, fmt.Sprintf("%s.aliases[%d]", at, i), a, at, names)
	}
}

// checkPublicName validates a public model name or alias and records it in
// names, reporting a clash with an earlier one.
func checkPublicName(p *problems, field, name, owner string, names map[string]string) {
	switch {
	case name == "" || len(name) > 256 || !validModelName(name):
		p.add(field, "must be 1 to 256 characters without blanks or control characters")
		return
	case name == "auto":
		p.add(field, `"auto" is reserved for automatic routing`)
		return
	}
	if prev, dup := names[name]; dup {
		if prev == owner {
			p.add(field, "%s is listed twice for this model", quoted(name))
		} else {
			p.add(field, "%s is already the name or an alias of %s", quoted(name), prev)
		}
		return
	}
	names[name] = owner
}

// parsePrice parses a non-negative decimal dollar amount exactly.
func parsePrice(s string) (octomesh.Money, error) {
	m, err := octomesh.ParseMoney(s)
	if err != nil {
		return 0, fmt.Errorf("%s is not a decimal USD amount with at most 9 decimals, such as \"0.15\"", quoted(s))
	}
	if m < 0 {
		return 0, fmt.Errorf("must not be negative")
	}
	return m, nil
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= 65535 && s != "" && s[0] != '+' && s[0] != '-'
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// validModelName reports whether s is valid UTF-8 without blanks or control characters.
func validModelName(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// isIdent reports whether s is non-empty and made of a-z, 0-9 and the extra bytes.
func isIdent(s, extra string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}

func oneOf(s string, set ...string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
}

// quoted quotes a (non-secret) configured value for a message, truncated.
func quoted(s string) string { return strconv.Quote(truncate(s, 64)) }
