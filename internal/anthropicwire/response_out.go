package anthropicwire

import (
	"encoding/json"
	"strings"

	"github.com/octomesh/octomesh"
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
		text := c.Message.Content.Text()
		if text == "" {
			text = c.Message.Refusal
		}
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
