package openai

import (
	"bytes"
	"encoding/json"
	"slices"
	"sync"

	"github.com/octomesh/octomesh"
)

// chatBody is the upstream chat request: the canonical request (a copy,
// with quirks applied) whose model may be omitted. The outer Model field
// shadows the embedded one in JSON.
type chatBody struct {
	*octomesh.ChatRequest
	Model string `json:"model,omitempty"`
}

// chatRequestBody encodes the upstream body for req without modifying req.
// stream selects a streaming request.
func (c *Client) chatRequestBody(req *octomesh.ChatRequest, stream bool) ([]byte, error) {
	return c.appendChatRequestBody(nil, req, stream)
}

// appendChatRequestBody is chatRequestBody appending to dst (a pooled
// buffer's), which it grows once to the body's estimated size.
func (c *Client) appendChatRequestBody(dst []byte, req *octomesh.ChatRequest, stream bool) ([]byte, error) {
	if c.quirks.has(azureDeploymentPath) && req.Model == "" {
		return nil, octomesh.Errorf(octomesh.EINVALID, "model is required").WithParam("model")
	}
	// A shallow copy (fields are replaced, never written through), in a
	// pooled request rather than on the stack: 536 bytes of this frame
	// were under a streaming relay's deepest calls (see h1server's
	// continuation), past what a 4 KiB stack holds.
	outp := requestCopies.Get().(*octomesh.ChatRequest)
	defer putRequestCopy(outp)
	*outp = *req
	out := outp
	model := req.Model
	if c.quirks.has(azureDeploymentPath) {
		model = "" // the deployment in the path names the model
	}
	body := chatBody{ChatRequest: out, Model: model}

	out.Stream = stream
	out.StreamOptions = nil
	if stream && !c.quirks.has(noStreamOptions) {
		out.StreamOptions = &includeUsage
	}
	if !isJSONTrue(req.Store) {
		out.Metadata = nil // OpenAI accepts metadata only with store: true
	}
	if c.quirks.has(maxTokensOnly) && req.MaxCompletionTokens != nil {
		n := req.MaxOutputTokens()
		out.MaxTokens = &n
		out.MaxCompletionTokens = nil
	}
	if c.quirks.has(noParallelToolCalls) {
		out.ParallelToolCalls = nil
	}
	if c.quirks.has(developerAsSystem) {
		out.Messages = developerToSystem(req.Messages)
	}

	if b, ok := appendChatBody(slices.Grow(dst, bodySize(out)), &body); ok {
		return b, nil
	}
	return marshalChatBody(out, model)
}

// marshalChatBody encodes the request with encoding/json, from a copy of
// its own: what json.Marshal is given escapes to the heap, and the hand
// path's copy need not. The copy is made here, not passed by value: a
// ChatRequest argument took 536 bytes of the caller's frame, under the
// request path's deepest calls.
//
//go:noinline
func marshalChatBody(in *octomesh.ChatRequest, model string) ([]byte, error) {
	out := *in
	b, err := json.Marshal(chatBody{ChatRequest: &out, Model: model})
	if err != nil {
		return nil, octomesh.Errorf(octomesh.EINVALID, "the request could not be encoded for the provider").WithCause(err)
	}
	return b, nil
}

// requestCopies holds appendChatRequestBody's request copies.
var requestCopies = sync.Pool{New: func() any { return new(octomesh.ChatRequest) }}

// putRequestCopy clears r, so that the pool holds no request's texts, and
// gives it back.
func putRequestCopy(r *octomesh.ChatRequest) {
	*r = octomesh.ChatRequest{}
	requestCopies.Put(r)
}

// includeUsage is the stream options every streaming request sends,
// shared: the request copy is only encoded, never written through.
var includeUsage = octomesh.StreamOptions{IncludeUsage: true}

// bodySize estimates the encoded size of r's body, so that it is written
// into one buffer: the text, plus room for the JSON around it.
func bodySize(r *octomesh.ChatRequest) int {
	n := 256
	for i := range r.Messages {
		m := &r.Messages[i]
		n += 48 + len(m.Name) + len(m.ToolCallID) + len(m.Refusal)
		for _, p := range m.Content.Parts {
			n += len(p.Text) + len(p.Text)/16 // escapes
		}
		for _, tc := range m.ToolCalls {
			n += 96 + len(tc.ID) + len(tc.Function.Name) + len(tc.Function.Arguments)*5/4
		}
	}
	return n
}

// developerToSystem returns msgs with role developer replaced by system,
// copying the slice only if a message changes.
func developerToSystem(msgs []octomesh.Message) []octomesh.Message {
	var out []octomesh.Message
	for i := range msgs {
		if msgs[i].Role != octomesh.RoleDeveloper {
			continue
		}
		if out == nil {
			out = append([]octomesh.Message(nil), msgs...)
		}
		out[i].Role = octomesh.RoleSystem
	}
	if out == nil {
		return msgs
	}
	return out
}

// isJSONTrue reports whether raw is the JSON literal true.
func isJSONTrue(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("true"))
}

// embedBody is the upstream embeddings request.
type embedBody struct {
	Model          string                  `json:"model,omitempty"`
	Input          octomesh.EmbeddingInput `json:"input"`
	EncodingFormat string                  `json:"encoding_format"`
	Dimensions     *int                    `json:"dimensions,omitempty"`
	User           string                  `json:"user,omitempty"`
}

// embedRequestBody encodes the upstream embeddings body for req. It always
// asks for float vectors: the canonical response holds floats, and the
// inbound layer encodes base64 itself when its caller asked for it.
func (c *Client) embedRequestBody(req *octomesh.EmbeddingRequest) ([]byte, error) {
	if c.quirks.has(azureDeploymentPath) && req.Model == "" {
		return nil, octomesh.Errorf(octomesh.EINVALID, "model is required").WithParam("model")
	}
	body := embedBody{
		Model:          req.Model,
		Input:          req.Input,
		EncodingFormat: "float",
		Dimensions:     req.Dimensions,
		User:           req.User,
	}
	if c.quirks.has(azureDeploymentPath) {
		body.Model = ""
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, octomesh.Errorf(octomesh.EINVALID, "the request could not be encoded for the provider").WithCause(err)
	}
	return b, nil
}
