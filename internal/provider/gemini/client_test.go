package gemini

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/octomesh/octomesh"
)

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name      string
		cfg       Config
		wantParam string
	}{
		{"missing key", Config{}, "api_key"},
		{"bad scheme", Config{APIKey: "k", BaseURL: "ftp://host"}, "base_url"},
		{"no host", Config{APIKey: "k", BaseURL: "https://"}, "base_url"},
		{"query in base", Config{APIKey: "k", BaseURL: "https://host/?key=x"}, "base_url"},
		{"header overrides key", Config{APIKey: "k", Headers: map[string]string{"X-Goog-Api-Key": "other"}}, "headers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, nil)
			oe := octomesh.AsError(err)
			if oe.Code != octomesh.EINVALID || oe.Param != tt.wantParam {
				t.Errorf("got %v, want EINVALID for %s", err, tt.wantParam)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	c, err := New(Config{APIKey: "k", BaseURL: "https://proxy.example/gemini/"}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if c.ID() != "gemini" {
		t.Errorf("ID = %q, want gemini", c.ID())
	}
	got, err := c.methodURL("models/gemini-2.5-flash", "streamGenerateContent")
	if err != nil {
		t.Fatalf("methodURL: %v", err)
	}
	if want := "https://proxy.example/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"; got != want {
		t.Errorf("url = %s, want %s", got, want)
	}
	if got, _ := c.methodURL("../../files/x?a=b", "generateContent"); got != "https://proxy.example/gemini/v1beta/models/..%2F..%2Ffiles%2Fx%3Fa=b:generateContent" {
		t.Errorf("model name not confined to one path segment: %s", got)
	}
}

// TestHeadersAndNoKeyInURL checks the key travels only in x-goog-api-key and
// configured headers are sent.
func TestHeadersAndNoKeyInURL(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Query().Has("key") {
			t.Errorf("API key sent in the URL: %s", r.URL)
		}
		if got := r.Header.Get("x-goog-api-key"); got != "secret" {
			t.Errorf("x-goog-api-key = %q, want secret", got)
		}
		if got := r.Header.Get("X-Team"); got != "search" {
			t.Errorf("X-Team = %q, want search", got)
		}
		w.Write([]byte(`{"candidates":[{"content":{"parts":[{"text":"ok"}]},"finishReason":"STOP"}]}`))
	}))
	defer srv.Close()
	c, err := New(Config{BaseURL: srv.URL, APIKey: "secret", Headers: map[string]string{"X-Team": "search"}}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	req := &octomesh.ChatRequest{Model: "gemini-2.5-flash", Messages: []octomesh.Message{{Role: octomesh.RoleUser, Content: octomesh.TextContent("hi")}}}
	resp, err := c.Chat(context.Background(), req)
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	if got := resp.Choices[0].Message.Content.Text(); got != "ok" {
		t.Errorf("content = %q, want ok", got)
	}
	// An invalid request never reaches the upstream.
	bad := *req
	bad.Messages = []octomesh.Message{{Role: octomesh.RoleUser, Content: octomesh.Content{Parts: []octomesh.Part{{Type: octomesh.PartImageURL, ImageURL: &octomesh.ImageURL{URL: "https://x/y.png"}}}}}}
	if _, err := c.ChatStream(context.Background(), &bad); octomesh.ErrorCodeOf(err) != octomesh.EINVALID {
		t.Errorf("ChatStream with an https image: err %v, want EINVALID", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("upstream calls = %d, want 1", n)
	}
}
