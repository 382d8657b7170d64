package openai

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
)

func TestEmbedResponses(t *testing.T) {
	two := &octomesh.EmbeddingRequest{Model: "text-embedding-3-small", Input: []string{"a", "b"}}
	tests := []struct {
		name     string
		body     string
		wantData []octomesh.Embedding
		wantCode octomesh.ErrorCode
	}{
		{
			name: "out of order data is put in input order",
			body: `{"object":"list","data":[{"object":"embedding","index":1,"embedding":[0.5]},{"object":"embedding","index":0,"embedding":[0.25]}],"model":"m","usage":{"prompt_tokens":2,"total_tokens":2}}`,
			wantData: []octomesh.Embedding{
				{Object: "embedding", Index: 0, Embedding: []float32{0.25}},
				{Object: "embedding", Index: 1, Embedding: []float32{0.5}},
			},
		},
		{"fewer vectors than inputs", `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5]}],"model":"m"}`, nil, octomesh.EUPSTREAM},
		{"repeated index", `{"object":"list","data":[{"index":0,"embedding":[0.5]},{"index":0,"embedding":[0.5]}],"model":"m"}`, nil, octomesh.EUPSTREAM},
		{"index out of range", `{"object":"list","data":[{"index":0,"embedding":[0.5]},{"index":2,"embedding":[0.5]}],"model":"m"}`, nil, octomesh.EUPSTREAM},
		{"empty vector", `{"object":"list","data":[{"index":0,"embedding":[]},{"index":1,"embedding":[0.5]}],"model":"m"}`, nil, octomesh.EUPSTREAM},
		{"base64 despite asking for float", `{"object":"list","data":[{"index":0,"embedding":"AAAAPw=="},{"index":1,"embedding":"AAAAPw=="}],"model":"m"}`, nil, octomesh.EUPSTREAM},
		{"error object in a 200", `{"error":{"message":"CANARY","type":"server_error","code":null}}`, nil, octomesh.EUPSTREAM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUpstream(t, http.StatusOK, "application/json", tt.body)
			resp, err := u.client(t, Config{}).Embed(context.Background(), two)
			if got := errCode(t, err); got != tt.wantCode {
				t.Fatalf("Embed error code = %q (err %v), want %q", got, err, tt.wantCode)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tt.wantData, resp.Data); diff != "" {
				t.Errorf("data mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
