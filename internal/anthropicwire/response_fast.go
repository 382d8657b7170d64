package anthropicwire

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/octomesh/octomesh/internal/jsonw"
)

// decodeResponseFast decodes a message body into the zero *r exactly as
// json.Unmarshal does (its content returned, for the caller to set), for the shape Anthropic sends: it splits the body
// in place (see split.go) and reads the fields it knows, leaving anything
// else — a key that only folds to a field's name, a duplicated field, a
// value of an unexpected type, a block field it does not read — to
// encoding/json by reporting false. blocks is room for the content.
// TestDecodeResponseFastMatchesJSON and FuzzDecodeResponseFast check the
// equivalence.
func decodeResponseFast(body []byte, r *Response, blocks []ContentBlock) (content []ContentBlock, _ bool) {
	if firstByte(body) != '{' || !json.Valid(body) {
		return nil, false
	}
	// The message's strings share one block, as large as the body when
	// it is small (a large one's take their own, lest a long-lived id
	// hold a large block).
	var a strBlock
	if len(body) <= maxStrBlock {
		a.b = make([]byte, 0, len(body))
	}
	var inline [12]field
	var seen uint8
	for _, f := range splitObject(body, inline[:0]) {
		var bit uint8
		var ok bool
		switch f.key {
		case "id":
			bit, ok = 1, a.optString(f.val, &r.ID)
		case "type":
			bit, ok = 2, a.optString(f.val, &r.Type)
		case "role":
			bit, ok = 4, a.optString(f.val, &r.Role)
		case "model":
			bit, ok = 8, a.optString(f.val, &r.Model)
		case "stop_reason":
			bit, ok = 16, optStringPtr(f.val, &r.StopReason)
		case "stop_sequence":
			bit, ok = 32, optStringPtr(f.val, &r.StopSequence)
		case "usage":
			bit, ok = 64, decodeUsageFast(f.val, &r.Usage)
		case "content":
			bit = 128
			content, ok = a.decodeBlocksFast(f.val, blocks)
		default:
			ok = !foldsTo(f.key, "id", "type", "role", "model", "stop_reason", "stop_sequence", "usage", "content")
		}
		if !ok || seen&bit != 0 {
			return nil, false
		}
		seen |= bit
	}
	return content, true
}

// foldsTo reports whether key matches one of names as encoding/json
// matches keys to fields: case-insensitively, Unicode folds included.
func foldsTo(key string, names ...string) bool {
	for _, n := range names {
		if bytes.EqualFold([]byte(key), []byte(n)) {
			return true
		}
	}
	return false
}

// optString reads a string or null (which leaves *dst alone).
func (a *strBlock) optString(v []byte, dst *string) bool {
	switch v[0] {
	case '"':
		*dst = a.str(v)
	case 'n':
	default:
		return false
	}
	return true
}

// optStringPtr reads a string into a new *string, or null (nil).
func optStringPtr(v []byte, dst **string) bool {
	switch v[0] {
	case '"':
		if p := stopReasonPtr(v); p != nil {
			*dst = p
			return true
		}
		s := unquote(v)
		*dst = &s
	case 'n':
		*dst = nil
	default:
		return false
	}
	return true
}

// optInt reads an integer or null (which leaves *dst alone).
func optInt(v []byte, dst *int) bool {
	if v[0] == 'n' {
		return true
	}
	if !numeric(v) {
		return false
	}
	n, err := strconv.ParseInt(string(v), 10, strconv.IntSize)
	*dst = int(n)
	return err == nil
}

func decodeUsageFast(v []byte, u *Usage) bool {
	switch v[0] {
	case 'n':
		return true
	case '{':
	default:
		return false
	}
	var inline [12]field
	var seen uint8
	for _, f := range splitObject(v, inline[:0]) {
		var bit uint8
		var ok bool
		switch f.key {
		case "input_tokens":
			bit, ok = 1, optInt(f.val, &u.InputTokens)
		case "cache_creation_input_tokens":
			bit, ok = 2, optInt(f.val, &u.CacheCreationInputTokens)
		case "cache_read_input_tokens":
			bit, ok = 4, optInt(f.val, &u.CacheReadInputTokens)
		case "output_tokens":
			bit, ok = 8, optInt(f.val, &u.OutputTokens)
		default:
			ok = !foldsTo(f.key, "input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
	return true
}

// decodeBlocksFast reads a content array of text, tool_use and thinking
// blocks into buf (or a new slice when it is too short).
func (a *strBlock) decodeBlocksFast(v []byte, buf []ContentBlock) ([]ContentBlock, bool) {
	switch v[0] {
	case 'n':
		return nil, true
	case '[':
	default:
		return nil, false
	}
	ok := true
	out := buf[:0]
	eachElem(v, func(e []byte) {
		if !ok {
			return
		}
		var b ContentBlock
		ok = a.decodeBlockFast(e, &b)
		out = append(out, b)
	})
	if out == nil {
		out = []ContentBlock{}
	}
	return out, ok
}

func (a *strBlock) decodeBlockFast(v []byte, b *ContentBlock) bool {
	if v[0] != '{' {
		return false
	}
	var inline [12]field
	var seen uint8
	for _, f := range splitObject(v, inline[:0]) {
		var bit uint8
		var ok bool
		switch f.key {
		case "type":
			bit, ok = 1, a.optString(f.val, &b.Type)
		case "text":
			bit, ok = 2, a.optString(f.val, &b.Text)
		case "id":
			bit, ok = 4, a.optString(f.val, &b.ID)
		case "name":
			bit, ok = 8, a.optString(f.val, &b.Name)
		case "thinking":
			bit, ok = 16, a.optString(f.val, &b.Thinking)
		case "signature":
			bit, ok = 32, a.optString(f.val, &b.Signature)
		case "input":
			// An object, copied as json.RawMessage copies it.
			bit, ok = 64, f.val[0] == '{'
			b.Input = append(json.RawMessage(nil), f.val...)
		default:
			ok = !foldsTo(f.key, "type", "text", "id", "name", "thinking", "signature", "input",
				"source", "tool_use_id", "content", "is_error", "data")
			// A field the fast path does not read is left to encoding/json.
			ok = ok && f.key != "source" && f.key != "tool_use_id" && f.key != "content" &&
				f.key != "is_error" && f.key != "data"
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
	return true
}

// The stop reasons, for stopReasonPtr.
var (
	stopEndTurn      = StopEndTurn
	stopMaxTokens    = StopMaxTokens
	stopStopSequence = StopStopSequence
	stopToolUse      = StopToolUse
)

// stopReasonPtr returns a shared pointer to the common stop reason the
// JSON string v holds, or nil. decodeResponseFast's Response is
// DecodeResponse's own, which only reads it: sharing is safe.
func stopReasonPtr(v []byte) *string {
	switch string(v) {
	case `"` + StopEndTurn + `"`:
		return &stopEndTurn
	case `"` + StopMaxTokens + `"`:
		return &stopMaxTokens
	case `"` + StopStopSequence + `"`:
		return &stopStopSequence
	case `"` + StopToolUse + `"`:
		return &stopToolUse
	}
	return nil
}

// maxStrBlock is the largest message whose strings share one block.
const maxStrBlock = 16 << 10

// strBlock holds a message's strings: each is a view of the bytes
// appended to b, which are never written again (an append past its
// capacity — U+FFFD for an invalid byte is longer than the byte — moves
// on to a new array, leaving the earlier strings theirs).
type strBlock struct{ b []byte }

// str is unquote, the string in the block when there is one.
func (a *strBlock) str(v []byte) string {
	raw := v[1 : len(v)-1]
	if s, ok := common(raw); ok {
		return s
	}
	if a.b == nil {
		return unquote(v)
	}
	start := len(a.b)
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		a.b = append(a.b, raw...)
	} else {
		a.b = jsonw.AppendUnescaped(a.b, raw)
	}
	b := a.b[start:]
	return unsafe.String(unsafe.SliceData(b), len(b))
}
