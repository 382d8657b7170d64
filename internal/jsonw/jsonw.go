// Package jsonw holds the small JSON string helpers the hand-written
// encoders and decoders on the hot path share: writing (the chunk and
// response encoders of the HTTP layer, the upstream request encoder of the
// OpenAI and Anthropic adapters, and their float fields) and reading (unescape.go: the adapter's response scanner
// and the HTTP layer's request decoder). It imports only the standard
// library.
package jsonw

import (
	"math"
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// safe[c] is true for the ASCII bytes encoding/json writes unchanged when
// it does not escape HTML; safeHTML also escapes <, > and &.
var safe, safeHTML = func() (t, h [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
		h[c] = t[c] && c != '<' && c != '>' && c != '&'
	}
	return t, h
}()

// AppendString appends s as a JSON string exactly as encoding/json encodes
// it: \b \f \n \r \t and \" \\ escaped, other control bytes as \u00XX,
// invalid UTF-8 as U+FFFD, U+2028 and U+2029 escaped, and <, > and & as
// \u003c, \u003e, \u0026 when escapeHTML is set (json.Marshal's default;
// OpenAI's streams send them as they are).
func AppendString(b []byte, s string, escapeHTML bool) []byte {
	tbl := &safe
	if escapeHTML {
		tbl = &safeHTML
	}
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if tbl[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendToolCall appends one OpenAI tool call object as encoding/json
// encodes octomesh.ToolCall: {"index":…,"id":…,"type":…,"function":{"name":…,
// "arguments":…}}, omitting a nil index and empty id, type and name. The
// request and response encoders share it; it takes the fields, not the
// type, so this package keeps importing only the standard library.
func AppendToolCall(b []byte, index *int, id, typ, name, arguments string, escapeHTML bool) []byte {
	b = append(b, '{')
	if index != nil {
		b = append(b, `"index":`...)
		b = strconv.AppendInt(b, int64(*index), 10)
		b = append(b, ',')
	}
	if id != "" {
		b = append(b, `"id":`...)
		b = AppendString(b, id, escapeHTML)
		b = append(b, ',')
	}
	if typ != "" {
		b = append(b, `"type":`...)
		b = AppendString(b, typ, escapeHTML)
		b = append(b, ',')
	}
	b = append(b, `"function":{`...)
	if name != "" {
		b = append(b, `"name":`...)
		b = AppendString(b, name, escapeHTML)
		b = append(b, ',')
	}
	b = append(b, `"arguments":`...)
	b = AppendString(b, arguments, escapeHTML)
	return append(b, "}}"...)
}

// AppendFloatField appends name and *v as encoding/json writes a float64
// (ES6 number formatting), or nothing when v is nil. It reports false for
// NaN and infinities, which encoding/json refuses.
func AppendFloatField(b []byte, name string, v *float64) ([]byte, bool) {
	if v == nil {
		return b, true
	}
	f := *v
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, false
	}
	b = append(b, name...)
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 becomes e-9, as encoding/json writes it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}

// AppendStringsField appends name and ss as a JSON array of strings,
// escaped as encoding/json escapes them, or nothing when ss is empty.
func AppendStringsField(b []byte, name string, ss []string) []byte {
	if len(ss) == 0 {
		return b
	}
	b = append(append(b, name...), '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, s, true)
	}
	return append(b, ']')
}
