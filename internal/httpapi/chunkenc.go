package httpapi

import (
	"encoding/json"
	"strconv"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/jsonw"
)

// chunkEncoder writes canonical chunks exactly as OpenAI's API streams them:
// every field OpenAI sends, nulls included ("logprobs":null,
// "finish_reason":null, and "usage":null on every chunk when the caller asked
// for usage), with no reflection and no allocation on the hot path.
type chunkEncoder struct {
	includeUsage bool
}

func (e *chunkEncoder) append(b []byte, c *octomesh.Chunk) []byte {
	b = append(b, `{"id":`...)
	b = jsonw.AppendString(b, c.ID, false)
	b = append(b, `,"object":"chat.completion.chunk","created":`...)
	b = strconv.AppendInt(b, c.Created, 10)
	b = append(b, `,"model":`...)
	b = jsonw.AppendString(b, c.Model, false)
	if c.SystemFingerprint != "" {
		b = append(b, `,"system_fingerprint":`...)
		b = jsonw.AppendString(b, c.SystemFingerprint, false)
	}
	b = append(b, `,"choices":[`...)
	for i := range c.Choices {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendChunkChoice(b, &c.Choices[i])
	}
	b = append(b, ']')
	if e.includeUsage {
		b = append(b, `,"usage":`...)
		if c.Usage == nil {
			b = append(b, "null"...)
		} else {
			b = appendUsage(b, c.Usage)
		}
	}
	return append(b, '}')
}

func appendChunkChoice(b []byte, ch *octomesh.ChunkChoice) []byte {
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, int64(ch.Index), 10)
	b = append(b, `,"delta":{`...)
	d := &ch.Delta
	first := true
	field := func(name string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `":`...)
	}
	if d.Role != "" {
		field("role")
		b = jsonw.AppendString(b, string(d.Role), false)
		// OpenAI's role chunk carries empty content and a null refusal.
		if d.Content == "" && len(d.ToolCalls) == 0 {
			field("content")
			b = append(b, `""`...)
			field("refusal")
			b = append(b, "null"...)
		}
	}
	if d.Content != "" {
		field("content")
		b = jsonw.AppendString(b, d.Content, false)
	}
	if d.Refusal != "" {
		field("refusal")
		b = jsonw.AppendString(b, d.Refusal, false)
	}
	if len(d.ToolCalls) > 0 {
		field("tool_calls")
		b = append(b, '[')
		for i := range d.ToolCalls {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendToolCallDelta(b, &d.ToolCalls[i], i)
		}
		b = append(b, ']')
	}
	b = append(b, `},"logprobs":null,"finish_reason":`...)
	if ch.FinishReason == "" {
		b = append(b, "null"...)
	} else {
		b = jsonw.AppendString(b, ch.FinishReason, false)
	}
	return append(b, '}')
}

func appendToolCallDelta(b []byte, tc *octomesh.ToolCall, pos int) []byte {
	idx := pos
	if tc.Index != nil {
		idx = *tc.Index
	}
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, int64(idx), 10)
	if tc.ID != "" {
		b = append(b, `,"id":`...)
		b = jsonw.AppendString(b, tc.ID, false)
	}
	if tc.Type != "" {
		b = append(b, `,"type":`...)
		b = jsonw.AppendString(b, tc.Type, false)
	}
	b = append(b, `,"function":{`...)
	if tc.Function.Name != "" {
		b = append(b, `"name":`...)
		b = jsonw.AppendString(b, tc.Function.Name, false)
		b = append(b, ',')
	}
	b = append(b, `"arguments":`...)
	b = jsonw.AppendString(b, tc.Function.Arguments, false)
	return append(b, "}}"...)
}

func appendUsage(b []byte, u *octomesh.Usage) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(u.PromptTokens), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(u.CompletionTokens), 10)
	b = append(b, `,"total_tokens":`...)
	total := u.TotalTokens
	if total == 0 {
		total = u.PromptTokens + u.CompletionTokens
	}
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, int64(u.CachedTokens()), 10)
	b = append(b, `},"completion_tokens_details":{"reasoning_tokens":`...)
	reasoning := 0
	if u.CompletionTokensDetails != nil {
		reasoning = u.CompletionTokensDetails.ReasoningTokens
	}
	b = strconv.AppendInt(b, int64(reasoning), 10)
	return append(b, "}}"...)
}

// appendJSONValue appends v encoded by encoding/json (for rare, cold paths).
func appendJSONValue(b []byte, v any) []byte {
	j, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, j...)
}
