package openai

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
)

func intp(n int) *int { return &n }

func TestChatRequestBody(t *testing.T) {
	base := func(mod func(r *octomesh.ChatRequest)) *octomesh.ChatRequest {
		r := simpleRequest(false)
		if mod != nil {
			mod(r)
		}
		return r
	}
	const msgs = `"messages":[{"role":"user","content":"hi"}]`
	tests := []struct {
		name   string
		quirks []string
		req    *octomesh.ChatRequest
		stream bool
		want   string
	}{
		{
			name: "non-streaming call ignores the caller's stream flags",
			req: base(func(r *octomesh.ChatRequest) {
				r.Stream = true
				r.StreamOptions = &octomesh.StreamOptions{IncludeUsage: true}
			}),
			want: `{"model":"gpt-4o-mini",` + msgs + `}`,
		},
		{
			name:   "streaming call always asks for usage",
			req:    base(nil),
			stream: true,
			want:   `{"model":"gpt-4o-mini",` + msgs + `,"stream":true,"stream_options":{"include_usage":true}}`,
		},
		{
			name:   "no_stream_options drops stream_options even when the caller asked",
			quirks: []string{QuirkNoStreamOptions},
			req:    base(func(r *octomesh.ChatRequest) { r.StreamOptions = &octomesh.StreamOptions{IncludeUsage: true} }),
			stream: true,
			want:   `{"model":"gpt-4o-mini",` + msgs + `,"stream":true}`,
		},
		{
			name: "metadata dropped with store false",
			req: base(func(r *octomesh.ChatRequest) {
				r.Metadata = map[string]string{"k": "v"}
				r.Store = json.RawMessage(`false`)
			}),
			want: `{"model":"gpt-4o-mini",` + msgs + `,"store":false}`,
		},
		{
			name: "metadata kept with store true",
			req: base(func(r *octomesh.ChatRequest) {
				r.Metadata = map[string]string{"k": "v"}
				r.Store = json.RawMessage(` true `)
			}),
			want: `{"model":"gpt-4o-mini",` + msgs + `,"metadata":{"k":"v"},"store":true}`,
		},
		{
			name: "user forwarded when set",
			req:  base(func(r *octomesh.ChatRequest) { r.User = "u-1" }),
			want: `{"model":"gpt-4o-mini",` + msgs + `,"user":"u-1"}`,
		},
		{
			name: "max tokens forwarded as the caller named them",
			req: base(func(r *octomesh.ChatRequest) {
				r.MaxTokens = intp(10)
				r.MaxCompletionTokens = intp(20)
			}),
			want: `{"model":"gpt-4o-mini",` + msgs + `,"max_tokens":10,"max_completion_tokens":20}`,
		},
		{
			name:   "max_tokens_only keeps a plain max_tokens",
			quirks: []string{QuirkMaxTokensOnly},
			req:    base(func(r *octomesh.ChatRequest) { r.MaxTokens = intp(10) }),
			want:   `{"model":"gpt-4o-mini",` + msgs + `,"max_tokens":10}`,
		},
		{
			name:   "max_tokens_only renames max_completion_tokens",
			quirks: []string{QuirkMaxTokensOnly},
			req:    base(func(r *octomesh.ChatRequest) { r.MaxCompletionTokens = intp(20) }),
			want:   `{"model":"gpt-4o-mini",` + msgs + `,"max_tokens":20}`,
		},
		{
			name:   "no_parallel_tool_calls drops the flag",
			quirks: []string{QuirkNoParallelToolCalls},
			req:    base(func(r *octomesh.ChatRequest) { b := true; r.ParallelToolCalls = &b }),
			want:   `{"model":"gpt-4o-mini",` + msgs + `}`,
		},
		{
			name:   "developer_as_system rewrites only developer messages",
			quirks: []string{QuirkDeveloperAsSystem},
			req: base(func(r *octomesh.ChatRequest) {
				r.Messages = append([]octomesh.Message{{Role: octomesh.RoleDeveloper, Content: octomesh.TextContent("d")}}, r.Messages...)
			}),
			want: `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"d"},{"role":"user","content":"hi"}]}`,
		},
		{
			name:   "azure omits the model from the body",
			quirks: []string{QuirkAzureDeploymentPath},
			req:    base(nil),
			want:   `{` + msgs + `}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Config{ID: "t", APIKey: "k", Quirks: tt.quirks}, nil)
			if err != nil {
				t.Fatal(err)
			}
			before, _ := json.Marshal(tt.req)
			got, err := c.chatRequestBody(tt.req, tt.stream)
			if err != nil {
				t.Fatalf("chatRequestBody: %v", err)
			}
			if diff := jsonDiff(t, tt.want, string(got)); diff != "" {
				t.Errorf("body mismatch (-want +got):\n%s\ngot: %s", diff, got)
			}
			if after, _ := json.Marshal(tt.req); string(after) != string(before) {
				t.Errorf("the caller's request was modified:\n%s", cmp.Diff(string(before), string(after)))
			}
		})
	}
}

func TestAzureRequiresModel(t *testing.T) {
	c, err := New(Config{ID: "az", APIKey: "k", Auth: AuthAPIKey, Quirks: []string{QuirkAzureDeploymentPath}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	req := simpleRequest(false)
	req.Model = ""
	if _, err := c.Chat(context.Background(), req); errCode(t, err) != octomesh.EINVALID {
		t.Errorf("Chat without model: %v, want %s", err, octomesh.EINVALID)
	}
	if _, err := c.ChatStream(context.Background(), req); errCode(t, err) != octomesh.EINVALID {
		t.Errorf("ChatStream without model: %v, want %s", err, octomesh.EINVALID)
	}
	if _, err := c.Embed(context.Background(), &octomesh.EmbeddingRequest{Input: []string{"x"}}); errCode(t, err) != octomesh.EINVALID {
		t.Errorf("Embed without model: %v, want %s", err, octomesh.EINVALID)
	}
}

// TestOutboundHeaders checks that a request carries the credential, the
// content type and the configured headers, and nothing else the adapter
// chose (the transport adds only User-Agent and Content-Length; it asks
// for no compression).
func TestOutboundHeaders(t *testing.T) {
	transport := []string{"Content-Length", "User-Agent"}
	tests := []struct {
		name string
		cfg  Config
		want map[string]string
	}{
		{"bearer", Config{}, map[string]string{"Authorization": "Bearer test-key", "Content-Type": "application/json"}},
		{"api-key", Config{Auth: AuthAPIKey}, map[string]string{"Api-Key": "test-key", "Content-Type": "application/json"}},
		{"none", Config{Auth: AuthNone}, map[string]string{"Content-Type": "application/json"}},
		{"extra headers", Config{Headers: map[string]string{"HTTP-Referer": "https://octomesh.example", "OpenAI-Organization": "org-1"}},
			map[string]string{"Authorization": "Bearer test-key", "Content-Type": "application/json",
				"Http-Referer": "https://octomesh.example", "Openai-Organization": "org-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUpstream(t, http.StatusOK, "application/json", `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}`)
			c := u.client(t, tt.cfg)
			ctx := context.Background()
			if _, err := c.Chat(ctx, simpleRequest(false)); err != nil {
				t.Fatalf("Chat: %v", err)
			}
			r := <-u.request
			var got []string
			for k := range r.Header {
				got = append(got, k)
			}
			var want []string
			for k, v := range tt.want {
				want = append(want, k)
				if r.Header.Get(k) != v {
					t.Errorf("header %s = %q, want %q", k, r.Header.Get(k), v)
				}
			}
			want = append(want, transport...)
			sort.Strings(got)
			sort.Strings(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("header names mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// jsonDiff compares two JSON documents ignoring key order and whitespace.
func jsonDiff(t *testing.T, want, got string) string {
	t.Helper()
	var w, g any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want is not JSON: %v", err)
	}
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		return "got is not JSON: " + err.Error()
	}
	return cmp.Diff(w, g)
}
