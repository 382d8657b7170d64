package octomesh

import (
	"fmt"
	"strconv"
	"strings"
)

// Limits on request shape, generous enough for real use and small enough
// that a hostile request cannot make the gateway do unbounded work.
const (
	MaxMessages    = 10_000
	MaxTools       = 512
	MaxStop        = 4
	MaxChoices     = 16
	MaxMetadata    = 16
	MaxEmbedInputs = 2048
)

// Validate checks a chat request for problems every provider would reject,
// returning an EINVALID *Error naming the offending parameter.
func (r *ChatRequest) Validate() error {
	if r.Model == "" {
		return invalid("model", "you must provide a model parameter")
	}
	if len(r.Messages) == 0 {
		return invalid("messages", "messages must be a non-empty array")
	}
	if len(r.Messages) > MaxMessages {
		return invalid("messages", "too many messages (at most %d)", MaxMessages)
	}
	toolCallIDs := map[string]bool{}
	for i := range r.Messages {
		m := &r.Messages[i]
		// Parameter paths are built only for an error: a valid request
		// pays no formatting.
		p := lazyPath{name: "messages", i: i}
		if !m.Role.Valid() {
			return invalid(p.String()+".role", "invalid role %q: want system, developer, user, assistant or tool", truncate(string(m.Role), 32))
		}
		for j, part := range m.Content.Parts {
			pp := p.sub("content", j)
			switch part.Type {
			case PartText:
			case PartImageURL:
				if m.Role != RoleUser {
					return invalid(pp.String(), "image parts are only allowed in user messages")
				}
				if part.ImageURL == nil || part.ImageURL.URL == "" {
					return invalid(pp.String()+".image_url", "image_url.url is required")
				}
				u := part.ImageURL.URL
				if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "data:") {
					return invalid(pp.String()+".image_url", "image_url.url must be an http(s) URL or a data: URL")
				}
			default:
				return invalid(pp.String()+".type", "unsupported content part type %q: want text or image_url", truncate(part.Type, 32))
			}
		}
		switch m.Role {
		case RoleTool:
			if m.ToolCallID == "" {
				return invalid(p.String()+".tool_call_id", "tool messages must have a tool_call_id")
			}
		case RoleAssistant:
			if m.Content.IsNull() && len(m.ToolCalls) == 0 && m.Refusal == "" {
				return invalid(p.String()+".content", "assistant messages need content or tool_calls")
			}
			for k, tc := range m.ToolCalls {
				if tc.ID == "" || tc.Function.Name == "" {
					return invalid(p.sub("tool_calls", k).String(), "tool calls need an id and a function name")
				}
				toolCallIDs[tc.ID] = true
			}
		default:
			if m.Content.IsNull() {
				return invalid(p.String()+".content", "%s messages must have content", m.Role)
			}
			if len(m.ToolCalls) > 0 {
				return invalid(p.String()+".tool_calls", "only assistant messages may have tool_calls")
			}
		}
	}
	if len(r.Tools) > MaxTools {
		return invalid("tools", "too many tools (at most %d)", MaxTools)
	}
	names := map[string]bool{}
	for i, t := range r.Tools {
		p := lazyPath{name: "tools", i: i}
		if t.Type != "function" {
			return invalid(p.String()+".type", "tool type must be \"function\"")
		}
		if !validFunctionName(t.Function.Name) {
			return invalid(p.String()+".function.name", "function names must be 1-64 characters of a-z, A-Z, 0-9, _ and -")
		}
		if names[t.Function.Name] {
			return invalid(p.String()+".function.name", "duplicate function name %q", t.Function.Name)
		}
		names[t.Function.Name] = true
		if len(t.Function.Parameters) > 0 && firstByte(t.Function.Parameters) != '{' {
			return invalid(p.String()+".function.parameters", "parameters must be a JSON Schema object")
		}
	}
	if tc := r.ToolChoice; tc != nil {
		if len(r.Tools) == 0 && tc.Mode != ToolChoiceNone {
			return invalid("tool_choice", "tool_choice is only allowed when tools are specified")
		}
		if tc.Mode == ToolChoiceFunction && !names[tc.Function] {
			return invalid("tool_choice", "tool_choice names function %q, which is not in tools", truncate(tc.Function, 64))
		}
	}
	if rf := r.ResponseFormat; rf != nil {
		switch rf.Type {
		case FormatText, FormatJSONObject:
		case FormatJSONSchema:
			if rf.JSONSchema == nil || rf.JSONSchema.Name == "" {
				return invalid("response_format.json_schema", "json_schema.name is required")
			}
			if len(rf.JSONSchema.Schema) > 0 && firstByte(rf.JSONSchema.Schema) != '{' {
				return invalid("response_format.json_schema.schema", "schema must be a JSON object")
			}
		default:
			return invalid("response_format.type", "response_format.type must be text, json_object or json_schema")
		}
	}
	if err := checkRange("temperature", r.Temperature, 0, 2); err != nil {
		return err
	}
	if err := checkRange("top_p", r.TopP, 0, 1); err != nil {
		return err
	}
	if err := checkRange("presence_penalty", r.PresencePenalty, -2, 2); err != nil {
		return err
	}
	if err := checkRange("frequency_penalty", r.FrequencyPenalty, -2, 2); err != nil {
		return err
	}
	if r.MaxTokens != nil && *r.MaxTokens < 1 {
		return invalid("max_tokens", "max_tokens must be at least 1")
	}
	if r.MaxCompletionTokens != nil && *r.MaxCompletionTokens < 1 {
		return invalid("max_completion_tokens", "max_completion_tokens must be at least 1")
	}
	if r.N != nil && (*r.N < 1 || *r.N > MaxChoices) {
		return invalid("n", "n must be between 1 and %d", MaxChoices)
	}
	if len(r.Stop) > MaxStop {
		return invalid("stop", "at most %d stop sequences are allowed", MaxStop)
	}
	if len(r.Metadata) > MaxMetadata {
		return invalid("metadata", "at most %d metadata keys are allowed", MaxMetadata)
	}
	if r.StreamOptions != nil && !r.Stream {
		return invalid("stream_options", "stream_options is only allowed when stream is true")
	}
	return nil
}

// Validate checks an embeddings request.
func (r *EmbeddingRequest) Validate() error {
	if r.Model == "" {
		return invalid("model", "you must provide a model parameter")
	}
	if len(r.Input) == 0 {
		return invalid("input", "input must be a non-empty string or array of strings")
	}
	if len(r.Input) > MaxEmbedInputs {
		return invalid("input", "at most %d inputs are allowed", MaxEmbedInputs)
	}
	for i, s := range r.Input {
		if s == "" {
			return invalid(fmt.Sprintf("input[%d]", i), "inputs must not be empty strings")
		}
	}
	switch r.EncodingFormat {
	case "", "float", "base64":
	default:
		return invalid("encoding_format", "encoding_format must be float or base64")
	}
	if r.Dimensions != nil && *r.Dimensions < 1 {
		return invalid("dimensions", "dimensions must be at least 1")
	}
	return nil
}

func invalid(param, format string, args ...any) *Error {
	return Errorf(EINVALID, format, args...).WithParam(param)
}

func checkRange(name string, v *float64, lo, hi float64) error {
	if v != nil && (*v < lo || *v > hi) {
		return invalid(name, "%s must be between %g and %g", name, lo, hi)
	}
	return nil
}

func validFunctionName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// truncate shortens user-supplied strings echoed in error messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// EstimateTokens is a provider-independent token estimate (about four bytes
// a token, plus per-message overhead), used before a request is sent (context
// checks, reservations) and when a provider reports no usage.
func (r *ChatRequest) EstimateTokens() int {
	n := 3
	for i := range r.Messages {
		m := &r.Messages[i]
		n += 4
		for _, p := range m.Content.Parts {
			switch p.Type {
			case PartText:
				n += (len(p.Text) + 3) / 4
			case PartImageURL:
				n += 765 // a high-detail 512px tile budget, as OpenAI counts
			}
		}
		for _, tc := range m.ToolCalls {
			n += 8 + (len(tc.Function.Name)+len(tc.Function.Arguments)+3)/4
		}
	}
	for _, t := range r.Tools {
		n += 8 + (len(t.Function.Name)+len(t.Function.Description)+len(t.Function.Parameters)+3)/4
	}
	if r.ResponseFormat != nil && r.ResponseFormat.JSONSchema != nil {
		n += (len(r.ResponseFormat.JSONSchema.Schema) + 3) / 4
	}
	return n
}

// EstimateTokens is the input's token estimate (about four bytes a token),
// used to reserve its cost before it is sent.
func (r *EmbeddingRequest) EstimateTokens() int {
	n := 0
	for _, s := range r.Input {
		n += 1 + (len(s)+3)/4
	}
	return n
}

// lazyPath is a parameter path such as messages[3] or messages[3].content[1],
// formatted only when an error names it.
type lazyPath struct {
	name   string
	i      int
	field  string // "" for a one-level path
	subIdx int
}

func (p lazyPath) sub(name string, i int) lazyPath {
	return lazyPath{name: p.name, i: p.i, field: name, subIdx: i}
}

func (p lazyPath) String() string {
	s := p.name + "[" + strconv.Itoa(p.i) + "]"
	if p.field != "" {
		s += "." + p.field + "[" + strconv.Itoa(p.subIdx) + "]"
	}
	return s
}
