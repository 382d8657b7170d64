package mockupstream_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/bench/mockupstream"
	"github.com/octomesh/octomesh/internal/provider"
	"github.com/octomesh/octomesh/internal/provider/anthropic"
	"github.com/octomesh/octomesh/internal/provider/openai"
)

func start(t *testing.T, cfg mockupstream.Config) (*mockupstream.Server, *httptest.Server) {
	t.Helper()
	m := mockupstream.New(cfg)
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return m, srv
}

func chatRequest() *octomesh.ChatRequest {
	return &octomesh.ChatRequest{Model: "gpt-4o-mini", Messages: []octomesh.Message{
		{Role: octomesh.RoleUser, Content: octomesh.TextContent("Say hello.")},
	}}
}

func openAIClient(t *testing.T, url string) *openai.Client {
	t.Helper()
	c, err := openai.New(openai.Config{ID: "mock", BaseURL: url + "/v1", APIKey: "x"}, provider.NewHTTPClient(provider.HTTPOptions{}, false))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func anthropicClient(t *testing.T, url string) *anthropic.Client {
	t.Helper()
	c, err := anthropic.New(anthropic.Config{ID: "mock-anthropic", BaseURL: url, APIKey: "x"}, provider.NewHTTPClient(provider.HTTPOptions{}, false))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// collect drains a stream, returning the concatenated content, the finish
// reason and the usage.
func collect(t *testing.T, st octomesh.ChatStream) (text, finish string, usage *octomesh.Usage) {
	t.Helper()
	defer st.Close()
	var b strings.Builder
	for st.Next() {
		c := st.Chunk()
		for _, ch := range c.Choices {
			b.WriteString(ch.Delta.Content)
			if ch.FinishReason != "" {
				finish = ch.FinishReason
			}
		}
		if c.Usage != nil {
			u := *c.Usage
			usage = &u
		}
	}
	if err := st.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	return b.String(), finish, usage
}

func TestOpenAIWireDecodesWithRealAdapter(t *testing.T) {
	cfg := mockupstream.Config{Tokens: 5, TokenBytes: 6}
	m, srv := start(t, cfg)
	c := openAIClient(t, srv.URL)
	want := strings.Repeat(" bcdef", 5)

	resp, err := c.Chat(context.Background(), chatRequest())
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	if got := resp.Choices[0].Message.Content.Text(); got != want {
		t.Errorf("content = %q, want %q", got, want)
	}
	if diff := cmp.Diff(&octomesh.Usage{PromptTokens: mockupstream.PromptTokens, CompletionTokens: 5, TotalTokens: mockupstream.PromptTokens + 5,
		PromptTokensDetails: &octomesh.PromptTokensDetails{}, CompletionTokensDetails: &octomesh.CompletionTokensDetails{}}, resp.Usage); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}
	if resp.Choices[0].FinishReason != "stop" {
		t.Errorf("finish = %q, want stop", resp.Choices[0].FinishReason)
	}

	st, err := c.ChatStream(context.Background(), chatRequest())
	if err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	text, finish, usage := collect(t, st)
	if text != want || finish != "stop" {
		t.Errorf("stream = %q, %q; want %q, stop", text, finish, want)
	}
	if usage == nil || usage.CompletionTokens != 5 || usage.PromptTokens != mockupstream.PromptTokens {
		t.Errorf("stream usage = %+v, want prompt %d completion 5", usage, mockupstream.PromptTokens)
	}
	if got, want := m.Requests(), uint64(2); got != want {
		t.Errorf("Requests = %d, want %d", got, want)
	}
	if got, want := m.Streams(), uint64(1); got != want {
		t.Errorf("Streams = %d, want %d", got, want)
	}
}

func TestAnthropicWireDecodesWithRealAdapter(t *testing.T) {
	_, srv := start(t, mockupstream.Config{Tokens: 3})
	c := anthropicClient(t, srv.URL)
	want := strings.Repeat(" bcd", 3)

	resp, err := c.Chat(context.Background(), chatRequest())
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	if got := resp.Choices[0].Message.Content.Text(); got != want {
		t.Errorf("content = %q, want %q", got, want)
	}
	if resp.Usage == nil || resp.Usage.PromptTokens != mockupstream.PromptTokens || resp.Usage.CompletionTokens != 3 {
		t.Errorf("usage = %+v", resp.Usage)
	}

	st, err := c.ChatStream(context.Background(), chatRequest())
	if err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	text, finish, usage := collect(t, st)
	if text != want || finish != "stop" {
		t.Errorf("stream = %q, %q; want %q, stop", text, finish, want)
	}
	if usage == nil || usage.CompletionTokens != 3 {
		t.Errorf("stream usage = %+v, want 3 completion tokens", usage)
	}
}

func TestStreamPacing(t *testing.T) {
	// 5 tokens at 100/s after a 30ms TTFT: the first token after ~30ms, the
	// last ~40ms later.
	_, srv := start(t, mockupstream.Config{Tokens: 5, TTFT: 30 * time.Millisecond, TokensPerSec: 100})
	body := `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream": true}`
	t0 := time.Now()
	resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, 1)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}
	ttft := time.Since(t0)
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	total := time.Since(t0)
	if ttft < 30*time.Millisecond {
		t.Errorf("first byte after %v, want ≥ 30ms", ttft)
	}
	if total < 70*time.Millisecond {
		t.Errorf("stream took %v, want ≥ 70ms (TTFT + 4 intervals of 10ms)", total)
	}
	s := string(first) + string(rest)
	if got := strings.Count(s, `"content":" bcd"`); got != 5 {
		t.Errorf("token chunks = %d, want 5", got)
	}
	if strings.Contains(s, `"usage":{`) {
		t.Error("usage chunk sent although include_usage was not asked for")
	}
	if !strings.HasSuffix(s, "data: [DONE]\n\n") {
		t.Errorf("stream does not end with [DONE]: %q", s[max(0, len(s)-40):])
	}
}

func TestDelay(t *testing.T) {
	_, srv := start(t, mockupstream.Config{Delay: 40 * time.Millisecond})
	t0 := time.Now()
	resp, err := http.Post(srv.URL+"/v1/messages", "application/json", strings.NewReader(`{"model":"m","max_tokens":5,"messages":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if d := time.Since(t0); d < 40*time.Millisecond {
		t.Errorf("answered after %v, want ≥ 40ms", d)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("status %d content-type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestUnknownRoute(t *testing.T) {
	_, srv := start(t, mockupstream.Config{})
	resp, err := http.Get(srv.URL + "/v1/chat/completions")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET chat/completions: status %d, want 404", resp.StatusCode)
	}
}

func BenchmarkServeOpenAI(b *testing.B) {
	m := mockupstream.New(mockupstream.Config{})
	body := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
		w := httptest.NewRecorder()
		m.ServeHTTP(w, r)
	}
}
