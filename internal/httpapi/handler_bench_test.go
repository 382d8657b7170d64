package httpapi

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/octomesh/octomesh"
)

// BenchmarkHandleChat is one non-streaming chat request through the whole
// HTTP layer (request id, authentication, authorisation, body, decode,
// encode) with a service that answers at once: the transport's own cost.
func BenchmarkHandleChat(b *testing.B) {
	resp := &octomesh.ChatResponse{ID: "chatcmpl-1", Object: "chat.completion", Created: 1700000000, Model: "fake/m",
		Choices: []octomesh.Choice{{Message: octomesh.Message{Role: "assistant", Content: octomesh.TextContent("The answer is forty-two.")}, FinishReason: "stop"}},
		Usage:   &octomesh.Usage{PromptTokens: 900, CompletionTokens: 7, TotalTokens: 907}}
	s := New(Options{Service: &fakeService{chat: func(*octomesh.ChatRequest) (*octomesh.ChatResponse, error) { return resp, nil }},
		Auth: fakeAuth{}, MaxBodyBytes: 1 << 20})
	rd := bytes.NewReader(benchBody)
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", rd)
	r.Header.Set("Authorization", "Bearer "+testKey)
	body := io.NopCloser(rd)
	b.ReportAllocs()
	for range b.N {
		rd.Reset(benchBody)
		r.Body = body
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// messagesBench is one non-streaming /v1/messages request through the
// whole HTTP layer, as handleChat's benchmark, with the harness's body.
func messagesBench(tb testing.TB) func() {
	resp := &octomesh.ChatResponse{ID: "chatcmpl-1", Object: "chat.completion", Created: 1700000000, Model: "fake/m",
		Choices: []octomesh.Choice{{Message: octomesh.Message{Role: "assistant", Content: octomesh.TextContent("The answer is forty-two.")}, FinishReason: "stop"}},
		Usage:   &octomesh.Usage{PromptTokens: 900, CompletionTokens: 7, TotalTokens: 907}}
	s := New(Options{Service: &fakeService{chat: func(*octomesh.ChatRequest) (*octomesh.ChatResponse, error) { return resp, nil }},
		Auth: fakeAuth{}, MaxBodyBytes: 1 << 20})
	in := []byte(`{"model":"fake/m","max_tokens":256,"system":"You are a concise assistant.",` +
		`"messages":[{"role":"user","content":"Explain, in one short paragraph, why the sky is blue."}]}`)
	rd := bytes.NewReader(in)
	r := httptest.NewRequest(http.MethodPost, "/v1/messages", rd)
	r.Header.Set("X-Api-Key", testKey)
	body := io.NopCloser(rd)
	return func() {
		rd.Reset(in)
		r.Body = body
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			tb.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

func BenchmarkHandleMessages(b *testing.B) {
	run := messagesBench(b)
	b.ReportAllocs()
	for range b.N {
		run()
	}
}

// TestHandleMessagesAllocs guards /v1/messages' allocations, the
// recorder's included: its answer is encoded by hand into a pooled buffer
// (36 through encoding/json and a fresh one), and its request decoded by
// anthropicwire's pooled decoder (31 before).
func TestHandleMessagesAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	run := messagesBench(t)
	if n := testing.AllocsPerRun(100, run); n > 24 {
		t.Errorf("/v1/messages: %v allocations, want at most 24", n)
	}
}
