package openai

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/provider"
)

// Embed computes embeddings for req.Input. The upstream is always asked for
// float vectors (the inbound layer encodes base64 for callers that want it).
// The response holds one vector per input, in input order; a 2xx body that
// is not that is EUPSTREAM. req is not modified.
func (c *Client) Embed(ctx context.Context, req *octomesh.EmbeddingRequest) (*octomesh.EmbeddingResponse, error) {
	body, err := c.embedRequestBody(req)
	if err != nil {
		return nil, err
	}
	resp, err := provider.PostBytes(ctx, c.hc, c.id, c.endpoint("embeddings", req.Model), c.headers(), body, classify)
	if err != nil {
		return nil, err
	}
	b, err := provider.ReadBody(ctx, c.id, resp)
	if err != nil {
		return nil, err
	}
	return decodeEmbeddingResponse(c.id, b, len(req.Input))
}

// wireEmbeddingResponse is an embeddings response as it arrives.
type wireEmbeddingResponse struct {
	octomesh.EmbeddingResponse
	Error json.RawMessage `json:"error"`
}

// decodeEmbeddingResponse parses an upstream embeddings body that must hold
// exactly one vector for each of n inputs.
func decodeEmbeddingResponse(providerID string, b []byte, n int) (*octomesh.EmbeddingResponse, error) {
	var w wireEmbeddingResponse
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, provider.BadResponse(providerID, err)
	}
	if hasError(w.Error) {
		return nil, embeddedError(providerID, w.Error)
	}
	if len(w.Data) != n {
		return nil, provider.BadResponse(providerID, fmt.Errorf("%d embeddings for %d inputs", len(w.Data), n))
	}
	ordered := make([]octomesh.Embedding, n)
	seen := make([]bool, n)
	for _, e := range w.Data {
		if e.Index < 0 || e.Index >= n || seen[e.Index] {
			return nil, provider.BadResponse(providerID, fmt.Errorf("embedding index %d out of range or repeated", e.Index))
		}
		if len(e.Embedding) == 0 {
			return nil, provider.BadResponse(providerID, fmt.Errorf("embedding %d is empty", e.Index))
		}
		seen[e.Index] = true
		e.Object = "embedding"
		ordered[e.Index] = e
	}
	r := &w.EmbeddingResponse
	r.Object = "list"
	r.Data = ordered
	return r, nil
}
