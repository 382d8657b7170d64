package openai

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/provider"
)

func TestNewRejectsBadConfig(t *testing.T) {
	const key = "sk-CANARY-secret"
	tests := []struct {
		name  string
		cfg   Config
		field string // the field the error must name
	}{
		{"missing id", Config{APIKey: key}, "ID"},
		{"relative base url", Config{ID: "x", APIKey: key, BaseURL: "api.openai.com/v1"}, "BaseURL"},
		{"unsupported scheme", Config{ID: "x", APIKey: key, BaseURL: "ftp://example.com/v1"}, "BaseURL"},
		{"unparsable base url", Config{ID: "x", APIKey: key, BaseURL: "http://[::1"}, "BaseURL"},
		{"base url with query", Config{ID: "x", APIKey: key, BaseURL: "https://example.com/v1?api-version=1"}, "BaseURL"},
		{"base url with fragment", Config{ID: "x", APIKey: key, BaseURL: "https://example.com/v1#x"}, "BaseURL"},
		{"base url with credentials", Config{ID: "x", APIKey: key, BaseURL: "https://u:p@example.com/v1"}, "BaseURL"},
		{"unknown auth", Config{ID: "x", APIKey: key, Auth: "basic"}, "Auth"},
		{"bearer without key", Config{ID: "x"}, "APIKey"},
		{"api-key without key", Config{ID: "x", Auth: AuthAPIKey}, "APIKey"},
		{"key with newline", Config{ID: "x", APIKey: "sk-CANARY\r\nX-Evil: 1"}, "APIKey"},
		{"unknown quirk", Config{ID: "x", APIKey: key, Quirks: []string{QuirkMaxTokensOnly, "max_tokens_onyl"}}, "Quirks"},
		{"header overrides auth", Config{ID: "x", APIKey: key, Headers: map[string]string{"authorization": "Bearer other"}}, "Headers[authorization]"},
		{"header overrides azure auth", Config{ID: "x", APIKey: key, Headers: map[string]string{"API-KEY": "k"}}, "Headers[API-KEY]"},
		{"header overrides content type", Config{ID: "x", APIKey: key, Headers: map[string]string{"Content-Type": "text/plain"}}, "Headers[Content-Type]"},
		{"header forwards client ip", Config{ID: "x", APIKey: key, Headers: map[string]string{"X-Forwarded-For": "10.0.0.1"}}, "Headers[X-Forwarded-For]"},
		{"bad header name", Config{ID: "x", APIKey: key, Headers: map[string]string{"Bad Header": "v"}}, "Headers"},
		{"header value injection", Config{ID: "x", APIKey: key, Headers: map[string]string{"X-Title": "a\r\nHost: evil"}}, "Headers[X-Title]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg, nil)
			if err == nil {
				t.Fatalf("New = %v, nil; want an error naming %s", c, tt.field)
			}
			var oe *octomesh.Error
			if !errors.As(err, &oe) {
				t.Fatalf("error %T %v, want *octomesh.Error", err, err)
			}
			if oe.Code != octomesh.EINVALID {
				t.Errorf("code = %q, want %q", oe.Code, octomesh.EINVALID)
			}
			if oe.Param != tt.field {
				t.Errorf("param = %q, want %q", oe.Param, tt.field)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name %s", err, tt.field)
			}
			if strings.Contains(err.Error(), "CANARY") {
				t.Errorf("error %q leaks the API key", err)
			}
		})
	}
}

func TestNewEndpoints(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		op, model  string
		wantURL    string
		wantHeader http.Header // the complete static header set
	}{
		{
			name:       "defaults to OpenAI with bearer auth",
			cfg:        Config{ID: "openai", APIKey: "k"},
			op:         "chat/completions",
			model:      "gpt-4o-mini",
			wantURL:    "https://api.openai.com/v1/chat/completions",
			wantHeader: http.Header{"Authorization": {"Bearer k"}},
		},
		{
			name:       "trailing slash trimmed, no auth, extra headers canonicalised",
			cfg:        Config{ID: "vllm", BaseURL: "http://127.0.0.1:8000/v1/", Auth: AuthNone, Headers: map[string]string{"x-title": "OctoMesh"}},
			op:         "embeddings",
			model:      "bge",
			wantURL:    "http://127.0.0.1:8000/v1/embeddings",
			wantHeader: http.Header{"X-Title": {"OctoMesh"}},
		},
		{
			name: "azure deployment path, escaped model, api-version",
			cfg: Config{ID: "azure", BaseURL: "https://res.openai.azure.com", APIKey: "k", Auth: AuthAPIKey,
				APIVersion: "2024-10-21&x=1", Quirks: []string{QuirkAzureDeploymentPath}},
			op:         "chat/completions",
			model:      "my dep/1",
			wantURL:    "https://res.openai.azure.com/openai/deployments/my%20dep%2F1/chat/completions?api-version=2024-10-21%26x%3D1",
			wantHeader: http.Header{"Api-Key": {"k"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg, nil)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if got := c.ID(); got != tt.cfg.ID {
				t.Errorf("ID() = %q, want %q", got, tt.cfg.ID)
			}
			if got := c.endpoint(tt.op, tt.model); got != tt.wantURL {
				t.Errorf("endpoint = %q, want %q", got, tt.wantURL)
			}
			got := c.headers()
			if len(got) != len(tt.wantHeader) {
				t.Errorf("headers = %v, want %v", got, tt.wantHeader)
			}
			for k, v := range tt.wantHeader {
				if got.Get(k) != v[0] {
					t.Errorf("header %s = %q, want %q", k, got.Get(k), v[0])
				}
			}
			// Requests share the client's headers: sending one (with
			// forwarded headers and a content type added) must leave them as
			// they were.
			before := c.header.Clone()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}`)
			}))
			defer srv.Close()
			ctx := octomesh.WithForwardHeaders(context.Background(), [][2]string{{"X-Forwarded-Thing", "v"}})
			resp, err := provider.PostBytes(ctx, srv.Client(), "test", srv.URL, c.headers(), []byte(`{}`), classify)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if !reflect.DeepEqual(c.header, before) {
				t.Errorf("sending a request changed the client's headers: %v, was %v", c.header, before)
			}
		})
	}
}
