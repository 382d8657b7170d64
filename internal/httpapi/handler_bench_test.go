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
