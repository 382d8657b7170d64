package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/provider"
)

// Chat sends a non-streaming chat completion request (whatever req.Stream
// says) and returns the upstream's completion. Upstream failures are
// returned as *octomesh.Error with a normalised code; a 2xx body that is not
// a valid completion is EUPSTREAM. req is not modified.
func (c *Client) Chat(ctx context.Context, req *octomesh.ChatRequest) (*octomesh.ChatResponse, error) {
	resp, err := c.postChat(ctx, req, false)
	if err != nil {
		return nil, err
	}
	provider.ReleaseHeader(resp) // nothing of it is read
	rb, err := provider.ReadBodyPooled(ctx, c.id, resp)
	if err != nil {
		return nil, err
	}
	defer rb.Release() // decoding copies what it keeps
	return decodeChatResponse(c.id, rb.Bytes())
}

// wireResponse is a chat completion as it arrives; Error catches servers
// that answer 200 with an error object.
type wireResponse struct {
	octomesh.ChatResponse
	Error json.RawMessage `json:"error"`

	// Room for what the fast decoder would allocate apart: the response
	// is &ChatResponse, so they live exactly as long as it does.
	choiceArr [1]octomesh.Choice
	usageBlk  usageBlock
	partArr   [1]octomesh.Part // the first text content's
	strs      []byte           // room for its strings, after it (newWireResponse)
}

// decodeChatResponse parses an upstream chat.completion body.
func decodeChatResponse(providerID string, b []byte) (*octomesh.ChatResponse, error) {
	w := newWireResponse(len(b))
	if err := decodeWireResponse(b, w); err != nil {
		return nil, provider.BadResponse(providerID, err)
	}
	if hasError(w.Error) {
		return nil, embeddedError(providerID, w.Error)
	}
	if w.Object == "error" {
		return nil, embeddedError(providerID, b)
	}
	if len(w.Choices) == 0 {
		return nil, provider.BadResponse(providerID, errors.New("completion has no choices"))
	}
	r := &w.ChatResponse
	r.Object = octomesh.ObjectChatCompletion
	for i := range r.Choices {
		ch := &r.Choices[i]
		if ch.Message.Role == "" {
			ch.Message.Role = octomesh.RoleAssistant
		}
		if bytes.Equal(bytes.TrimSpace(ch.Logprobs), []byte("null")) {
			ch.Logprobs = nil
		}
	}
	return r, nil
}
