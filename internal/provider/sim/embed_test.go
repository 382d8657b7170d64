package sim

import (
	"context"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
)

func embed(t *testing.T, f *Fleet, req *octomesh.EmbeddingRequest) *octomesh.EmbeddingResponse {
	t.Helper()
	resp, err := f.Embed(context.Background(), req)
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	return resp
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func TestEmbeddings(t *testing.T) {
	f := newFleet(t, Options{})
	req := &octomesh.EmbeddingRequest{Model: "text-embedding-3-small", Input: octomesh.EmbeddingInput{"hello world", "goodbye moon", "hello world"}}
	a := embed(t, f, req)
	b := embed(t, newFleet(t, Options{}), req)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("embeddings not deterministic:\n%s", diff)
	}
	if len(a.Data) != 3 || a.Object != "list" || a.Model != req.Model {
		t.Fatalf("response = %d vectors, object %q, model %q", len(a.Data), a.Object, a.Model)
	}
	for i, d := range a.Data {
		if d.Index != i || d.Object != "embedding" || len(d.Embedding) != 1536 {
			t.Errorf("vector %d: index %d object %q dims %d", i, d.Index, d.Object, len(d.Embedding))
		}
		if n := norm(d.Embedding); math.Abs(n-1) > 1e-5 {
			t.Errorf("vector %d has norm %v, want 1", i, n)
		}
	}
	if cmp.Equal(a.Data[0].Embedding, a.Data[1].Embedding) || !cmp.Equal(a.Data[0].Embedding, a.Data[2].Embedding) {
		t.Errorf("want equal texts to embed equally and different texts differently")
	}
	if want := 3 + 3 + 3; a.Usage.PromptTokens != want || a.Usage.TotalTokens != want {
		t.Errorf("usage = %+v, want %d prompt and total tokens", a.Usage, want)
	}
	other := embed(t, newFleet(t, Options{Seed: 1}), req)
	if cmp.Equal(a.Data[0].Embedding, other.Data[0].Embedding) {
		t.Errorf("another fleet seed gave the same vector")
	}

	dims := 256
	short := embed(t, f, &octomesh.EmbeddingRequest{Model: req.Model, Input: req.Input[:1], Dimensions: &dims})
	v := short.Data[0].Embedding
	if len(v) != 256 || math.Abs(norm(v)-1) > 1e-5 {
		t.Fatalf("dimensions 256: got %d dims, norm %v", len(v), norm(v))
	}
	// The short vector is the full one truncated and renormalised.
	scale := norm(a.Data[0].Embedding[:256])
	for i := range v {
		if math.Abs(float64(v[i])-float64(a.Data[0].Embedding[i])/scale) > 1e-5 {
			t.Fatalf("component %d = %v, want %v", i, v[i], float64(a.Data[0].Embedding[i])/scale)
		}
	}
}

func TestEmbeddingErrors(t *testing.T) {
	f := newFleet(t, Options{})
	big, zero := 4096, 0
	tests := []struct {
		name string
		req  octomesh.EmbeddingRequest
		code octomesh.ErrorCode
	}{
		{"chat model", octomesh.EmbeddingRequest{Model: "gpt-4o", Input: octomesh.EmbeddingInput{"x"}}, octomesh.EINVALID},
		{"unknown model", octomesh.EmbeddingRequest{Model: "nope", Input: octomesh.EmbeddingInput{"x"}}, octomesh.EUPSTREAM},
		{"no input", octomesh.EmbeddingRequest{Model: "text-embedding-3-small"}, octomesh.EINVALID},
		{"empty string", octomesh.EmbeddingRequest{Model: "text-embedding-3-small", Input: octomesh.EmbeddingInput{"a", ""}}, octomesh.EINVALID},
		{"too many dims", octomesh.EmbeddingRequest{Model: "text-embedding-3-small", Input: octomesh.EmbeddingInput{"a"}, Dimensions: &big}, octomesh.EINVALID},
		{"zero dims", octomesh.EmbeddingRequest{Model: "text-embedding-3-small", Input: octomesh.EmbeddingInput{"a"}, Dimensions: &zero}, octomesh.EINVALID},
		{"bad encoding", octomesh.EmbeddingRequest{Model: "text-embedding-3-small", Input: octomesh.EmbeddingInput{"a"}, EncodingFormat: "hex"}, octomesh.EINVALID},
		{"input over window", octomesh.EmbeddingRequest{Model: "text-embedding-3-small", Input: octomesh.EmbeddingInput{string(make([]byte, 40_000))}}, octomesh.ECONTEXTLENGTH},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.Embed(context.Background(), &tt.req)
			wantCode(t, err, tt.code)
		})
	}
}

func TestEmbeddingFaults(t *testing.T) {
	models := DefaultModels()[12:]
	models[0].Rates = FaultRates{RateLimit: 1}
	f := newFleet(t, Options{FailureScale: 1, Models: models})
	_, err := f.Embed(context.Background(), &octomesh.EmbeddingRequest{Model: "text-embedding-3-small", Input: octomesh.EmbeddingInput{"x"}})
	if e := wantCode(t, err, octomesh.ERATELIMITED); e.RetryAfter <= 0 {
		t.Errorf("RetryAfter = %v, want > 0", e.RetryAfter)
	}
}
