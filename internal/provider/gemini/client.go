package gemini

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/provider"
)

// DefaultBaseURL is the Gemini API's address.
const DefaultBaseURL = "https://generativelanguage.googleapis.com"

// apiVersion is the path prefix of every call.
const apiVersion = "/v1beta"

// Config configures a Client.
type Config struct {
	// ID is the provider instance's name, reported by ID and in errors;
	// default "gemini".
	ID string
	// BaseURL is the API's scheme and host (and optional path prefix),
	// without the version; default DefaultBaseURL.
	BaseURL string
	// APIKey is sent in the x-goog-api-key header (never in the URL, where
	// keys end up in access logs). Required.
	APIKey octomesh.Secret
	// Headers are added to every upstream request. They cannot replace the
	// API key or the content type.
	Headers map[string]string
	// Now stamps responses with their receipt time; default time.Now.
	// Tests fix it so golden output is deterministic.
	Now func() time.Time
}

// Client is a Gemini provider. It implements octomesh.Provider and
// octomesh.Embedder and is safe for concurrent use.
type Client struct {
	id     string
	base   string
	header http.Header
	now    func() time.Time
	hc     *http.Client
}

var (
	_ octomesh.Provider = (*Client)(nil)
	_ octomesh.Embedder = (*Client)(nil)
)

// New returns a client for cfg that sends requests with hc (nil means a
// fresh provider.NewHTTPClient). It returns an EINVALID error naming the
// field when cfg is unusable.
func New(cfg Config, hc *http.Client) (*Client, error) {
	id := cfg.ID
	if id == "" {
		id = "gemini"
	}
	if cfg.APIKey == "" {
		return nil, octomesh.Errorf(octomesh.EINVALID, "gemini provider %q: api_key is required", id).WithParam("api_key")
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, octomesh.Errorf(octomesh.EINVALID, "gemini provider %q: base_url must be an http(s) URL without query, got %q", id, cfg.BaseURL).WithParam("base_url")
	}
	h := make(http.Header)
	for k, v := range cfg.Headers {
		switch http.CanonicalHeaderKey(k) {
		case "X-Goog-Api-Key", "Content-Type", "Authorization":
			return nil, octomesh.Errorf(octomesh.EINVALID, "gemini provider %q: headers may not set %s", id, k).WithParam("headers")
		}
		h.Set(k, v)
	}
	h.Set("x-goog-api-key", cfg.APIKey.Reveal())
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	if hc == nil {
		hc = provider.NewHTTPClient(provider.HTTPOptions{}, false)
	}
	// The header with its Content-Type, as a post sends it: posts then
	// share it instead of building a header for each request.
	h = provider.JSONHeader(h)
	return &Client{id: id, base: base, header: h, now: now, hc: hc}, nil
}

// ID returns the provider instance's configured name.
func (c *Client) ID() string { return c.id }

// Chat sends req to generateContent and returns the whole answer. Errors are
// *octomesh.Error: EINVALID for requests Gemini cannot express, ECONTENTFILTER
// when the prompt was blocked, and the normalised upstream codes otherwise.
func (c *Client) Chat(ctx context.Context, req *octomesh.ChatRequest) (*octomesh.ChatResponse, error) {
	body, err := encodeChat(req)
	if err != nil {
		return nil, err
	}
	resp, err := c.post(ctx, req.Model, "generateContent", body)
	if err != nil {
		return nil, err
	}
	rb, err := provider.ReadBodyPooled(ctx, c.id, resp)
	if err != nil {
		return nil, err
	}
	defer rb.Release() // decoding copies what it keeps
	b := rb.Bytes()
	received := c.now()
	var gr generateResponse
	if err := json.Unmarshal(b, &gr); err != nil {
		return nil, provider.BadResponse(c.id, err)
	}
	return decodeResponse(c.id, req.Model, received, b, &gr)
}

// ChatStream sends req to streamGenerateContent (server-sent events) and
// returns the stream once the upstream has accepted the request. Errors
// before the stream starts are as for Chat; errors during it are reported by
// the stream's Err.
func (c *Client) ChatStream(ctx context.Context, req *octomesh.ChatRequest) (octomesh.ChatStream, error) {
	body, err := encodeChat(req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	resp, err := c.post(ctx, req.Model, "streamGenerateContent", body)
	if err != nil {
		cancel()
		return nil, err
	}
	return newStream(ctx, cancel, c.id, req.Model, c.now(), resp), nil
}

// post sends body to the model's method and returns the open 2xx response.
func (c *Client) post(ctx context.Context, model, method string, body any) (*http.Response, error) {
	u, err := c.methodURL(model, method)
	if err != nil {
		return nil, err
	}
	return provider.PostJSON(ctx, c.hc, c.id, u, c.header, body, classify) // only read
}

// methodURL builds {base}/v1beta/models/{model}:{method}; streaming asks for
// server-sent events with alt=sse. The model is path-escaped so a name can
// never reach another endpoint.
func (c *Client) methodURL(model, method string) (string, error) {
	model = strings.TrimPrefix(model, "models/")
	if model == "" {
		return "", octomesh.Errorf(octomesh.EINVALID, "model is required").WithParam("model")
	}
	u := fmt.Sprintf("%s%s/models/%s:%s", c.base, apiVersion, url.PathEscape(model), method)
	if method == "streamGenerateContent" {
		u += "?alt=sse"
	}
	return u, nil
}
