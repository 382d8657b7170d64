package gemini

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/provider"
)

// maxEmbedBatch is the most inputs batchEmbedContents accepts in one call.
const maxEmbedBatch = 100

// Embed computes one embedding per input with batchEmbedContents, in
// batches of at most 100 inputs. Errors are *octomesh.Error: EINVALID for
// requests Gemini cannot express, the normalised upstream codes otherwise.
//
// Gemini reports no token usage for embeddings, so prompt tokens are
// estimated as ceil(characters/4) per input, the usual rule of thumb for
// English text; meter with that in mind.
//
// The encoding format is the inbound API's concern (the canonical response
// holds floats), and user is not forwarded: Gemini has no field for it.
func (c *Client) Embed(ctx context.Context, req *octomesh.EmbeddingRequest) (*octomesh.EmbeddingResponse, error) {
	if len(req.Input) == 0 {
		return nil, invalid("input", "input must not be empty")
	}
	if req.Dimensions != nil && *req.Dimensions < 1 {
		return nil, invalid("dimensions", "dimensions must be positive")
	}
	for i, text := range req.Input {
		if text == "" {
			return nil, invalid(fmt.Sprintf("input[%d]", i), "input must not contain empty strings")
		}
	}
	model := "models/" + strings.TrimPrefix(req.Model, "models/")
	out := &octomesh.EmbeddingResponse{Object: "list", Model: req.Model, Data: make([]octomesh.Embedding, 0, len(req.Input))}
	for start := 0; start < len(req.Input); start += maxEmbedBatch {
		batch := req.Input[start:min(start+maxEmbedBatch, len(req.Input))]
		body := batchEmbedRequest{Requests: make([]embedContentRequest, len(batch))}
		for i, text := range batch {
			body.Requests[i] = embedContentRequest{
				Model:                model,
				Content:              content{Parts: []part{{Text: text}}},
				OutputDimensionality: req.Dimensions,
			}
		}
		vecs, err := c.embedBatch(ctx, req.Model, &body)
		if err != nil {
			return nil, err
		}
		if len(vecs.Embeddings) != len(batch) {
			return nil, provider.BadResponse(c.id, fmt.Errorf("gemini returned %d embeddings for %d inputs", len(vecs.Embeddings), len(batch)))
		}
		for i, e := range vecs.Embeddings {
			if len(e.Values) == 0 {
				return nil, provider.BadResponse(c.id, fmt.Errorf("gemini returned an empty embedding for input %d", start+i))
			}
			out.Data = append(out.Data, octomesh.Embedding{Object: "embedding", Index: start + i, Embedding: e.Values})
		}
	}
	for _, text := range req.Input {
		out.Usage.PromptTokens += (utf8.RuneCountInString(text) + 3) / 4
	}
	out.Usage.TotalTokens = out.Usage.PromptTokens
	return out, nil
}

// embedBatch makes one batchEmbedContents call.
func (c *Client) embedBatch(ctx context.Context, model string, body *batchEmbedRequest) (*batchEmbedResponse, error) {
	resp, err := c.post(ctx, model, "batchEmbedContents", body)
	if err != nil {
		return nil, err
	}
	b, err := provider.ReadBody(ctx, c.id, resp)
	if err != nil {
		return nil, err
	}
	var out batchEmbedResponse
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, provider.BadResponse(c.id, err)
	}
	return &out, nil
}
