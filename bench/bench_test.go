package bench_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/bench/mockupstream"
	"github.com/octomesh/octomesh/internal/anthropicwire"
	"github.com/octomesh/octomesh/internal/gateway"
	"github.com/octomesh/octomesh/internal/provider"
	"github.com/octomesh/octomesh/internal/provider/openai"
)

// These benchmarks cover hot-path pieces that need no package-internal
// access; bench/compare.sh runs them with the internal packages' own.

func benchRequest() *octomesh.ChatRequest {
	n, t := 256, 0.2
	return &octomesh.ChatRequest{Model: "gpt-4o-mini", MaxTokens: &n, Temperature: &t, Messages: []octomesh.Message{
		{Role: octomesh.RoleSystem, Content: octomesh.TextContent("You are a concise assistant. Answer in one paragraph.")},
		{Role: octomesh.RoleUser, Content: octomesh.TextContent("Explain in two sentences why a reverse proxy adds latency.")},
	}}
}

// BenchmarkModelResolution measures resolving a requested model name (a
// public name, or a bare upstream name through an alias) to a deployment in
// a catalogue of 40 deployments: the route decision of a request that names
// its model.
func BenchmarkModelResolution(b *testing.B) {
	var ds []octomesh.Deployment
	for i := 0; i < 40; i++ {
		ds = append(ds, octomesh.Deployment{Name: fmt.Sprintf("provider%d/model-%d", i%4, i), Provider: fmt.Sprintf("provider%d", i%4),
			UpstreamModel: fmt.Sprintf("model-%d", i), ContextWindow: 128000, Capabilities: octomesh.Capabilities{Streaming: true}})
	}
	cat, err := gateway.NewCatalog(ds, map[string]string{"fast": "provider1/model-17"})
	if err != nil {
		b.Fatal(err)
	}
	names := []string{"provider2/model-22", "model-31", "fast"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok := cat.Deployment(names[i%len(names)]); !ok {
			b.Fatal("not found")
		}
		i++
	}
}

// newAdapter returns the OpenAI adapter pointed at a mock upstream.
func newAdapter(b *testing.B, cfg mockupstream.Config) *openai.Client {
	b.Helper()
	srv := httptest.NewServer(mockupstream.New(cfg))
	b.Cleanup(srv.Close)
	c, err := openai.New(openai.Config{ID: "mock", BaseURL: srv.URL + "/v1", APIKey: "x"}, provider.NewHTTPClient(provider.HTTPOptions{}, false))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkOpenAIAdapterChat measures one non-streaming upstream call
// through the OpenAI adapter (encode, HTTP over loopback, decode), with the
// mock's share included.
func BenchmarkOpenAIAdapterChat(b *testing.B) {
	c := newAdapter(b, mockupstream.Config{})
	req := benchRequest()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Chat(context.Background(), req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkOpenAIAdapterStream measures one streamed upstream call of 20
// tokens through the OpenAI adapter: the SSE relay's reading side.
func BenchmarkOpenAIAdapterStream(b *testing.B) {
	c := newAdapter(b, mockupstream.Config{Tokens: 20})
	req := benchRequest()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			st, err := c.ChatStream(context.Background(), req)
			if err != nil {
				b.Error(err)
				return
			}
			for st.Next() {
			}
			if err := st.Err(); err != nil {
				b.Error(err)
			}
			st.Close()
		}
	})
}

// BenchmarkAnthropicInbound measures the Anthropic inbound translation of
// one non-streaming exchange: decode the request, encode the response.
func BenchmarkAnthropicInbound(b *testing.B) {
	body := []byte(`{"model":"anthropic/claude-haiku-4-5","max_tokens":256,"system":"You are a concise assistant.",` +
		`"messages":[{"role":"user","content":"Explain in two sentences why a reverse proxy adds latency."}]}`)
	resp := &octomesh.ChatResponse{ID: "chatcmpl-1", Object: octomesh.ObjectChatCompletion, Model: "anthropic/claude-haiku-4-5",
		Choices: []octomesh.Choice{{Message: octomesh.Message{Role: octomesh.RoleAssistant, Content: octomesh.TextContent("A proxy adds a hop.")}, FinishReason: "stop"}},
		Usage:   &octomesh.Usage{PromptTokens: 24, CompletionTokens: 16, TotalTokens: 40}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := anthropicwire.DecodeRequest(body); err != nil {
			b.Fatal(err)
		}
		if _, err := anthropicwire.EncodeResponse(resp); err != nil {
			b.Fatal(err)
		}
	}
}
