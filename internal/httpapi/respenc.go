package httpapi

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/jsonw"
)

// writeChatResponse writes resp as writeJSON does, byte for byte, but
// without reflection: the response of every non-streaming chat request.
// Responses with logprobs (raw JSON that encoding/json would re-compact)
// take writeJSON itself.
func writeChatResponse(w http.ResponseWriter, resp *octomesh.ChatResponse) {
	bp := respBufPool.Get().(*[]byte)
	b, ok := appendChatResponse((*bp)[:0], resp)
	if !ok {
		respBufPool.Put(bp)
		writeJSON(w, http.StatusOK, resp)
		return
	}
	setHeader(w, "Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	if cap(b) <= maxPooledBody {
		*bp = b
		respBufPool.Put(bp)
	}
}

var respBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// appendChatResponse appends resp as encoding/json's Encoder (HTML
// escaping off) writes it, newline included. ok is false, with b
// unspecified, for a response it leaves to encoding/json.
func appendChatResponse(b []byte, resp *octomesh.ChatResponse) (_ []byte, ok bool) {
	b = append(b, `{"id":`...)
	b = jsonw.AppendString(b, resp.ID, false)
	b = append(b, `,"object":`...)
	b = jsonw.AppendString(b, resp.Object, false)
	b = append(b, `,"created":`...)
	b = strconv.AppendInt(b, resp.Created, 10)
	b = append(b, `,"model":`...)
	b = jsonw.AppendString(b, resp.Model, false)
	b = append(b, `,"choices":`...)
	if resp.Choices == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range resp.Choices {
			if i > 0 {
				b = append(b, ',')
			}
			ch := &resp.Choices[i]
			if len(ch.Logprobs) > 0 {
				return b, false
			}
			b = append(b, `{"index":`...)
			b = strconv.AppendInt(b, int64(ch.Index), 10)
			b = append(b, `,"message":`...)
			if b, ok = appendMessage(b, &ch.Message); !ok {
				return b, false
			}
			b = append(b, `,"finish_reason":`...)
			b = jsonw.AppendString(b, ch.FinishReason, false)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if u := resp.Usage; u != nil {
		b = append(b, `,"usage":{"prompt_tokens":`...)
		b = strconv.AppendInt(b, int64(u.PromptTokens), 10)
		b = append(b, `,"completion_tokens":`...)
		b = strconv.AppendInt(b, int64(u.CompletionTokens), 10)
		b = append(b, `,"total_tokens":`...)
		b = strconv.AppendInt(b, int64(u.TotalTokens), 10)
		if d := u.PromptTokensDetails; d != nil {
			b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
			b = strconv.AppendInt(b, int64(d.CachedTokens), 10)
			b = append(b, '}')
		}
		if d := u.CompletionTokensDetails; d != nil {
			b = append(b, `,"completion_tokens_details":{"reasoning_tokens":`...)
			b = strconv.AppendInt(b, int64(d.ReasoningTokens), 10)
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	if resp.SystemFingerprint != "" {
		b = append(b, `,"system_fingerprint":`...)
		b = jsonw.AppendString(b, resp.SystemFingerprint, false)
	}
	return append(b, "}\n"...), true
}

func appendMessage(b []byte, m *octomesh.Message) (_ []byte, ok bool) {
	b = append(b, `{"role":`...)
	b = jsonw.AppendString(b, string(m.Role), false)
	b = append(b, `,"content":`...)
	if b, ok = appendContent(b, m.Content); !ok {
		return b, false
	}
	if m.Name != "" {
		b = append(b, `,"name":`...)
		b = jsonw.AppendString(b, m.Name, false)
	}
	if len(m.ToolCalls) > 0 {
		b = append(b, `,"tool_calls":[`...)
		for i := range m.ToolCalls {
			if i > 0 {
				b = append(b, ',')
			}
			tc := &m.ToolCalls[i]
			b = jsonw.AppendToolCall(b, tc.Index, tc.ID, tc.Type, tc.Function.Name, tc.Function.Arguments, false)
		}
		b = append(b, ']')
	}
	if m.ToolCallID != "" {
		b = append(b, `,"tool_call_id":`...)
		b = jsonw.AppendString(b, m.ToolCallID, false)
	}
	if m.Refusal != "" {
		b = append(b, `,"refusal":`...)
		b = jsonw.AppendString(b, m.Refusal, false)
	}
	return append(b, '}'), true
}

// appendContent appends what Content.MarshalJSON returns. It uses
// json.Marshal, which escapes <, > and & even though writeJSON turns HTML
// escaping off (the Encoder keeps a Marshaler's bytes), so a plain string
// is escaped here the same way.
func appendContent(b []byte, c octomesh.Content) (_ []byte, ok bool) {
	if c.Parts == nil {
		return append(b, "null"...), true
	}
	if !c.Array && len(c.Parts) == 1 && c.Parts[0].Type == octomesh.PartText {
		return jsonw.AppendString(b, c.Parts[0].Text, true), true
	}
	j, err := c.MarshalJSON() // parts: rare in responses, and compact already
	if err != nil {
		return b, false
	}
	return append(b, j...), true
}
