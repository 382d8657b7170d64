package openai

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/provider"
	"github.com/octomesh/octomesh/internal/providertest"
)

// upstream is a fake server that answers every request with one canned
// response and records the last request it received.
type upstream struct {
	srv     *httptest.Server
	request chan *http.Request // headers of each received request
	bodies  chan []byte
}

// newUpstream starts a fake upstream answering with status, content type and body.
func newUpstream(t *testing.T, status int, contentType, body string) *upstream {
	t.Helper()
	u := &upstream{request: make(chan *http.Request, 64), bodies: make(chan []byte, 64)}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case u.request <- r.Clone(r.Context()):
			u.bodies <- b
		default:
		}
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

// client returns a client for the fake upstream, configured by cfg with
// BaseURL and (unless set) APIKey filled in.
func (u *upstream) client(t *testing.T, cfg Config) *Client {
	t.Helper()
	if cfg.ID == "" {
		cfg.ID = "test"
	}
	cfg.BaseURL = u.srv.URL
	if cfg.APIKey == "" && cfg.Auth != AuthNone {
		cfg.APIKey = "test-key"
	}
	c, err := New(cfg, provider.NewHTTPClient(provider.HTTPOptions{}, false))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// errCode returns the code of err and fails the test if err is not an
// *octomesh.Error or its client message is unsafe.
func errCode(t *testing.T, err error) octomesh.ErrorCode {
	t.Helper()
	if err == nil {
		return ""
	}
	var oe *octomesh.Error
	if !errors.As(err, &oe) {
		t.Fatalf("error %T (%v) is not an *octomesh.Error", err, err)
	}
	providertest.CheckSafeMessage(t, err)
	return oe.Code
}

// simpleRequest is a minimal chat request.
func simpleRequest(stream bool) *octomesh.ChatRequest {
	return &octomesh.ChatRequest{
		Model:    "gpt-4o-mini",
		Messages: []octomesh.Message{{Role: octomesh.RoleUser, Content: octomesh.TextContent("hi")}},
		Stream:   stream,
	}
}
