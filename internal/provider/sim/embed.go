package sim

import (
	"context"
	"fmt"
	"math"

	"github.com/octomesh/octomesh"
)

// maxEmbedInputs bounds the inputs of one embeddings request, as OpenAI does.
const maxEmbedInputs = 2048

// Embed returns one vector per input: deterministic pseudo-random unit
// vectors derived from the fleet seed, the model and the text (similar
// texts are not close). Dimensions, when set, shortens the vector: the
// result is the model's full vector truncated and renormalised, as with
// OpenAI's text-embedding-3 models. Usage counts
// ⌈chars/4⌉ tokens per input (at least 1).
//
// Errors: EINVALID for a chat model, empty or too many inputs, a bad
// dimensions or encoding_format; ECONTEXTLENGTH for an input over the
// model's window; EUPSTREAM for a model not in the fleet; and injected
// faults (embeddings have no fault hints). A cancelled ctx returns its
// error, a deadline ETIMEOUT. Embed is safe for concurrent use.
func (f *Fleet) Embed(ctx context.Context, req *octomesh.EmbeddingRequest) (*octomesh.EmbeddingResponse, error) {
	m, err := f.model(req.Model)
	if err != nil {
		return nil, err
	}
	invalid := func(param, format string, args ...any) error {
		return octomesh.Errorf(octomesh.EINVALID, format, args...).WithParam(param)
	}
	if !m.Caps.Embeddings {
		return nil, invalid("model", "model %s does not support embeddings", m.Name)
	}
	if len(req.Input) == 0 || len(req.Input) > maxEmbedInputs {
		return nil, invalid("input", "input must hold between 1 and %d strings", maxEmbedInputs)
	}
	dims := m.Dimensions
	if req.Dimensions != nil {
		if *req.Dimensions < 1 || *req.Dimensions > m.Dimensions {
			return nil, invalid("dimensions", "dimensions must be between 1 and %d for model %s", m.Dimensions, m.Name)
		}
		dims = *req.Dimensions
	}
	switch req.EncodingFormat {
	case "", "float", "base64":
	default:
		return nil, invalid("encoding_format", "encoding_format must be float or base64")
	}
	tokens := 0
	hashes := make([][]byte, len(req.Input))
	for i, in := range req.Input {
		if in == "" {
			return nil, invalid(fmt.Sprintf("input[%d]", i), "input strings must not be empty")
		}
		n := max(1, textTokens(in))
		if n > m.ContextWindow {
			return nil, octomesh.Errorf(octomesh.ECONTEXTLENGTH, "model %s accepts at most %d tokens per input, but input %d has %d",
				m.Name, m.ContextWindow, i, n).WithParam(fmt.Sprintf("input[%d]", i))
		}
		tokens += n
		k := f.keyOf("embedding", []byte(m.Name), []byte(in))
		hashes[i] = k[:]
	}
	k := f.keyOf("embed", hashes...)
	attempt := f.attempt(k)
	fault, err := f.decideFault(m, k, attempt, nil)
	if err != nil {
		return nil, err
	}
	if err := f.faultError(fault, k.rng("retry-after", attempt)); err != nil {
		return nil, err
	}
	t := f.timing(m, k, attempt, tokens)
	switch fault {
	case FaultTimeout, FaultStall:
		return nil, f.hang(ctx)
	case FaultCut, FaultMalformed:
		if err := f.sleep(ctx, t.ttft); err != nil {
			return nil, err
		}
		return nil, f.lateError(fault)
	}
	if err := f.sleep(ctx, t.ttft); err != nil {
		return nil, err
	}
	resp := &octomesh.EmbeddingResponse{
		Object: "list", Model: req.Model, Data: make([]octomesh.Embedding, len(req.Input)),
		Usage: octomesh.Usage{PromptTokens: tokens, TotalTokens: tokens},
	}
	for i := range req.Input {
		var hk key
		copy(hk[:], hashes[i])
		resp.Data[i] = octomesh.Embedding{Object: "embedding", Index: i, Embedding: vector(hk, dims)}
	}
	return resp, nil
}

// vector draws a Gaussian vector from k and scales it to unit length.
// Components are drawn in order, so a shorter vector is a prefix of a
// longer one before normalisation, as with text-embedding-3's dimensions.
func vector(k key, dims int) []float32 {
	r := k.rng("vector", 0)
	v := make([]float64, dims)
	var norm float64
	for i := range v {
		v[i] = r.NormFloat64()
		norm += v[i] * v[i]
	}
	norm = math.Sqrt(norm)
	out := make([]float32, dims)
	for i, x := range v {
		out[i] = float32(x / norm)
	}
	return out
}
