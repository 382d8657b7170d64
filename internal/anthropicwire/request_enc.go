package anthropicwire

import (
	"encoding/json"
	"strconv"

	"github.com/octomesh/octomesh/internal/jsonw"
)

// AppendRequest appends r encoded exactly as json.Marshal(r) encodes it,
// and reports whether it could: it writes the common request by hand
// (text, tool_use and tool_result blocks, the sampling parameters, tool
// choice, metadata) and refuses anything else — tools, whose schemas
// encoding/json compacts, image and thinking blocks, tool input it would
// rewrite, a non-finite number — which the caller then leaves to
// encoding/json. On false, b's appended bytes are garbage: append to the
// original b again. TestAppendRequestMatchesJSON and FuzzAppendRequest
// check the equivalence.
func AppendRequest(b []byte, r *Request) ([]byte, bool) {
	if len(r.Tools) > 0 {
		return b, false
	}
	b = append(b, `{"model":`...)
	b = jsonw.AppendString(b, r.Model, true)
	b = append(b, `,"max_tokens":`...)
	b = strconv.AppendInt(b, int64(r.MaxTokens), 10)
	var ok bool
	if r.System != nil {
		b = append(b, `,"system":`...)
		if b, ok = appendContent(b, r.System); !ok {
			return b, false
		}
	}
	b = append(b, `,"messages":`...)
	if r.Messages == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range r.Messages {
			m := &r.Messages[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"role":`...)
			b = jsonw.AppendString(b, m.Role, true)
			b = append(b, `,"content":`...)
			if b, ok = appendContent(b, &m.Content); !ok {
				return b, false
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if tc := r.ToolChoice; tc != nil {
		b = append(b, `,"tool_choice":{"type":`...)
		b = jsonw.AppendString(b, tc.Type, true)
		if tc.Name != "" {
			b = append(b, `,"name":`...)
			b = jsonw.AppendString(b, tc.Name, true)
		}
		if tc.DisableParallelToolUse {
			b = append(b, `,"disable_parallel_tool_use":true`...)
		}
		b = append(b, '}')
	}
	if b, ok = jsonw.AppendFloatField(b, `,"temperature":`, r.Temperature); !ok {
		return b, false
	}
	if b, ok = jsonw.AppendFloatField(b, `,"top_p":`, r.TopP); !ok {
		return b, false
	}
	if r.TopK != nil {
		b = append(b, `,"top_k":`...)
		b = strconv.AppendInt(b, int64(*r.TopK), 10)
	}
	b = jsonw.AppendStringsField(b, `,"stop_sequences":`, r.StopSequences)
	if r.Stream {
		b = append(b, `,"stream":true`...)
	}
	if r.Metadata != nil {
		b = append(b, `,"metadata":{`...)
		if r.Metadata.UserID != "" {
			b = append(b, `"user_id":`...)
			b = jsonw.AppendString(b, r.Metadata.UserID, true)
		}
		b = append(b, '}')
	}
	return append(b, '}'), true
}

// appendContent appends c as Content.MarshalJSON encodes it.
func appendContent(b []byte, c *Content) ([]byte, bool) {
	if !c.Array && len(c.Blocks) == 1 && c.Blocks[0].Type == BlockText {
		return jsonw.AppendString(b, c.Blocks[0].Text, true), true
	}
	b = append(b, '[')
	for i := range c.Blocks {
		if i > 0 {
			b = append(b, ',')
		}
		var ok bool
		if b, ok = appendBlock(b, &c.Blocks[i]); !ok {
			return b, false
		}
	}
	return append(b, ']'), true
}

// appendBlock appends a text, tool_use or tool_result block as
// ContentBlock.MarshalJSON encodes it.
func appendBlock(b []byte, x *ContentBlock) ([]byte, bool) {
	switch x.Type {
	case BlockText:
		b = append(b, `{"type":"text","text":`...)
		b = jsonw.AppendString(b, x.Text, true)
	case BlockToolUse:
		input := []byte(x.Input)
		if len(input) == 0 {
			input = []byte("{}")
		}
		if !verbatimJSON(input) {
			return b, false
		}
		b = append(b, `{"type":"tool_use","id":`...)
		b = jsonw.AppendString(b, x.ID, true)
		b = append(b, `,"name":`...)
		b = jsonw.AppendString(b, x.Name, true)
		b = append(b, `,"input":`...)
		b = append(b, input...)
	case BlockToolResult:
		b = append(b, `{"type":"tool_result","tool_use_id":`...)
		b = jsonw.AppendString(b, x.ToolUseID, true)
		if x.ResultContent != nil {
			b = append(b, `,"content":`...)
			var ok bool
			if b, ok = appendContent(b, x.ResultContent); !ok {
				return b, false
			}
		}
		if x.IsError {
			b = append(b, `,"is_error":true`...)
		}
	default:
		return b, false
	}
	return append(b, '}'), true
}

// verbatimJSON reports whether encoding/json writes the raw value v as it
// is: valid, with no whitespace outside strings (it compacts), and without
// the characters it escapes (<, >, &, U+2028 and U+2029).
func verbatimJSON(v []byte) bool {
	in := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '"':
			in = !in
		case '\\':
			i++ // an escaped byte never ends the string
		case ' ', '\t', '\n', '\r':
			if !in {
				return false
			}
		case '<', '>', '&':
			return false
		case 0xE2:
			if i+2 < len(v) && v[i+1] == 0x80 && (v[i+2] == 0xA8 || v[i+2] == 0xA9) {
				return false
			}
		}
	}
	return json.Valid(v)
}
