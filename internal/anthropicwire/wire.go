package anthropicwire

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Version is the anthropic-version header value this package speaks.
const Version = "2023-06-01"

// DefaultMaxTokens is the max_tokens sent when neither the canonical request
// nor the caller's options say otherwise; Anthropic requires the field.
const DefaultMaxTokens = 4096

// Block types.
const (
	BlockText             = "text"
	BlockImage            = "image"
	BlockToolUse          = "tool_use"
	BlockToolResult       = "tool_result"
	BlockThinking         = "thinking"
	BlockRedactedThinking = "redacted_thinking"
)

// Stop reasons.
const (
	StopEndTurn       = "end_turn"
	StopMaxTokens     = "max_tokens"
	StopStopSequence  = "stop_sequence"
	StopToolUse       = "tool_use"
	StopPauseTurn     = "pause_turn"
	StopRefusal       = "refusal"
	StopContextWindow = "model_context_window_exceeded"
)

// Request is the body of POST /v1/messages.
type Request struct {
	Model         string       `json:"model"`
	MaxTokens     int          `json:"max_tokens"`
	System        *Content     `json:"system,omitempty"`
	Messages      []Message    `json:"messages"`
	Tools         []Tool       `json:"tools,omitempty"`
	ToolChoice    *ToolChoice  `json:"tool_choice,omitempty"`
	Temperature   *float64     `json:"temperature,omitempty"`
	TopP          *float64     `json:"top_p,omitempty"`
	TopK          *int         `json:"top_k,omitempty"`
	StopSequences []string     `json:"stop_sequences,omitempty"`
	Stream        bool         `json:"stream,omitempty"`
	Metadata      *RequestMeta `json:"metadata,omitempty"`

	// JSONTool is the name of the forced tool that carries a response_format
	// answer, or "" when the request asked for none. It is not sent; pass it
	// to DecodeResponse / NewStreamDecoder so the tool's input comes back as
	// message content.
	JSONTool string `json:"-"`
}

// RequestMeta is the request's metadata object.
type RequestMeta struct {
	UserID string `json:"user_id,omitempty"`
}

// Message is one conversation turn: role "user" or "assistant".
type Message struct {
	Role    string  `json:"role"`
	Content Content `json:"content"`
}

// Content is a message's, system prompt's or tool result's content: a plain
// string or a list of blocks. A plain string is held as one text block with
// Array false, mirroring octomesh.Content.
type Content struct {
	Blocks []ContentBlock
	Array  bool // encode as an array of blocks even if it is a single text block
}

// TextContent returns content holding the plain string s.
func TextContent(s string) Content {
	return Content{Blocks: []ContentBlock{{Type: BlockText, Text: s}}}
}

// MarshalJSON encodes a string or an array of blocks.
func (c Content) MarshalJSON() ([]byte, error) {
	if !c.Array && len(c.Blocks) == 1 && c.Blocks[0].Type == BlockText {
		return json.Marshal(c.Blocks[0].Text)
	}
	if c.Blocks == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(c.Blocks)
}

// UnmarshalJSON accepts a string or an array of blocks.
func (c *Content) UnmarshalJSON(b []byte) error {
	switch firstByte(b) {
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*c = TextContent(s)
		return nil
	case '[':
		var blocks []ContentBlock
		if err := json.Unmarshal(b, &blocks); err != nil {
			return err
		}
		if blocks == nil {
			blocks = []ContentBlock{}
		}
		*c = Content{Blocks: blocks, Array: true}
		return nil
	case 'n':
		*c = Content{}
		return nil
	}
	return errors.New("content must be a string or an array of blocks")
}

// ContentBlock is one content block. Which fields are meaningful depends on
// Type; MarshalJSON writes exactly the fields of that type.
type ContentBlock struct {
	Type string

	Text string // text

	Source *ImageSource // image

	ID    string          // tool_use
	Name  string          // tool_use
	Input json.RawMessage // tool_use: a JSON object

	ToolUseID     string   // tool_result
	ResultContent *Content // tool_result: nil when absent
	IsError       bool     // tool_result

	Thinking  string // thinking
	Signature string // thinking
	Data      string // redacted_thinking
}

// blockJSON is the union of every block's fields, for decoding.
type blockJSON struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	Source    *ImageSource    `json:"source"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   *Content        `json:"content"`
	IsError   bool            `json:"is_error"`
	Thinking  string          `json:"thinking"`
	Signature string          `json:"signature"`
	Data      string          `json:"data"`
}

// UnmarshalJSON decodes any block leniently (unknown fields are ignored):
// it is used for upstream responses, which may grow new fields.
func (b *ContentBlock) UnmarshalJSON(data []byte) error {
	var v blockJSON
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*b = ContentBlock{
		Type: v.Type, Text: v.Text, Source: v.Source,
		ID: v.ID, Name: v.Name, Input: v.Input,
		ToolUseID: v.ToolUseID, ResultContent: v.Content, IsError: v.IsError,
		Thinking: v.Thinking, Signature: v.Signature, Data: v.Data,
	}
	return nil
}

// MarshalJSON writes the block in its type's exact shape.
func (b ContentBlock) MarshalJSON() ([]byte, error) {
	switch b.Type {
	case BlockText:
		return json.Marshal(struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}{b.Type, b.Text})
	case BlockImage:
		if b.Source == nil {
			return nil, errors.New("image block without source")
		}
		return json.Marshal(struct {
			Type   string       `json:"type"`
			Source *ImageSource `json:"source"`
		}{b.Type, b.Source})
	case BlockToolUse:
		input := b.Input
		if len(input) == 0 {
			input = json.RawMessage("{}")
		}
		return json.Marshal(struct {
			Type  string          `json:"type"`
			ID    string          `json:"id"`
			Name  string          `json:"name"`
			Input json.RawMessage `json:"input"`
		}{b.Type, b.ID, b.Name, input})
	case BlockToolResult:
		return json.Marshal(struct {
			Type      string   `json:"type"`
			ToolUseID string   `json:"tool_use_id"`
			Content   *Content `json:"content,omitempty"`
			IsError   bool     `json:"is_error,omitempty"`
		}{b.Type, b.ToolUseID, b.ResultContent, b.IsError})
	case BlockThinking:
		return json.Marshal(struct {
			Type      string `json:"type"`
			Thinking  string `json:"thinking"`
			Signature string `json:"signature"`
		}{b.Type, b.Thinking, b.Signature})
	case BlockRedactedThinking:
		return json.Marshal(struct {
			Type string `json:"type"`
			Data string `json:"data"`
		}{b.Type, b.Data})
	}
	return nil, fmt.Errorf("cannot encode content block type %q", b.Type)
}

// Image source types.
const (
	SourceBase64 = "base64"
	SourceURL    = "url"
)

// ImageSource is an image block's source: inline base64 data or a URL.
type ImageSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

// Tool declares a client tool.
type Tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
	Strict      *bool           `json:"strict,omitempty"`
}

// Tool choice types.
const (
	ChoiceAuto = "auto"
	ChoiceAny  = "any"
	ChoiceTool = "tool"
	ChoiceNone = "none"
)

// ToolChoice says how the model may use tools.
type ToolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

// Response is a complete message: the non-streaming response body, and the
// message shell inside a message_start event.
type Response struct {
	ID           string         `json:"id"`
	Type         string         `json:"type"`
	Role         string         `json:"role"`
	Model        string         `json:"model"`
	Content      []ContentBlock `json:"content"`
	StopReason   *string        `json:"stop_reason"`
	StopSequence *string        `json:"stop_sequence"`
	Usage        Usage          `json:"usage"`
}

// Usage is a message's token accounting.
type Usage struct {
	InputTokens              int `json:"input_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	OutputTokens             int `json:"output_tokens"`
}

// ErrorResponse is Anthropic's error body, also the data of an "error"
// stream event: {"type":"error","error":{"type":...,"message":...}}.
type ErrorResponse struct {
	Type  string      `json:"type"`
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inner error object.
type ErrorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// firstByte returns the first non-space byte of a JSON value, or 0.
func firstByte(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c
	}
	return 0
}
