package httpapi

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestWrongMethodIs405: a known route called with a method it does not
// take answers 405 Method Not Allowed with the Allow header and the route's
// JSON error body (OpenAI's shape, Anthropic's for /v1/messages), before
// authentication as for any routing answer; an unknown path stays 404.
func TestWrongMethodIs405(t *testing.T) {
	s := newTestServer(t, &fakeService{})
	tests := []struct {
		method, path string
		noKey        bool
		status       int
		allow        string // "" for no Allow header
		anthropic    bool
	}{
		{"DELETE", "/v1/chat/completions", false, 405, "POST", false},
		{"GET", "/v1/chat/completions", false, 405, "POST", false},
		{"GET", "/v1/chat/completions", true, 405, "POST", false},
		{"HEAD", "/v1/embeddings", false, 405, "POST", false},
		{"POST", "/v1/models", false, 405, "GET, HEAD", false},
		{"DELETE", "/v1/models/fake/m", false, 405, "GET, HEAD", false},
		{"PUT", "/v1/routing/decisions/req_1", false, 405, "GET, HEAD", false},
		{"PUT", "/v1/orgs/o", false, 405, "DELETE, GET, HEAD, PATCH", false},
		{"GET", "/v1/orgs/o/keys/k/rotate", false, 405, "POST", false},
		{"GET", "/v1/messages", false, 405, "POST", true},
		{"POST", "/healthz", true, 405, "GET, HEAD", false},
		{"GET", "/v1/nope", false, 404, "", false},
		{"DELETE", "/v1/nope", false, 404, "", false},
		{"GET", "/v1/chat/completions/extra", false, 404, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			var hdr []string
			if tt.noKey {
				hdr = []string{"Authorization", ""}
			}
			w := do(t, s, tt.method, tt.path, "", hdr...)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			if got := w.Header().Get("Allow"); got != tt.allow {
				t.Errorf("Allow %q, want %q", got, tt.allow)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if tt.method == http.MethodHead {
				return // the body is not sent, nothing to check
			}
			if tt.anthropic {
				var e anthropicError
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Type != "error" || e.Error.Type != "invalid_request_error" || e.Error.Message == "" {
					t.Errorf("body %s (%v), want an Anthropic invalid_request_error", w.Body, err)
				}
				return
			}
			e := decodeOpenAIError(t, w.Body.String())
			want := "not_found"
			if tt.status == 405 {
				want = "method_not_allowed"
			}
			if e.Type != "invalid_request_error" || e.Code != want {
				t.Errorf("error type %q code %q, want invalid_request_error and %q", e.Type, e.Code, want)
			}
		})
	}
}
