// Package anthropic is the provider adapter for Anthropic's Messages API
// (POST {base}/v1/messages). The request and response translation lives in
// internal/anthropicwire, shared with the inbound /v1/messages endpoint; this
// package adds the HTTP exchange, streaming and error classification.
//
// A Client is created once from a Config and is safe for concurrent use. Chat
// returns a whole response; ChatStream returns a pull iterator that owns the
// upstream connection until Close. Anthropic has no embeddings API, so Client
// does not implement octomesh.Embedder.
package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/anthropicwire"
	"github.com/octomesh/octomesh/internal/provider"
)

// Config configures a Client.
type Config struct {
	ID      string          // provider instance name; default "anthropic"
	BaseURL string          // default https://api.anthropic.com
	APIKey  octomesh.Secret // sent as x-api-key; required
	Version string          // anthropic-version header; default 2023-06-01
	// Headers are extra request headers (e.g. anthropic-beta). They cannot
	// override x-api-key, anthropic-version or content-type.
	Headers map[string]string
	// DefaultMaxTokens is sent as max_tokens (which Anthropic requires) when a
	// request sets no output cap; default 4096.
	DefaultMaxTokens int
	// Now stamps responses' created time; default time.Now.
	Now octomesh.Clock
}

// DefaultBaseURL is Anthropic's API endpoint.
const DefaultBaseURL = "https://api.anthropic.com"

// Client is the Anthropic adapter. It is safe for concurrent use.
type Client struct {
	id     string
	url    string
	u      *url.URL // url, parsed once
	hc     *http.Client
	header http.Header
	opts   anthropicwire.EncodeOptions
	now    octomesh.Clock
}

var _ octomesh.Provider = (*Client)(nil)

// New returns a Client. hc nil means provider.NewHTTPClient defaults. It
// returns an error naming the field when the config is invalid.
func New(cfg Config, hc *http.Client) (*Client, error) {
	if cfg.ID == "" {
		cfg.ID = "anthropic"
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.Version == "" {
		cfg.Version = anthropicwire.Version
	}
	if cfg.DefaultMaxTokens == 0 {
		cfg.DefaultMaxTokens = anthropicwire.DefaultMaxTokens
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.APIKey == "" {
		return nil, errors.New("anthropic: APIKey is required")
	}
	if cfg.DefaultMaxTokens < 0 {
		return nil, errors.New("anthropic: DefaultMaxTokens must not be negative")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("anthropic: BaseURL %q must be an absolute http(s) URL", cfg.BaseURL)
	}
	if hc == nil {
		hc = provider.NewHTTPClient(provider.HTTPOptions{}, false)
	}
	h := http.Header{}
	for k, v := range cfg.Headers {
		h.Set(k, v)
	}
	h.Set("x-api-key", cfg.APIKey.Reveal())
	h.Set("anthropic-version", cfg.Version)
	h.Set("content-type", "application/json")
	endpoint := strings.TrimRight(cfg.BaseURL, "/") + "/v1/messages"
	eu, err := provider.ParseURL(endpoint)
	if err != nil {
		return nil, fmt.Errorf("anthropic: BaseURL %q must be an absolute http(s) URL", cfg.BaseURL)
	}
	return &Client{
		id:     cfg.ID,
		url:    endpoint,
		u:      eu,
		hc:     hc,
		header: h,
		opts:   anthropicwire.EncodeOptions{Provider: cfg.ID, DefaultMaxTokens: cfg.DefaultMaxTokens},
		now:    cfg.Now,
	}, nil
}

// ID returns the provider instance's name.
func (c *Client) ID() string { return c.id }

// Chat sends a non-streaming request. It returns EINVALID for requests
// Anthropic cannot express (before sending anything), the classified upstream
// error for a non-2xx answer, and EUPSTREAM for a malformed body.
func (c *Client) Chat(ctx context.Context, req *octomesh.ChatRequest) (*octomesh.ChatResponse, error) {
	body, err := c.encode(req, false)
	if err != nil {
		return nil, err
	}
	resp, err := c.post(ctx, body)
	if err != nil {
		return nil, err
	}
	rb, err := provider.ReadBodyPooled(ctx, c.id, resp)
	if err != nil {
		return nil, err
	}
	defer rb.Release() // decoding copies what it keeps
	out, err := anthropicwire.DecodeResponse(rb.Bytes(), body.JSONTool)
	if err != nil {
		return nil, provider.BadResponse(c.id, err)
	}
	out.Created = c.now().Unix()
	return out, nil
}

// post sends body, encoded into a pooled buffer that the post takes over
// (AppendRequest, or encoding/json for what it leaves).
func (c *Client) post(ctx context.Context, body *anthropicwire.Request) (*http.Response, error) {
	rb := provider.GetRequestBody()
	b, ok := anthropicwire.AppendRequest(rb.B[:0], body)
	if !ok {
		enc, err := json.Marshal(body)
		if err != nil {
			rb.Release()
			return nil, octomesh.Errorf(octomesh.EINTERNAL, "encode upstream request").WithCause(err)
		}
		b = append(rb.B[:0], enc...)
	}
	rb.B = b
	return provider.PostRequestBody(ctx, c.hc, c.id, c.u, c.header, rb, classify)
}

// encode translates req and tags EINVALID errors with the provider.
func (c *Client) encode(req *octomesh.ChatRequest, stream bool) (*anthropicwire.Request, error) {
	body, err := anthropicwire.EncodeRequest(req, c.opts)
	if err != nil {
		var oe *octomesh.Error
		if errors.As(err, &oe) {
			oe.Provider = c.id
		}
		return nil, err
	}
	body.Stream = stream
	return body, nil
}

// classify normalises an Anthropic error response. Anthropic says "prompt is
// too long" or "… exceed context limit" for context overflows; its
// billing_error (or a 400 about the credit balance) is an account problem at
// the provider, not the caller's request, so it is reported like a credential
// failure and other deployments may be tried.
func classify(providerID string, status int, header http.Header, body []byte) error {
	d := anthropicwire.ParseError(body)
	detail := provider.UpstreamDetail{Type: d.Type, Message: d.Message}
	msg := strings.ToLower(d.Message)
	switch {
	case strings.Contains(msg, "prompt is too long") || strings.Contains(msg, "exceed context limit"):
		detail.Code = "context_length_exceeded"
	case d.Type == anthropicwire.ErrBilling || strings.Contains(msg, "credit balance"):
		e := provider.Upstream(providerID, octomesh.EUPSTREAMAUTH, "the provider rejected OctoMesh's account (billing)", status)
		e.Err = fmt.Errorf("upstream %s status %d type=%q", providerID, status, d.Type)
		return e
	}
	return provider.ClassifyDetail(providerID, status, header, detail)
}
