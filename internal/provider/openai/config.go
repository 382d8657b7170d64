package openai

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/provider"
)

// DefaultBaseURL is OpenAI's API root, used when Config.BaseURL is empty.
const DefaultBaseURL = "https://api.openai.com/v1"

// Auth styles.
const (
	AuthBearer = "bearer"  // Authorization: Bearer KEY (OpenAI and most compatible servers)
	AuthAPIKey = "api-key" // api-key: KEY (Azure OpenAI)
	AuthNone   = "none"    // no credential (local vLLM, Ollama)
)

// Quirk names; see the package documentation for what each one does.
const (
	QuirkMaxTokensOnly       = "max_tokens_only"
	QuirkNoStreamOptions     = "no_stream_options"
	QuirkDeveloperAsSystem   = "developer_as_system"
	QuirkNoParallelToolCalls = "no_parallel_tool_calls"
	QuirkAzureDeploymentPath = "azure_deployment_path"
)

// quirks is the set of enabled quirks.
type quirks uint8

const (
	maxTokensOnly quirks = 1 << iota
	noStreamOptions
	developerAsSystem
	noParallelToolCalls
	azureDeploymentPath
)

// parseQuirk returns the bit of the named quirk; ok is false for unknown names.
func parseQuirk(name string) (bit quirks, ok bool) {
	switch name {
	case QuirkMaxTokensOnly:
		return maxTokensOnly, true
	case QuirkNoStreamOptions:
		return noStreamOptions, true
	case QuirkDeveloperAsSystem:
		return developerAsSystem, true
	case QuirkNoParallelToolCalls:
		return noParallelToolCalls, true
	case QuirkAzureDeploymentPath:
		return azureDeploymentPath, true
	}
	return 0, false
}

func (q quirks) has(bit quirks) bool { return q&bit != 0 }

// reservedHeader reports whether the canonical header name may not be set
// through Config.Headers: the adapter owns the credential and the body's
// framing, and nothing may claim to forward a client's identity.
func reservedHeader(canon string) bool {
	switch canon {
	case "Authorization", "Api-Key", "Content-Type", "Content-Length", "Transfer-Encoding",
		"Host", "Connection", "Cookie", "Forwarded", "X-Forwarded-For", "X-Real-Ip":
		return true
	}
	return false
}

// Config configures one OpenAI-compatible provider instance.
type Config struct {
	// ID is the provider instance's name, e.g. "openai"; Client.ID returns it.
	ID string
	// BaseURL is the API root; requests go to BaseURL+"/chat/completions"
	// and BaseURL+"/embeddings". Default DefaultBaseURL. It must be an
	// absolute http or https URL without query or fragment.
	BaseURL string
	// APIKey is the credential. Required unless Auth is "none".
	APIKey octomesh.Secret
	// Auth is how the credential is sent: "bearer" (default), "api-key"
	// (Azure's `api-key: KEY` header) or "none".
	Auth string
	// Headers are extra static headers sent with every request, e.g.
	// OpenRouter's HTTP-Referer or OpenAI-Organization. They may not set
	// the credential, Content-Type, framing or forwarding headers.
	Headers map[string]string
	// APIVersion, when set, is sent as the api-version query parameter
	// (Azure OpenAI).
	APIVersion string
	// Quirks names the deviations from OpenAI's API this server needs; see
	// the package documentation. Unknown names are an error.
	Quirks []string
}

// Client calls one OpenAI-compatible server. It is safe for concurrent use.
type Client struct {
	id         string
	hc         *http.Client
	baseURL    string // without trailing slash
	query      string // "" or "?api-version=..."
	header     http.Header
	quirks     quirks
	authHeader string      // the header carrying the credential, "" for none
	chatURL    *url.URL    // chat/completions parsed once; nil with azure_deployment_path
	postHeader http.Header // header with its Content-Type: what a post sends (read only)
}

var (
	_ octomesh.Provider = (*Client)(nil)
	_ octomesh.Embedder = (*Client)(nil)
)

// New validates cfg and returns a client that sends requests through hc
// (normally from provider.NewHTTPClient; nil means a default one). It
// returns an EINVALID error naming the offending Config field; the error
// never contains the API key.
func New(cfg Config, hc *http.Client) (*Client, error) {
	bad := func(field, format string, args ...any) error {
		return octomesh.Errorf(octomesh.EINVALID, "openai provider %q: %s: %s", cfg.ID, field, fmt.Sprintf(format, args...)).WithParam(field)
	}
	if strings.TrimSpace(cfg.ID) == "" {
		return nil, bad("ID", "is required")
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	switch {
	case err != nil:
		return nil, bad("BaseURL", "is not a valid URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, bad("BaseURL", "must be an http or https URL")
	case u.Host == "":
		return nil, bad("BaseURL", "has no host")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, bad("BaseURL", "must not have a query or fragment (use APIVersion for api-version)")
	case u.User != nil:
		return nil, bad("BaseURL", "must not carry credentials (use APIKey)")
	}
	c := &Client{
		id:      cfg.ID,
		hc:      hc,
		baseURL: strings.TrimRight(base, "/"),
		header:  make(http.Header),
	}
	if c.hc == nil {
		c.hc = provider.NewHTTPClient(provider.HTTPOptions{}, false)
	}
	if cfg.APIVersion != "" {
		c.query = "?api-version=" + url.QueryEscape(cfg.APIVersion)
	}

	auth := cfg.Auth
	if auth == "" {
		auth = AuthBearer
	}
	switch auth {
	case AuthBearer:
		c.authHeader = "Authorization"
		c.header.Set(c.authHeader, "Bearer "+cfg.APIKey.Reveal())
	case AuthAPIKey:
		c.authHeader = "Api-Key"
		c.header.Set(c.authHeader, cfg.APIKey.Reveal())
	case AuthNone:
	default:
		return nil, bad("Auth", "unknown auth style %q (want bearer, api-key or none)", auth)
	}
	if auth != AuthNone {
		if cfg.APIKey == "" {
			return nil, bad("APIKey", "is required with auth %q (use auth none for servers without credentials)", auth)
		}
		if !validHeaderValue(cfg.APIKey.Reveal()) {
			return nil, bad("APIKey", "contains characters a header cannot carry")
		}
	}

	for name, value := range cfg.Headers {
		canon := http.CanonicalHeaderKey(name)
		field := "Headers[" + name + "]"
		switch {
		case !validHeaderName(name):
			return nil, bad("Headers", "%q is not a valid header name", name)
		case reservedHeader(canon):
			return nil, bad(field, "may not be set: the adapter owns it")
		case !validHeaderValue(value):
			return nil, bad(field, "value contains characters a header cannot carry")
		}
		c.header.Set(canon, value)
	}

	for _, name := range cfg.Quirks {
		bit, ok := parseQuirk(name)
		if !ok {
			return nil, bad("Quirks", "unknown quirk %q", name)
		}
		c.quirks |= bit
	}
	c.postHeader = provider.JSONHeader(c.header)
	if !c.quirks.has(azureDeploymentPath) {
		// The URL is the same for every request: parse it once.
		if c.chatURL, err = provider.ParseURL(c.endpoint(chatOp, "")); err != nil {
			return nil, bad("BaseURL", "is not a valid URL")
		}
	}
	return c, nil
}

// chatOp is the chat completions operation's path.
const chatOp = "chat/completions"

// postChat posts a chat request to the chat endpoint for model: the
// request's body encoded into a pooled buffer, which the post takes over.
func (c *Client) postChat(ctx context.Context, req *octomesh.ChatRequest, stream bool) (*http.Response, error) {
	rb := provider.GetRequestBody()
	b, err := c.appendChatRequestBody(rb.B[:0], req, stream)
	rb.B = b
	if err != nil {
		rb.Release()
		return nil, err
	}
	u := c.chatURL
	if u == nil {
		if u, err = provider.ParseURL(c.endpoint(chatOp, req.Model)); err != nil {
			rb.Release()
			return nil, octomesh.Errorf(octomesh.EINTERNAL, "build upstream request").WithCause(err)
		}
	}
	return provider.PostRequestBody(ctx, c.hc, c.id, u, c.postHeader, rb, classify)
}

// ID returns the provider instance's configured name.
func (c *Client) ID() string { return c.id }

// endpoint returns the URL of an API operation ("chat/completions",
// "embeddings") for the given upstream model.
func (c *Client) endpoint(op, model string) string {
	if c.quirks.has(azureDeploymentPath) {
		return c.baseURL + "/openai/deployments/" + url.PathEscape(model) + "/" + op + c.query
	}
	return c.baseURL + "/" + op + c.query
}

// headers returns the outbound headers of every request. They are shared,
// not copied: provider.PostBytes only reads them.
func (c *Client) headers() http.Header { return c.header }

// validHeaderName reports whether s is an HTTP token (RFC 9110 §5.6.2).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(b)) {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether s can be sent as a header value: no
// control characters other than horizontal tab.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < ' ' && b != '\t' || b == 0x7f {
			return false
		}
	}
	return true
}
