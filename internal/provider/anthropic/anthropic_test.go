package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/providertest"
)

// fixedNow is the clock of every test client, so created timestamps are golden.
func fixedNow() time.Time { return time.Unix(1735689600, 0) }

func newTestClient(t *testing.T, baseURL string) *Client {
	t.Helper()
	c, err := New(Config{BaseURL: baseURL, APIKey: "test-key", Now: fixedNow}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func factory(t *testing.T, baseURL string) octomesh.Provider { return newTestClient(t, baseURL) }

func TestGolden(t *testing.T) {
	providertest.RunGolden(t, "testdata/golden", factory)
}

func TestStreamBehaviour(t *testing.T) {
	providertest.RunStreamBehaviour(t, "testdata/golden/stream_text", factory)
}

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" for success
	}{
		{"defaults", Config{APIKey: "k"}, ""},
		{"no key", Config{}, "APIKey"},
		{"relative base", Config{APIKey: "k", BaseURL: "/v1"}, "BaseURL"},
		{"bad scheme", Config{APIKey: "k", BaseURL: "ftp://x"}, "BaseURL"},
		{"negative max tokens", Config{APIKey: "k", DefaultMaxTokens: -1}, "DefaultMaxTokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg, nil)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if got, want := c.ID(), "anthropic"; got != want {
					t.Errorf("ID() = %q, want %q", got, want)
				}
				if got, want := c.url, "https://api.anthropic.com/v1/messages"; got != want {
					t.Errorf("url = %q, want %q", got, want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// recorder is a fake upstream that records requests and answers with body.
func recorder(t *testing.T, status int, body string) (*httptest.Server, *atomic.Int32, *[]byte, *http.Header) {
	t.Helper()
	var calls atomic.Int32
	var got []byte
	var hdr http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		got, _ = io.ReadAll(r.Body)
		hdr = r.Header.Clone()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls, &got, &hdr
}

func TestUnsupportedParametersRejectedBeforeSending(t *testing.T) {
	two := 2
	seed := int64(7)
	tests := []struct {
		name      string
		mutate    func(r *octomesh.ChatRequest)
		wantParam string
		wantMsg   string
	}{
		{"n", func(r *octomesh.ChatRequest) { r.N = &two }, "n", "parameter n is not supported by provider anthropic"},
		{"logprobs", func(r *octomesh.ChatRequest) { r.Logprobs = json.RawMessage("true") }, "logprobs", "parameter logprobs is not supported by provider anthropic"},
		{"seed", func(r *octomesh.ChatRequest) { r.Seed = &seed }, "seed", "parameter seed is not supported by provider anthropic"},
	}
	for _, tt := range tests {
		for _, streaming := range []bool{false, true} {
			name := tt.name + "/chat"
			if streaming {
				name = tt.name + "/stream"
			}
			t.Run(name, func(t *testing.T) {
				srv, calls, _, _ := recorder(t, 200, `{}`)
				c := newTestClient(t, srv.URL)
				req := &octomesh.ChatRequest{Model: "claude-sonnet-4-5", Messages: []octomesh.Message{{Role: octomesh.RoleUser, Content: octomesh.TextContent("hi")}}}
				tt.mutate(req)
				var err error
				if streaming {
					_, err = c.ChatStream(context.Background(), req)
				} else {
					_, err = c.Chat(context.Background(), req)
				}
				var oe *octomesh.Error
				if !errors.As(err, &oe) {
					t.Fatalf("err = %v, want *octomesh.Error", err)
				}
				if oe.Code != octomesh.EINVALID || oe.Param != tt.wantParam || oe.Message != tt.wantMsg || oe.Provider != "anthropic" {
					t.Errorf("err = {%s %q param %q provider %q}, want {%s %q param %q provider anthropic}",
						oe.Code, oe.Message, oe.Param, oe.Provider, octomesh.EINVALID, tt.wantMsg, tt.wantParam)
				}
				if n := calls.Load(); n != 0 {
					t.Errorf("upstream called %d times, want 0", n)
				}
			})
		}
	}
}

func TestConfigHeadersAndVersion(t *testing.T) {
	srv, _, _, hdr := recorder(t, 200, `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}`)
	c, err := New(Config{
		ID: "claude-eu", BaseURL: srv.URL + "/", APIKey: "test-key", Version: "2099-01-01", Now: fixedNow,
		Headers: map[string]string{"anthropic-beta": "prompt-caching-2024-07-31", "x-api-key": "override-attempt"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Chat(context.Background(), &octomesh.ChatRequest{Model: "m", Messages: []octomesh.Message{{Role: octomesh.RoleUser, Content: octomesh.TextContent("hi")}}}); err != nil {
		t.Fatalf("Chat: %v", err)
	}
	want := map[string]string{
		"X-Api-Key":         "test-key",
		"Anthropic-Version": "2099-01-01",
		"Anthropic-Beta":    "prompt-caching-2024-07-31",
		"Content-Type":      "application/json",
	}
	for k, v := range want {
		if got := hdr.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if got := c.ID(); got != "claude-eu" {
		t.Errorf("ID() = %q, want claude-eu", got)
	}
}

func TestDefaultMaxTokensConfigured(t *testing.T) {
	srv, _, body, _ := recorder(t, 200, `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":0}}`)
	c, err := New(Config{BaseURL: srv.URL, APIKey: "k", DefaultMaxTokens: 999}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Chat(context.Background(), &octomesh.ChatRequest{Model: "m", Messages: []octomesh.Message{{Role: octomesh.RoleUser, Content: octomesh.TextContent("hi")}}}); err != nil {
		t.Fatalf("Chat: %v", err)
	}
	var got struct {
		MaxTokens int   `json:"max_tokens"`
		Stream    *bool `json:"stream"`
	}
	if err := json.Unmarshal(*body, &got); err != nil {
		t.Fatal(err)
	}
	if got.MaxTokens != 999 {
		t.Errorf("max_tokens = %d, want 999", got.MaxTokens)
	}
	if got.Stream != nil {
		t.Errorf("non-streaming call sent stream = %v, want absent", *got.Stream)
	}
}

// TestCacheWriteTokens checks what the golden JSON cannot: CacheWriteTokens
// has no JSON field.
func TestCacheWriteTokens(t *testing.T) {
	srv, _, _, _ := recorder(t, 200, `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":5,"cache_creation_input_tokens":100,"cache_read_input_tokens":40,"output_tokens":3}}`)
	c := newTestClient(t, srv.URL)
	resp, err := c.Chat(context.Background(), &octomesh.ChatRequest{Model: "m", Messages: []octomesh.Message{{Role: octomesh.RoleUser, Content: octomesh.TextContent("hi")}}})
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	want := &octomesh.Usage{PromptTokens: 145, CompletionTokens: 3, TotalTokens: 148,
		PromptTokensDetails: &octomesh.PromptTokensDetails{CachedTokens: 40}, CacheWriteTokens: 100}
	if diff := cmp.Diff(want, resp.Usage); diff != "" {
		t.Errorf("usage mismatch (-want +got):\n%s", diff)
	}
}

func TestStreamCacheWriteTokens(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":5,\"cache_creation_input_tokens\":100,\"cache_read_input_tokens\":0,\"output_tokens\":1}}}\n\n"+
			"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":4}}\n\n"+
			"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL)
	s, err := c.ChatStream(context.Background(), &octomesh.ChatRequest{Model: "m", Stream: true, Messages: []octomesh.Message{{Role: octomesh.RoleUser, Content: octomesh.TextContent("hi")}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var last *octomesh.Chunk
	for s.Next() {
		last = s.Chunk()
	}
	if err := s.Err(); err != nil {
		t.Fatalf("Err: %v", err)
	}
	if last == nil || last.Usage == nil {
		t.Fatalf("last chunk %+v has no usage", last)
	}
	if got, want := last.Usage.CacheWriteTokens, 100; got != want {
		t.Errorf("CacheWriteTokens = %d, want %d", got, want)
	}
	if got, want := last.Usage.PromptTokens, 105; got != want {
		t.Errorf("PromptTokens = %d, want %d", got, want)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   octomesh.ErrorCode
	}{
		{"context limit", 400, `{"type":"error","error":{"type":"invalid_request_error","message":"input length and max_tokens exceed context limit: 197000 + 8192 > 200000"}}`, octomesh.ECONTEXTLENGTH},
		{"billing", 400, `{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API."}}`, octomesh.EUPSTREAMAUTH},
		{"billing type", 402, `{"type":"error","error":{"type":"billing_error","message":"x"}}`, octomesh.EUPSTREAMAUTH},
		{"permission", 403, `{"type":"error","error":{"type":"permission_error","message":"x"}}`, octomesh.EUPSTREAMAUTH},
		{"not found", 404, `{"type":"error","error":{"type":"not_found_error","message":"model: claude-x"}}`, octomesh.EUPSTREAM},
		{"too large", 413, `{"type":"error","error":{"type":"request_too_large","message":"x"}}`, octomesh.ETOOLARGE},
		{"api error", 500, `{"type":"error","error":{"type":"api_error","message":"x"}}`, octomesh.EUPSTREAM},
		{"invalid", 400, `{"type":"error","error":{"type":"invalid_request_error","message":"temperature: range"}}`, octomesh.EINVALID},
		{"html body", 502, `<html>bad gateway</html>`, octomesh.EUPSTREAM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classify("anthropic", tt.status, http.Header{}, []byte(tt.body))
			if got := octomesh.ErrorCodeOf(err); got != tt.want {
				t.Errorf("code = %q, want %q (err %v)", got, tt.want, err)
			}
			providertest.CheckSafeMessage(t, err)
		})
	}
}

func TestStreamErrorEventTypes(t *testing.T) {
	tests := []struct {
		errType string
		want    octomesh.ErrorCode
	}{
		{"overloaded_error", octomesh.EOVERLOADED},
		{"rate_limit_error", octomesh.ERATELIMITED},
		{"api_error", octomesh.EUPSTREAM},
		{"timeout_error", octomesh.ETIMEOUT},
		{"invalid_request_error", octomesh.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.errType, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				io.WriteString(w, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n"+
					"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\""+tt.errType+"\",\"message\":\"CANARY\"}}\n\n")
			}))
			defer srv.Close()
			s, err := newTestClient(t, srv.URL).ChatStream(context.Background(), &octomesh.ChatRequest{Model: "m", Stream: true, Messages: []octomesh.Message{{Role: octomesh.RoleUser, Content: octomesh.TextContent("hi")}}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			n := 0
			for s.Next() {
				n++
			}
			if n != 1 {
				t.Errorf("got %d chunks before the error, want 1 (the role chunk)", n)
			}
			if got := octomesh.ErrorCodeOf(s.Err()); got != tt.want {
				t.Errorf("code = %q, want %q (err %v)", got, tt.want, s.Err())
			}
			providertest.CheckSafeMessage(t, s.Err())
		})
	}
}

func TestStreamMalformedEvent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event: message_start\ndata: {not json\n\n")
	}))
	defer srv.Close()
	s, err := newTestClient(t, srv.URL).ChatStream(context.Background(), &octomesh.ChatRequest{Model: "m", Stream: true, Messages: []octomesh.Message{{Role: octomesh.RoleUser, Content: octomesh.TextContent("hi")}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Next() {
		t.Fatalf("Next() = true on a malformed stream, chunk %+v", s.Chunk())
	}
	if got := octomesh.ErrorCodeOf(s.Err()); got != octomesh.EUPSTREAM {
		t.Errorf("code = %q, want %q", got, octomesh.EUPSTREAM)
	}
}

func TestChatMalformedBody(t *testing.T) {
	srv, _, _, _ := recorder(t, 200, `{"type":"message"`)
	_, err := newTestClient(t, srv.URL).Chat(context.Background(), &octomesh.ChatRequest{Model: "m", Messages: []octomesh.Message{{Role: octomesh.RoleUser, Content: octomesh.TextContent("hi")}}})
	if got := octomesh.ErrorCodeOf(err); got != octomesh.EUPSTREAM {
		t.Errorf("code = %q, want %q (err %v)", got, octomesh.EUPSTREAM, err)
	}
}
