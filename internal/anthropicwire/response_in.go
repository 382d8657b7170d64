package anthropicwire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/octomesh/octomesh"
)

// DecodeResponse translates an Anthropic message body into a canonical
// response. jsonTool is Request.JSONTool of the request that produced it: that
// tool's input becomes the message content. Created is left zero for the
// caller to stamp.
//
// It returns a plain error (the caller reports it as a malformed upstream
// response) when body is not a message.
func DecodeResponse(body []byte, jsonTool string) (*octomesh.ChatResponse, error) {
	var fast Response // on the stack, as its content's room
	var blocks [4]ContentBlock
	r := &fast
	// The content stays in a local: stored in *r, which may be the heap's
	// (decodeResponseJSON), blocks would move to the heap too.
	content, ok := decodeResponseFast(body, r, blocks[:0])
	if !ok {
		var err error
		if r, err = decodeResponseJSON(body); err != nil {
			return nil, fmt.Errorf("decode message: %w", err)
		}
		content = r.Content
	}
	if r.Type != "message" {
		return nil, fmt.Errorf("unexpected body type %q", r.Type)
	}
	if r.ID == "" {
		return nil, errors.New("message without id")
	}
	msg := octomesh.Message{Role: octomesh.RoleAssistant}
	var text strings.Builder
	single := "" // the text, while it is one block's
	hasText := false
	jsonAnswer := false
	for i, b := range content {
		switch b.Type {
		case BlockText:
			if jsonTool != "" {
				continue // a forced tool call is the whole answer
			}
			// The common answer, one text block, needs no builder.
			if !hasText && text.Len() == 0 {
				single = b.Text
			} else {
				if single != "" {
					text.WriteString(single)
					single = ""
				}
				text.WriteString(b.Text)
			}
			hasText = true
		case BlockToolUse:
			args, err := compactObject(b.Input)
			if err != nil {
				return nil, fmt.Errorf("content[%d]: tool_use input: %w", i, err)
			}
			if jsonTool != "" && b.Name == jsonTool {
				if single != "" {
					text.WriteString(single)
					single = ""
				}
				text.WriteString(args)
				hasText, jsonAnswer = true, true
				continue
			}
			msg.ToolCalls = append(msg.ToolCalls, octomesh.ToolCall{
				ID:       b.ID,
				Type:     "function",
				Function: octomesh.FunctionCall{Name: b.Name, Arguments: args},
			})
		}
		// thinking, redacted_thinking and block types added later are skipped.
	}
	switch {
	case hasText && single != "":
		msg.Content = octomesh.TextContent(single)
	case hasText:
		msg.Content = octomesh.TextContent(text.String())
	case len(msg.ToolCalls) == 0:
		msg.Content = octomesh.TextContent("")
	}
	finish := FinishReason(deref(r.StopReason))
	if jsonAnswer && finish == octomesh.FinishToolCalls {
		finish = octomesh.FinishStop
	}
	// The response and its one choice in one allocation.
	x := new(struct {
		resp    octomesh.ChatResponse
		choices [1]octomesh.Choice
	})
	x.choices[0] = octomesh.Choice{Index: 0, Message: msg, FinishReason: finish}
	x.resp = octomesh.ChatResponse{
		ID:      r.ID,
		Object:  octomesh.ObjectChatCompletion,
		Model:   r.Model,
		Choices: x.choices[:],
		Usage:   CanonicalUsage(r.Usage),
	}
	return &x.resp, nil
}

// decodeResponseJSON decodes a message body through encoding/json.
func decodeResponseJSON(body []byte) (*Response, error) {
	r := new(Response)
	if err := json.Unmarshal(body, r); err != nil {
		return nil, err
	}
	return r, nil
}

// FinishReason maps an Anthropic stop_reason to a canonical finish reason.
// Unknown reasons map to "stop".
func FinishReason(stop string) string {
	switch stop {
	case StopMaxTokens, StopContextWindow:
		return octomesh.FinishLength
	case StopToolUse:
		return octomesh.FinishToolCalls
	case StopRefusal:
		return octomesh.FinishContentFilter
	}
	return octomesh.FinishStop // end_turn, stop_sequence, pause_turn, unknown
}

// StopReason maps a canonical finish reason to an Anthropic stop_reason.
// Unknown and empty reasons map to end_turn.
func StopReason(finish string) string {
	switch finish {
	case octomesh.FinishLength:
		return StopMaxTokens
	case octomesh.FinishToolCalls, "function_call":
		return StopToolUse
	case octomesh.FinishContentFilter:
		return StopRefusal
	}
	return StopEndTurn
}

// CanonicalUsage converts Anthropic usage: prompt tokens include cache reads
// and cache writes, as OpenAI's do.
func CanonicalUsage(u Usage) *octomesh.Usage {
	prompt := u.InputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens
	// The usage and its details in one allocation.
	x := new(struct {
		usage   octomesh.Usage
		details octomesh.PromptTokensDetails
	})
	x.details = octomesh.PromptTokensDetails{CachedTokens: u.CacheReadInputTokens}
	x.usage = octomesh.Usage{
		PromptTokens:        prompt,
		CompletionTokens:    u.OutputTokens,
		TotalTokens:         prompt + u.OutputTokens,
		PromptTokensDetails: &x.details,
		CacheWriteTokens:    u.CacheCreationInputTokens,
	}
	return &x.usage
}

// WireUsage is CanonicalUsage's inverse: input_tokens are the prompt tokens
// that were neither read from nor written to the cache.
func WireUsage(u *octomesh.Usage) Usage {
	if u == nil {
		return Usage{}
	}
	read := u.CachedTokens()
	in := u.PromptTokens - read - u.CacheWriteTokens
	if in < 0 {
		in = 0
	}
	return Usage{
		InputTokens:              in,
		CacheCreationInputTokens: u.CacheWriteTokens,
		CacheReadInputTokens:     read,
		OutputTokens:             u.CompletionTokens,
	}
}

// compactObject returns a tool_use input as compact JSON text; an absent
// input is "{}".
func compactObject(raw json.RawMessage) (string, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return "{}", nil
	}
	if firstByte(raw) != '{' {
		return "", errors.New("not a JSON object")
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return "", err
	}
	return b.String(), nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
