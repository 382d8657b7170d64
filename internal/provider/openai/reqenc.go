package openai

import (
	"strconv"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/jsonw"
)

// appendChatBody appends body encoded exactly as json.Marshal(body)
// encodes it, and reports whether it could: it writes the common request
// by hand (messages of plain text or null content, tool calls, the
// sampling parameters, stream options) and refuses anything else — tools,
// a tool choice, a response format, metadata, multi-part content, the
// passthrough fields, OctoMesh's own options, a non-finite number — which
// the caller then leaves to encoding/json. TestChatBodyEncoderMatchesJSON
// and FuzzChatBodyEncoder check the equivalence.
//
// The field order is encoding/json's: the embedded request's fields in
// declaration order, then chatBody's own "model" (it shadows the request's).
func appendChatBody(b []byte, body *chatBody) ([]byte, bool) {
	r := body.ChatRequest
	if r == nil || len(r.Tools) > 0 || r.ToolChoice != nil || r.ResponseFormat != nil || len(r.Metadata) > 0 ||
		r.Octomesh != nil || hasPassthrough(&r.Passthrough) {
		return b, false
	}
	b = append(b, `{"messages":`...)
	if r.Messages == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range r.Messages {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendMessage(b, &r.Messages[i]); !ok {
				return b, false
			}
		}
		b = append(b, ']')
	}
	if r.ParallelToolCalls != nil {
		b = append(b, `,"parallel_tool_calls":`...)
		b = strconv.AppendBool(b, *r.ParallelToolCalls)
	}
	b = appendIntField(b, `,"max_tokens":`, r.MaxTokens)
	b = appendIntField(b, `,"max_completion_tokens":`, r.MaxCompletionTokens)
	var ok bool
	if b, ok = jsonw.AppendFloatField(b, `,"temperature":`, r.Temperature); !ok {
		return b, false
	}
	if b, ok = jsonw.AppendFloatField(b, `,"top_p":`, r.TopP); !ok {
		return b, false
	}
	b = jsonw.AppendStringsField(b, `,"stop":`, r.Stop)
	if r.Seed != nil {
		b = append(b, `,"seed":`...)
		b = strconv.AppendInt(b, *r.Seed, 10)
	}
	b = appendIntField(b, `,"n":`, r.N)
	if b, ok = jsonw.AppendFloatField(b, `,"presence_penalty":`, r.PresencePenalty); !ok {
		return b, false
	}
	if b, ok = jsonw.AppendFloatField(b, `,"frequency_penalty":`, r.FrequencyPenalty); !ok {
		return b, false
	}
	if r.User != "" {
		b = append(b, `,"user":`...)
		b = jsonw.AppendString(b, r.User, true)
	}
	if r.Stream {
		b = append(b, `,"stream":true`...)
	}
	if o := r.StreamOptions; o != nil {
		b = append(b, `,"stream_options":{`...)
		sep := ""
		if o.IncludeUsage {
			b = append(b, `"include_usage":true`...)
			sep = ","
		}
		if o.IncludeObfuscation != nil {
			b = append(b, sep+`"include_obfuscation":`...)
			b = strconv.AppendBool(b, *o.IncludeObfuscation)
		}
		b = append(b, '}')
	}
	if body.Model != "" {
		b = append(b, `,"model":`...)
		b = jsonw.AppendString(b, body.Model, true)
	}
	return append(b, '}'), true
}

// hasPassthrough reports whether any passthrough field would be encoded
// (omitempty drops only nil and empty values).
func hasPassthrough(p *octomesh.Passthrough) bool {
	for _, v := range [...][]byte{p.Logprobs, p.TopLogprobs, p.LogitBias, p.ReasoningEffort, p.ServiceTier, p.Store,
		p.Modalities, p.Audio, p.Prediction, p.Verbosity, p.WebSearchOptions, p.PromptCacheKey, p.SafetyIdentifier} {
		if len(v) > 0 {
			return true
		}
	}
	return false
}

// appendMessage appends one message; multi-part content is refused.
func appendMessage(b []byte, m *octomesh.Message) ([]byte, bool) {
	b = append(b, `{"role":`...)
	b = jsonw.AppendString(b, string(m.Role), true)
	b = append(b, `,"content":`...)
	c := &m.Content
	switch {
	case c.Parts == nil:
		b = append(b, "null"...)
	case !c.Array && len(c.Parts) == 1 && c.Parts[0].Type == octomesh.PartText:
		b = jsonw.AppendString(b, c.Parts[0].Text, true)
	default:
		return b, false
	}
	if m.Name != "" {
		b = append(b, `,"name":`...)
		b = jsonw.AppendString(b, m.Name, true)
	}
	if len(m.ToolCalls) > 0 {
		b = append(b, `,"tool_calls":[`...)
		for i := range m.ToolCalls {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendToolCall(b, &m.ToolCalls[i])
		}
		b = append(b, ']')
	}
	if m.ToolCallID != "" {
		b = append(b, `,"tool_call_id":`...)
		b = jsonw.AppendString(b, m.ToolCallID, true)
	}
	if m.Refusal != "" {
		b = append(b, `,"refusal":`...)
		b = jsonw.AppendString(b, m.Refusal, true)
	}
	return append(b, '}'), true
}

// appendToolCall appends a tool call as encoding/json encodes ToolCall.
func appendToolCall(b []byte, tc *octomesh.ToolCall) []byte {
	return jsonw.AppendToolCall(b, tc.Index, tc.ID, tc.Type, tc.Function.Name, tc.Function.Arguments, true)
}

func appendIntField(b []byte, name string, v *int) []byte {
	if v == nil {
		return b
	}
	return strconv.AppendInt(append(b, name...), int64(*v), 10)
}
