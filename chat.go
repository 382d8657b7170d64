package octomesh

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Role is the author of a chat message.
type Role string

// The message roles OctoMesh understands.
const (
	RoleSystem    Role = "system"
	RoleDeveloper Role = "developer"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	switch r {
	case RoleSystem, RoleDeveloper, RoleUser, RoleAssistant, RoleTool:
		return true
	}
	return false
}

// ChatRequest is the canonical chat completion request. Its JSON form is
// OpenAI's Chat Completions request body.
//
// Fields OpenAI accepts but OctoMesh does not interpret are kept raw in the
// Passthrough fields: the OpenAI adapter forwards them unchanged, and adapters
// for providers that cannot express them reject the request with a clear
// EINVALID error rather than dropping them silently.
type ChatRequest struct {
	Model               string            `json:"model"`
	Messages            []Message         `json:"messages"`
	Tools               []Tool            `json:"tools,omitempty"`
	ToolChoice          *ToolChoice       `json:"tool_choice,omitempty"`
	ParallelToolCalls   *bool             `json:"parallel_tool_calls,omitempty"`
	ResponseFormat      *ResponseFormat   `json:"response_format,omitempty"`
	MaxTokens           *int              `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int              `json:"max_completion_tokens,omitempty"`
	Temperature         *float64          `json:"temperature,omitempty"`
	TopP                *float64          `json:"top_p,omitempty"`
	Stop                Stop              `json:"stop,omitempty"`
	Seed                *int64            `json:"seed,omitempty"`
	N                   *int              `json:"n,omitempty"`
	PresencePenalty     *float64          `json:"presence_penalty,omitempty"`
	FrequencyPenalty    *float64          `json:"frequency_penalty,omitempty"`
	User                string            `json:"user,omitempty"`
	Metadata            map[string]string `json:"metadata,omitempty"`
	Stream              bool              `json:"stream,omitempty"`
	StreamOptions       *StreamOptions    `json:"stream_options,omitempty"`

	// Octomesh is OctoMesh's own extension object: routing preferences and
	// constraints. The gateway never forwards it upstream.
	Octomesh *RouteOptions `json:"octomesh,omitempty"`

	Passthrough
}

// Passthrough holds OpenAI request fields that OctoMesh accepts and forwards
// to OpenAI-compatible upstreams without interpreting them. Each is raw JSON;
// nil means absent.
type Passthrough struct {
	Logprobs         json.RawMessage `json:"logprobs,omitempty"`
	TopLogprobs      json.RawMessage `json:"top_logprobs,omitempty"`
	LogitBias        json.RawMessage `json:"logit_bias,omitempty"`
	ReasoningEffort  json.RawMessage `json:"reasoning_effort,omitempty"`
	ServiceTier      json.RawMessage `json:"service_tier,omitempty"`
	Store            json.RawMessage `json:"store,omitempty"`
	Modalities       json.RawMessage `json:"modalities,omitempty"`
	Audio            json.RawMessage `json:"audio,omitempty"`
	Prediction       json.RawMessage `json:"prediction,omitempty"`
	Verbosity        json.RawMessage `json:"verbosity,omitempty"`
	WebSearchOptions json.RawMessage `json:"web_search_options,omitempty"`
	PromptCacheKey   json.RawMessage `json:"prompt_cache_key,omitempty"`
	SafetyIdentifier json.RawMessage `json:"safety_identifier,omitempty"`
}

// Set returns the JSON names of the passthrough fields present, in a fixed
// order. Adapters that cannot forward them use it to build their error.
func (p *Passthrough) Set() []string {
	var names []string
	add := func(name string, v json.RawMessage) {
		if v != nil && string(v) != "null" {
			names = append(names, name)
		}
	}
	add("logprobs", p.Logprobs)
	add("top_logprobs", p.TopLogprobs)
	add("logit_bias", p.LogitBias)
	add("reasoning_effort", p.ReasoningEffort)
	add("service_tier", p.ServiceTier)
	add("store", p.Store)
	add("modalities", p.Modalities)
	add("audio", p.Audio)
	add("prediction", p.Prediction)
	add("verbosity", p.Verbosity)
	add("web_search_options", p.WebSearchOptions)
	add("prompt_cache_key", p.PromptCacheKey)
	add("safety_identifier", p.SafetyIdentifier)
	return names
}

// MaxOutputTokens returns the effective output-token cap the caller asked
// for (max_completion_tokens wins over the legacy max_tokens), or 0 if none.
func (r *ChatRequest) MaxOutputTokens() int {
	if r.MaxCompletionTokens != nil {
		return *r.MaxCompletionTokens
	}
	if r.MaxTokens != nil {
		return *r.MaxTokens
	}
	return 0
}

// WantsUsageInStream reports whether a streaming caller asked for the final
// usage chunk (stream_options.include_usage).
func (r *ChatRequest) WantsUsageInStream() bool {
	return r.StreamOptions != nil && r.StreamOptions.IncludeUsage
}

// HasImages reports whether any message carries an image part.
func (r *ChatRequest) HasImages() bool {
	for i := range r.Messages {
		for _, p := range r.Messages[i].Content.Parts {
			if p.Type == PartImageURL {
				return true
			}
		}
	}
	return false
}

// StreamOptions are the OpenAI stream options. IncludeObfuscation is
// accepted for compatibility with current SDKs and not forwarded: OctoMesh
// does not pad chunks (OpenAI's "obfuscation" field).
type StreamOptions struct {
	IncludeUsage       bool  `json:"include_usage,omitempty"`
	IncludeObfuscation *bool `json:"include_obfuscation,omitempty"`
}

// Message is one chat message.
type Message struct {
	Role       Role       `json:"role"`
	Content    Content    `json:"content"`
	Name       string     `json:"name,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
	Refusal    string     `json:"refusal,omitempty"`
}

// Part types.
const (
	PartText     = "text"
	PartImageURL = "image_url"
)

// Part is one element of a multi-part message content.
type Part struct {
	Type     string    `json:"type"`
	Text     string    `json:"text,omitempty"`
	ImageURL *ImageURL `json:"image_url,omitempty"`
}

// ImageURL is an image reference: an https URL or a data: URL with base64 data.
type ImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

// Content is a message's content: absent/null, a plain string, or a list of
// parts. A plain string is held as a single text part with Array false, so
// code that reads content only ever looks at Parts.
type Content struct {
	Parts []Part
	// Array records that the content is (or should be sent as) a JSON array
	// of parts rather than a plain string.
	Array bool
}

// TextContent returns content holding the plain string s.
func TextContent(s string) Content {
	return Content{Parts: []Part{{Type: PartText, Text: s}}}
}

// Text returns the concatenation of all text parts.
func (c Content) Text() string {
	if len(c.Parts) == 1 {
		return c.Parts[0].Text
	}
	var b strings.Builder
	for _, p := range c.Parts {
		if p.Type == PartText {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// IsNull reports whether the content is absent.
func (c Content) IsNull() bool { return c.Parts == nil }

// MarshalJSON encodes null, a string, or an array of parts.
func (c Content) MarshalJSON() ([]byte, error) {
	if c.Parts == nil {
		return []byte("null"), nil
	}
	if !c.Array && len(c.Parts) == 1 && c.Parts[0].Type == PartText {
		return json.Marshal(c.Parts[0].Text)
	}
	return json.Marshal(c.Parts)
}

// UnmarshalJSON accepts null, a string, or an array of parts.
func (c *Content) UnmarshalJSON(b []byte) error {
	switch firstByte(b) {
	case 'n':
		*c = Content{}
		return nil
	case '"':
		s, ok := plainString(b)
		if !ok {
			if err := json.Unmarshal(b, &s); err != nil {
				return err
			}
		}
		*c = TextContent(s)
		return nil
	case '[':
		var parts []Part
		if err := json.Unmarshal(b, &parts); err != nil {
			return err
		}
		if parts == nil {
			parts = []Part{}
		}
		*c = Content{Parts: parts, Array: true}
		return nil
	}
	return Errorf(EINVALID, "message content must be a string, an array of content parts, or null").WithParam("content")
}

// Tool is a tool the model may call. Only function tools exist today.
type Tool struct {
	Type     string      `json:"type"`
	Function FunctionDef `json:"function"`
}

// FunctionDef declares a callable function: its name, description and
// JSON Schema parameters.
type FunctionDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// Tool choice modes.
const (
	ToolChoiceAuto     = "auto"
	ToolChoiceNone     = "none"
	ToolChoiceRequired = "required"
	ToolChoiceFunction = "function"
)

// ToolChoice is OpenAI's tool_choice: a mode string, or a named function.
type ToolChoice struct {
	Mode     string // auto, none, required, or function
	Function string // set when Mode is function
}

// MarshalJSON encodes the mode string or the named-function object.
func (t ToolChoice) MarshalJSON() ([]byte, error) {
	if t.Mode == ToolChoiceFunction {
		return json.Marshal(map[string]any{"type": "function", "function": map[string]string{"name": t.Function}})
	}
	return json.Marshal(t.Mode)
}

// UnmarshalJSON accepts "auto" | "none" | "required" | {"type":"function","function":{"name":...}}.
func (t *ToolChoice) UnmarshalJSON(b []byte) error {
	if firstByte(b) == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case ToolChoiceAuto, ToolChoiceNone, ToolChoiceRequired:
			*t = ToolChoice{Mode: s}
			return nil
		}
		return Errorf(EINVALID, "tool_choice must be one of auto, none, required, or a function object; got %q", s).WithParam("tool_choice")
	}
	var obj struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	if obj.Type != "function" || obj.Function.Name == "" {
		return Errorf(EINVALID, "tool_choice object must be {\"type\":\"function\",\"function\":{\"name\":...}}").WithParam("tool_choice")
	}
	*t = ToolChoice{Mode: ToolChoiceFunction, Function: obj.Function.Name}
	return nil
}

// ToolCall is a model's call of a function. In stream deltas Index says which
// call a fragment belongs to and fields arrive piecewise.
type ToolCall struct {
	Index    *int         `json:"index,omitempty"`
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type,omitempty"`
	Function FunctionCall `json:"function"`
}

// FunctionCall names the function and carries its JSON-encoded arguments.
type FunctionCall struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// Response format types.
const (
	FormatText       = "text"
	FormatJSONObject = "json_object"
	FormatJSONSchema = "json_schema"
)

// ResponseFormat asks for structured output.
type ResponseFormat struct {
	Type       string      `json:"type"`
	JSONSchema *JSONSchema `json:"json_schema,omitempty"`
}

// JSONSchema is a named JSON Schema for structured output.
type JSONSchema struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// Stop is the stop parameter: a string or an array of up to four strings.
type Stop []string

// UnmarshalJSON accepts null, a string or an array of strings.
func (s *Stop) UnmarshalJSON(b []byte) error {
	switch firstByte(b) {
	case 'n':
		*s = nil
		return nil
	case '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = Stop{v}
		return nil
	}
	var v []string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = v
	return nil
}

// Finish reasons, as OpenAI names them.
const (
	FinishStop          = "stop"
	FinishLength        = "length"
	FinishToolCalls     = "tool_calls"
	FinishContentFilter = "content_filter"
)

// ChatResponse is the canonical non-streaming chat completion.
type ChatResponse struct {
	ID                string   `json:"id"`
	Object            string   `json:"object"`
	Created           int64    `json:"created"`
	Model             string   `json:"model"`
	Choices           []Choice `json:"choices"`
	Usage             *Usage   `json:"usage,omitempty"`
	SystemFingerprint string   `json:"system_fingerprint,omitempty"`
}

// Choice is one completion alternative.
type Choice struct {
	Index        int             `json:"index"`
	Message      Message         `json:"message"`
	FinishReason string          `json:"finish_reason"`
	Logprobs     json.RawMessage `json:"logprobs,omitempty"`
}

// Usage counts tokens. PromptTokens includes cached tokens (OpenAI's
// convention); CacheWriteTokens is Anthropic's cache_creation_input_tokens,
// which OpenAI's format has no field for.
type Usage struct {
	PromptTokens            int                      `json:"prompt_tokens"`
	CompletionTokens        int                      `json:"completion_tokens"`
	TotalTokens             int                      `json:"total_tokens"`
	PromptTokensDetails     *PromptTokensDetails     `json:"prompt_tokens_details,omitempty"`
	CompletionTokensDetails *CompletionTokensDetails `json:"completion_tokens_details,omitempty"`
	CacheWriteTokens        int                      `json:"-"`
}

// CachedTokens returns the cached prompt tokens, or 0.
func (u *Usage) CachedTokens() int {
	if u == nil || u.PromptTokensDetails == nil {
		return 0
	}
	return u.PromptTokensDetails.CachedTokens
}

// PromptTokensDetails breaks prompt tokens down.
type PromptTokensDetails struct {
	CachedTokens int `json:"cached_tokens"`
}

// CompletionTokensDetails breaks completion tokens down.
type CompletionTokensDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

// Chunk is one streamed piece of a chat completion, in OpenAI's
// chat.completion.chunk shape. The last chunk of a stream whose caller asked
// for usage has no choices and a Usage.
type Chunk struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"`
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	Choices           []ChunkChoice `json:"choices"`
	Usage             *Usage        `json:"usage,omitempty"`
	SystemFingerprint string        `json:"system_fingerprint,omitempty"`
}

// ChunkChoice is one choice's delta in a chunk. FinishReason is empty until
// the choice ends.
type ChunkChoice struct {
	Index        int    `json:"index"`
	Delta        Delta  `json:"delta"`
	FinishReason string `json:"finish_reason,omitempty"`
}

// Delta is the incremental content of a chunk.
type Delta struct {
	Role      Role       `json:"role,omitempty"`
	Content   string     `json:"content,omitempty"`
	Refusal   string     `json:"refusal,omitempty"`
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
}

// Object names used in responses.
const (
	ObjectChatCompletion      = "chat.completion"
	ObjectChatCompletionChunk = "chat.completion.chunk"
)

// firstByte returns the first non-space byte of a JSON value, or 0.
// plainString decodes the JSON string literal b when it needs no
// unescaping: quotes at both ends and, between them, valid UTF-8 without
// a quote, a backslash or a control character. That is encoding/json's
// own fast path, without its reflection and allocations; ok is false for
// anything else (escapes, invalid UTF-8, surrounding space), which the
// caller leaves to encoding/json.
func plainString(b []byte) (s string, ok bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	in := b[1 : len(b)-1]
	for _, c := range in {
		if c < ' ' || c == '"' || c == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(in) {
		return "", false
	}
	return string(in), true
}

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
