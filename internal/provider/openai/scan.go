package openai

// The JSON scanner under the hand-written decoders (chunkdec.go,
// respdec.go): whitespace, keys, arrays, numbers, strings with exact
// unescaping, and validation of the values it skips. Every method reports
// false on anything it does not handle exactly as encoding/json would; the
// decoder then falls back to encoding/json.

import (
	"bytes"
	"unicode/utf8"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/jsonw"
)

// foldsTo reports whether key matches one of names case-insensitively:
// encoding/json would decode such a key into that field, which the fast
// path leaves to it. (Keys reaching here are ASCII; see scanner.nextKey.)
func foldsTo(key []byte, names ...string) bool {
	for _, n := range names {
		if len(key) == len(n) && bytes.EqualFold(key, []byte(n)) {
			return true
		}
	}
	return false
}

// plainByte marks the bytes a string can hold as they are: printable
// ASCII other than the quote and the backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanArray reads a JSON array (or null, leaving *dst alone, as
// encoding/json does) into a new slice, each element with elem.
func scanArray[T any](s *scanner, dst *[]T, elem func(*T) bool) bool {
	switch s.peek() {
	case 'n':
		return s.literal("null")
	case '[':
	default:
		return false
	}
	s.i++
	out := make([]T, 0, 1)
	for n := 0; ; n++ {
		more, ok := s.nextElem(n)
		if !ok {
			return false
		}
		if !more {
			break
		}
		var zero T
		out = append(out, zero)
		if !elem(&out[len(out)-1]) {
			return false
		}
	}
	*dst = out
	return true
}

// scanArrayInto is scanArray reading into buf (from its length on), for a
// caller that copies the elements elsewhere; null reports a JSON null.
func scanArrayInto[T any](s *scanner, buf []T, elem func(*T) bool) (out []T, null, ok bool) {
	switch s.peek() {
	case 'n':
		return buf, true, s.literal("null")
	case '[':
	default:
		return buf, false, false
	}
	s.i++
	for n := 0; ; n++ {
		more, ok := s.nextElem(n)
		if !ok {
			return buf, false, false
		}
		if !more {
			return buf, false, true
		}
		var zero T
		buf = append(buf, zero)
		if !elem(&buf[len(buf)-1]) {
			return buf, false, false
		}
	}
}

// scanner is the fast path's cursor over one JSON text. Every method
// reports false on anything it does not handle exactly; the caller then
// gives up.
type scanner struct {
	b    []byte
	i    int
	d    *chunkDecoder
	span contentSpan // the content string read (delta), for tokenShape
}

// ws skips JSON whitespace.
func (s *scanner) ws() {
	b, i := s.b, s.i
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	s.i = i
}

// peek skips whitespace and returns the next byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// end reports whether only whitespace is left.
func (s *scanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// literal consumes word (null, true or false).
func (s *scanner) literal(word string) bool {
	s.ws()
	if !bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		return false
	}
	s.i += len(word)
	return true
}

// nextKey advances to member n of the object being read (its '{' already
// consumed): it returns the member's key, leaving the cursor at its value,
// or done at the closing '}'. Keys with escapes or non-ASCII bytes are
// refused: encoding/json folds some of them onto field names.
func (s *scanner) nextKey(n int) (key []byte, done, ok bool) {
	c := s.peek()
	if c == '}' {
		s.i++
		return nil, true, true
	}
	if n > 0 {
		if c != ',' {
			return nil, false, false
		}
		s.i++
		c = s.peek()
	}
	if c != '"' {
		return nil, false, false
	}
	b := s.b
	start := s.i + 1
	j := start
	for j < len(b) && plainByte[b[j]] {
		j++
	}
	if j >= len(b) || b[j] != '"' {
		return nil, false, false
	}
	key = b[start:j]
	s.i = j + 1
	if s.peek() != ':' {
		return nil, false, false
	}
	s.i++
	return key, false, true
}

// nextElem advances to element n of the array being read (its '['
// already consumed); more is false at the closing ']'.
func (s *scanner) nextElem(n int) (more, ok bool) {
	c := s.peek()
	if c == ']' {
		s.i++
		return false, true
	}
	if n > 0 {
		if c != ',' {
			return false, false
		}
		s.i++
		if s.peek() == ']' {
			return false, false // a trailing comma
		}
	}
	return true, true
}

// int64 reads an integer into *dst; null leaves it alone, as encoding/json
// does. Only plain integers of up to 18 digits are read (no overflow).
func (s *scanner) int64(dst *int64) bool {
	c := s.peek()
	if c == 'n' {
		return s.literal("null")
	}
	neg := false
	if c == '-' {
		neg = true
		s.i++
	}
	start := s.i
	var v int64
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		v = v*10 + int64(s.b[s.i]-'0')
		s.i++
	}
	n := s.i - start
	if n == 0 || n > 18 || n > 1 && s.b[start] == '0' {
		return false
	}
	if s.i < len(s.b) {
		switch s.b[s.i] {
		case '.', 'e', 'E':
			return false // encoding/json refuses a fraction in an integer field
		}
	}
	if neg {
		v = -v
	}
	*dst = v
	return true
}

// int is int64 for an int field (64-bit: the same range).
func (s *scanner) int(dst *int) bool {
	var v int64
	if s.peek() == 'n' {
		return s.literal("null")
	}
	if !s.int64(&v) {
		return false
	}
	*dst = int(v)
	return true
}

// str reads a string into *dst; null leaves it alone. When prev is not
// nil and the value equals *prev, *prev is reused instead of allocating;
// otherwise *prev becomes the new value.
func (s *scanner) str(dst *string, prev *string) bool {
	c := s.peek()
	if c == 'n' {
		return s.literal("null")
	}
	if c != '"' {
		return false
	}
	b := s.b
	start := s.i + 1
	escaped, high := false, false
	j := start
	for j < len(b) {
		c := b[j]
		if plainByte[c] {
			j++
			continue
		}
		if c == '"' {
			break
		}
		if c < 0x20 {
			return false // control characters are not JSON
		}
		if c == '\\' {
			n := jsonw.EscapeLen(b[j:])
			if n == 0 {
				return false
			}
			escaped = true
			j += n
			continue
		}
		high = true // a byte of a multi-byte (or invalid) UTF-8 sequence
		j++
	}
	if j >= len(b) {
		return false
	}
	raw := b[start:j]
	s.i = j + 1
	if escaped || high && !utf8.Valid(raw) {
		s.d.scratch = jsonw.AppendUnescaped(s.d.scratch[:0], raw)
		raw = s.d.scratch
	}
	switch {
	case prev != nil && string(raw) == *prev:
		*dst = *prev
	case string(raw) == octomesh.ObjectChatCompletionChunk:
		*dst = octomesh.ObjectChatCompletionChunk
	default:
		*dst = s.d.text(raw)
		if prev != nil {
			*prev = *dst
		}
	}
	return true
}

// internCommon returns raw as a string, without allocating for the values
// that recur in every stream; ok is false for any other value.
func internCommon(raw []byte) (s string, ok bool) {
	switch string(raw) {
	case "":
		return "", true
	case "assistant":
		return "assistant", true
	case "stop":
		return "stop", true
	case "length":
		return "length", true
	case "tool_calls":
		return "tool_calls", true
	case "content_filter":
		return "content_filter", true
	case "function":
		return "function", true
	case octomesh.ObjectChatCompletion:
		return octomesh.ObjectChatCompletion, true
	}
	return "", false
}

// skip validates and skips one JSON value of any kind.
func (s *scanner) skip(depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch s.peek() {
	case '{':
		s.i++
		for n := 0; ; n++ {
			_, done, ok := s.nextKeyAny(n)
			if !ok {
				return false
			}
			if done {
				return true
			}
			if !s.skip(depth + 1) {
				return false
			}
		}
	case '[':
		s.i++
		for n := 0; ; n++ {
			more, ok := s.nextElem(n)
			if !ok {
				return false
			}
			if !more {
				return true
			}
			if !s.skip(depth + 1) {
				return false
			}
		}
	case '"':
		return s.skipString()
	case 'n':
		return s.literal("null")
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	}
	return s.number()
}

// skipString validates and skips a string.
func (s *scanner) skipString() bool {
	j := s.i + 1
	for j < len(s.b) {
		c := s.b[j]
		switch {
		case c == '"':
			s.i = j + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			n := jsonw.EscapeLen(s.b[j:])
			if n == 0 {
				return false
			}
			j += n
		default:
			j++
		}
	}
	return false
}

// nextKeyAny is nextKey for objects being skipped, whose keys may be any
// valid string.
func (s *scanner) nextKeyAny(n int) (key []byte, done, ok bool) {
	c := s.peek()
	if c == '}' {
		s.i++
		return nil, true, true
	}
	if n > 0 {
		if c != ',' {
			return nil, false, false
		}
		s.i++
		c = s.peek()
	}
	if c != '"' {
		return nil, false, false
	}
	if !s.skipString() || s.peek() != ':' {
		return nil, false, false
	}
	s.i++
	return nil, false, true
}

// number validates and skips a JSON number.
func (s *scanner) number() bool {
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	s.i = i
	return true
}
