package anthropicwire

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/jsonw"
)

// MessageID returns the id an Anthropic client sees for a canonical id: the
// id itself if it already starts with "msg_", else "msg_" + id.
func MessageID(id string) string {
	if strings.HasPrefix(id, "msg_") {
		return id
	}
	return "msg_" + id
}

// EncodeResponse translates a canonical response into an Anthropic message
// body (the inbound /v1/messages endpoint's answer): the first choice's text
// (or refusal) as a text block, then its tool calls as tool_use blocks.
//
// It returns an *octomesh.Error with code EUPSTREAM when a tool call's
// arguments are not a JSON object: the model produced something an Anthropic
// client cannot receive.
func EncodeResponse(resp *octomesh.ChatResponse) ([]byte, error) {
	b, err := AppendResponse(nil, resp)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// AppendResponse appends EncodeResponse's encoding of resp to b, written
// by hand (see encodeResponseJSON for the encoding/json version it
// matches, which it falls back to for tool call arguments that
// encoding/json would escape). On error, b's appended bytes are garbage.
// TestAppendResponseMatchesJSON and FuzzAppendResponse check it.
func AppendResponse(b []byte, resp *octomesh.ChatResponse) ([]byte, error) {
	start := len(b)
	b = append(b, `{"id":`...)
	n := len(b)
	b = jsonw.AppendString(b, resp.ID, true)
	if !strings.HasPrefix(resp.ID, "msg_") {
		// MessageID's "msg_" + id, without the concatenation: the prefix
		// needs no escape, so it goes in after the opening quote.
		b = append(b, "msg_"...)
		copy(b[n+5:], b[n+1:len(b)-4])
		copy(b[n+1:], "msg_")
	}
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = jsonw.AppendString(b, resp.Model, true)
	b = append(b, `,"content":[`...)
	finish := ""
	if len(resp.Choices) > 0 {
		c := &resp.Choices[0]
		finish = c.FinishReason
		text := answerText(&c.Message)
		first := true
		if text != "" {
			b = append(b, `{"type":"text","text":`...)
			b = jsonw.AppendString(b, text, true)
			b = append(b, '}')
			first = false
		}
		for _, tc := range c.Message.ToolCalls {
			input, err := argumentsObject(tc.Function.Arguments)
			if err != nil {
				return b, octomesh.Errorf(octomesh.EUPSTREAM, "the model produced tool call arguments that are not a JSON object").WithCause(err)
			}
			if !verbatimJSON(input) {
				// encoding/json would escape it: the whole body is its.
				out, err := encodeResponseJSON(resp)
				return append(b[:start], out...), err
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, `{"type":"tool_use","id":`...)
			b = jsonw.AppendString(b, tc.ID, true)
			b = append(b, `,"name":`...)
			b = jsonw.AppendString(b, tc.Function.Name, true)
			b = append(b, `,"input":`...)
			b = append(b, input...)
			b = append(b, '}')
		}
	}
	b = append(b, `],"stop_reason":`...)
	b = jsonw.AppendString(b, StopReason(finish), true)
	u := WireUsage(resp.Usage)
	b = append(b, `,"stop_sequence":null,"usage":{"input_tokens":`...)
	b = strconv.AppendInt(b, int64(u.InputTokens), 10)
	b = append(b, `,"cache_creation_input_tokens":`...)
	b = strconv.AppendInt(b, int64(u.CacheCreationInputTokens), 10)
	b = append(b, `,"cache_read_input_tokens":`...)
	b = strconv.AppendInt(b, int64(u.CacheReadInputTokens), 10)
	b = append(b, `,"output_tokens":`...)
	b = strconv.AppendInt(b, int64(u.OutputTokens), 10)
	return append(b, `}}`...), nil
}

// encodeResponseJSON is EncodeResponse through encoding/json.
func encodeResponseJSON(resp *octomesh.ChatResponse) ([]byte, error) {
	out := Response{
		ID:      MessageID(resp.ID),
		Type:    "message",
		Role:    "assistant",
		Model:   resp.Model,
		Content: []ContentBlock{},
		Usage:   WireUsage(resp.Usage),
	}
	finish := ""
	if len(resp.Choices) > 0 {
		c := &resp.Choices[0]
		finish = c.FinishReason
		text := answerText(&c.Message)
		if text != "" {
			out.Content = append(out.Content, ContentBlock{Type: BlockText, Text: text})
		}
		for _, tc := range c.Message.ToolCalls {
			input, err := argumentsObject(tc.Function.Arguments)
			if err != nil {
				return nil, octomesh.Errorf(octomesh.EUPSTREAM, "the model produced tool call arguments that are not a JSON object").WithCause(err)
			}
			out.Content = append(out.Content, ContentBlock{Type: BlockToolUse, ID: tc.ID, Name: tc.Function.Name, Input: input})
		}
	}
	stop := StopReason(finish)
	out.StopReason = &stop
	return json.Marshal(out)
}

// answerText is what a message's text block says: its content, or its
// refusal when it has no content (Anthropic's format has no refusal field).
func answerText(m *octomesh.Message) string {
	if text := m.Content.Text(); text != "" {
		return text
	}
	return m.Refusal
}
