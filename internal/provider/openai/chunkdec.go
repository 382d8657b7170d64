package openai

import (
	"bytes"
	"encoding/json"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/octomesh/octomesh"
)

// chunkDecoder decodes the data of chat.completion.chunk events. It is the
// stream's hot path: encoding/json spends most of a relay's CPU on these
// few hundred bytes per token (reflection, and a string allocated for every
// id, model and fingerprint of every chunk).
//
// decode produces exactly what json.Unmarshal into a zero wireChunk
// produces. A hand-written parser reads the shape every OpenAI-compatible
// server sends; anything it is not sure to read exactly as encoding/json
// would — a key differing only in case, a duplicate key, a float where an
// integer belongs, an "error" object, deep nesting, a syntax error — makes
// it give up, and encoding/json decodes the event instead (and reports any
// error). FuzzChunkDecoder checks the equivalence on arbitrary input.
//
// A chunkDecoder belongs to one stream and is not safe for concurrent use.
type chunkDecoder struct {
	// The previous chunk's strings, reused while they repeat (they do in
	// every chunk of a stream), so that only content allocates.
	id, model, fingerprint string
	scratch                []byte    // unescaped string bytes
	head                   chunkHead // the previous chunk's header
	w                      wireChunk // the result, reused (a local would escape to the heap)
}

// decode decodes data. The result is valid until the next call; the
// strings and slices it holds stay valid after it.
func (d *chunkDecoder) decode(data []byte) (*wireChunk, error) {
	w := &d.w
	*w = wireChunk{}
	if d.decodeFast(data, w) {
		return w, nil
	}
	*w = wireChunk{}
	if err := json.Unmarshal(data, w); err != nil {
		return nil, err
	}
	return w, nil
}

// maxDepth bounds the nesting the fast path skips through; deeper input is
// left to encoding/json.
const maxDepth = 32

// decodeFast decodes data into the zero w and reports whether it could. On
// false w holds a partial result to be discarded.
func (d *chunkDecoder) decodeFast(data []byte, w *wireChunk) bool {
	s := scanner{b: data, d: d}
	var seen uint8
	first := 0 // the index of the first member left to read
	if h := &d.head; h.matches(data) {
		w.ID, w.Object, w.Created, w.Model, w.SystemFingerprint = h.id, h.object, h.created, h.model, h.fingerprint
		s.i, first, seen = len(h.raw), h.members, h.seen
	} else {
		if s.peek() != '{' {
			return false
		}
		s.i++
	}
	var head chunkHead // what to remember of this chunk's header
	stable := first == 0
	for n := first; ; n++ {
		end := s.i
		key, done, ok := s.nextKey(n)
		if !ok {
			return false
		}
		if done {
			break
		}
		if stable && !headerKey(key) {
			stable = false
			head = chunkHead{raw: data[:end], members: n, seen: seen,
				id: w.ID, object: w.Object, created: w.Created, model: w.Model, fingerprint: w.SystemFingerprint}
		}
		var bit uint8
		switch string(key) {
		case "id":
			bit, ok = 1<<0, s.str(&w.ID, &d.id)
		case "object":
			bit, ok = 1<<1, s.str(&w.Object, nil)
		case "created":
			bit, ok = 1<<2, s.int64(&w.Created)
		case "model":
			bit, ok = 1<<3, s.str(&w.Model, &d.model)
		case "choices":
			bit, ok = 1<<4, s.choices(&w.Choices)
		case "usage":
			bit, ok = 1<<5, s.usage(&w.Usage)
		case "system_fingerprint":
			bit, ok = 1<<6, s.str(&w.SystemFingerprint, &d.fingerprint)
		case "error":
			// Only the common "error":null is read here; an error object
			// goes to encoding/json, which keeps its exact bytes.
			bit, ok = 1<<7, s.literal("null")
			w.Error = json.RawMessage("null")
		default:
			ok = !foldsTo(key, "id", "object", "created", "model", "choices", "usage", "system_fingerprint", "error") && s.skip(0)
		}
		if !ok || seen&bit != 0 {
			return false // a duplicate key merges in encoding/json: leave it that
		}
		seen |= bit
	}
	if !s.end() {
		return false
	}
	if head.members > 0 {
		d.head.remember(&head)
	}
	return true
}

// chunkHead is what reading the start of a chunk's object produced: the
// members before the choices (id, object, created, model, fingerprint, and
// any unknown ones), which every chunk of a stream repeats byte for byte.
// The next chunk that starts with the same bytes takes the result instead
// of reading them again. Reading is a function of the bytes read, so the
// result is the same; matches makes sure the bytes end where a value ends.
type chunkHead struct {
	raw     []byte // the object's bytes up to the end of the last member's value
	members int    // how many members raw holds
	seen    uint8  // the known keys among them (decodeFast's bits)

	id, object, model, fingerprint string
	created                        int64
}

// headerKey reports whether a top-level key belongs to the repeated header.
func headerKey(key []byte) bool {
	switch string(key) {
	case "choices", "usage", "error":
		return false
	}
	return true
}

// matches reports whether data starts with the remembered header, ended
// where the header ended: a number in data that goes on past it is not the
// same number.
func (h *chunkHead) matches(data []byte) bool {
	if h.members == 0 || len(data) <= len(h.raw) || !bytes.HasPrefix(data, h.raw) {
		return false
	}
	switch data[len(h.raw)] {
	case ',', '}', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

// remember stores h (whose raw points into the chunk being read).
func (h *chunkHead) remember(from *chunkHead) {
	raw := append(h.raw[:0], from.raw...)
	*h = *from
	h.raw = raw
}

// choices reads the "choices" array. A fresh slice per chunk: consumers may
// keep a chunk past the next one (the failover stream holds a role chunk
// back by value).
func (s *scanner) choices(dst *[]octomesh.ChunkChoice) bool {
	return scanArray(s, dst, s.choice)
}

// choice reads one element of "choices".
func (s *scanner) choice(ch *octomesh.ChunkChoice) bool {
	if s.peek() != '{' {
		return false // null (a zero choice in encoding/json) is not worth a path
	}
	s.i++
	var seen uint8
	for n := 0; ; n++ {
		key, done, ok := s.nextKey(n)
		if !ok {
			return false
		}
		if done {
			return true
		}
		var bit uint8
		switch string(key) {
		case "index":
			bit, ok = 1<<0, s.int(&ch.Index)
		case "delta":
			bit, ok = 1<<1, s.delta(&ch.Delta)
		case "finish_reason":
			bit, ok = 1<<2, s.str(&ch.FinishReason, nil)
		default:
			ok = !foldsTo(key, "index", "delta", "finish_reason") && s.skip(0)
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

// delta reads a choice's "delta" object.
func (s *scanner) delta(dl *octomesh.Delta) bool {
	switch s.peek() {
	case 'n':
		return s.literal("null")
	case '{':
	default:
		return false
	}
	s.i++
	var seen uint8
	for n := 0; ; n++ {
		key, done, ok := s.nextKey(n)
		if !ok {
			return false
		}
		if done {
			return true
		}
		var bit uint8
		switch string(key) {
		case "role":
			bit, ok = 1<<0, s.str((*string)(&dl.Role), nil)
		case "content":
			bit, ok = 1<<1, s.str(&dl.Content, nil)
		case "refusal":
			bit, ok = 1<<2, s.str(&dl.Refusal, nil)
		case "tool_calls":
			bit, ok = 1<<3, s.toolCalls(&dl.ToolCalls)
		default:
			ok = !foldsTo(key, "role", "content", "refusal", "tool_calls") && s.skip(0)
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

// toolCalls reads a delta's "tool_calls" array.
func (s *scanner) toolCalls(dst *[]octomesh.ToolCall) bool {
	return scanArray(s, dst, s.toolCall)
}

// toolCall reads one tool-call delta.
func (s *scanner) toolCall(tc *octomesh.ToolCall) bool {
	if s.peek() != '{' {
		return false
	}
	s.i++
	var seen uint8
	for n := 0; ; n++ {
		key, done, ok := s.nextKey(n)
		if !ok {
			return false
		}
		if done {
			return true
		}
		var bit uint8
		switch string(key) {
		case "index":
			bit = 1 << 0
			if s.peek() == 'n' {
				ok = s.literal("null") // a null pointer, as encoding/json leaves it
			} else {
				var i int
				if ok = s.int(&i); ok {
					tc.Index = &i
				}
			}
		case "id":
			bit, ok = 1<<1, s.str(&tc.ID, nil)
		case "type":
			bit, ok = 1<<2, s.str(&tc.Type, nil)
		case "function":
			bit, ok = 1<<3, s.function(&tc.Function)
		default:
			ok = !foldsTo(key, "index", "id", "type", "function") && s.skip(0)
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

// function reads a tool-call delta's "function" object.
func (s *scanner) function(f *octomesh.FunctionCall) bool {
	switch s.peek() {
	case 'n':
		return s.literal("null")
	case '{':
	default:
		return false
	}
	s.i++
	var seen uint8
	for n := 0; ; n++ {
		key, done, ok := s.nextKey(n)
		if !ok {
			return false
		}
		if done {
			return true
		}
		var bit uint8
		switch string(key) {
		case "name":
			bit, ok = 1<<0, s.str(&f.Name, nil)
		case "arguments":
			bit, ok = 1<<1, s.str(&f.Arguments, nil)
		default:
			ok = !foldsTo(key, "name", "arguments") && s.skip(0)
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

// usage reads "usage" into a fresh *Usage, as encoding/json allocates one.
func (s *scanner) usage(dst **octomesh.Usage) bool {
	switch s.peek() {
	case 'n':
		return s.literal("null")
	case '{':
	default:
		return false
	}
	s.i++
	u := new(octomesh.Usage)
	var seen uint8
	for n := 0; ; n++ {
		key, done, ok := s.nextKey(n)
		if !ok {
			return false
		}
		if done {
			break
		}
		var bit uint8
		switch string(key) {
		case "prompt_tokens":
			bit, ok = 1<<0, s.int(&u.PromptTokens)
		case "completion_tokens":
			bit, ok = 1<<1, s.int(&u.CompletionTokens)
		case "total_tokens":
			bit, ok = 1<<2, s.int(&u.TotalTokens)
		case "prompt_tokens_details":
			var d octomesh.PromptTokensDetails
			var present bool
			bit = 1 << 3
			if present, ok = s.details("cached_tokens", &d.CachedTokens); present {
				u.PromptTokensDetails = &d
			}
		case "completion_tokens_details":
			var d octomesh.CompletionTokensDetails
			var present bool
			bit = 1 << 4
			if present, ok = s.details("reasoning_tokens", &d.ReasoningTokens); present {
				u.CompletionTokensDetails = &d
			}
		default:
			ok = !foldsTo(key, "prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details", "completion_tokens_details") && s.skip(0)
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
	*dst = u
	return true
}

// details reads a usage breakdown object whose one known field, name, is
// an integer read into dst. present is false for null.
func (s *scanner) details(name string, dst *int) (present, ok bool) {
	switch s.peek() {
	case 'n':
		return false, s.literal("null")
	case '{':
	default:
		return false, false
	}
	s.i++
	seen := false
	for n := 0; ; n++ {
		key, done, ok := s.nextKey(n)
		if !ok {
			return false, false
		}
		if done {
			return true, true
		}
		if string(key) == name {
			if seen {
				return false, false
			}
			seen, ok = true, s.int(dst)
		} else {
			ok = !foldsTo(key, name) && s.skip(0)
		}
		if !ok {
			return false, false
		}
	}
}

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

// scanner is the fast path's cursor over one JSON text. Every method
// reports false on anything it does not handle exactly; the caller then
// gives up.
type scanner struct {
	b []byte
	i int
	d *chunkDecoder
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
			n := escapeLen(b[j:])
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
		s.d.scratch = unescape(s.d.scratch[:0], raw)
		raw = s.d.scratch
	}
	switch {
	case prev != nil && string(raw) == *prev:
		*dst = *prev
	case string(raw) == octomesh.ObjectChatCompletionChunk:
		*dst = octomesh.ObjectChatCompletionChunk
	default:
		*dst = internCommon(raw)
		if prev != nil {
			*prev = *dst
		}
	}
	return true
}

// internCommon returns raw as a string, without allocating for the values
// that recur in every stream.
func internCommon(raw []byte) string {
	switch string(raw) {
	case "":
		return ""
	case "assistant":
		return "assistant"
	case "stop":
		return "stop"
	case "length":
		return "length"
	case "tool_calls":
		return "tool_calls"
	case "content_filter":
		return "content_filter"
	case "function":
		return "function"
	case octomesh.ObjectChatCompletion:
		return octomesh.ObjectChatCompletion
	}
	return string(raw)
}

// escapeLen returns the length of the valid escape sequence b starts
// with (at its backslash), or 0.
func escapeLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if len(b) >= 6 && hex4(b[2:6]) >= 0 {
			return 6
		}
	}
	return 0
}

// hex4 decodes four hex digits, or returns -1.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// unescape appends the string content raw (already validated by str)
// unescaped to dst, exactly as encoding/json unquotes: invalid UTF-8 bytes
// and unpaired surrogate escapes become U+FFFD.
func unescape(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\':
			switch raw[i+1] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r := hex4(raw[i+2 : i+6])
				i += 6
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
						r2 = hex4(raw[i+2 : i+6])
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						i += 6
						r = dec
					} else {
						r = utf8.RuneError
					}
				}
				dst = utf8.AppendRune(dst, r)
				continue
			default: // '"', '\\', '/'
				dst = append(dst, raw[i+1])
			}
			i += 2
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, size := utf8.DecodeRune(raw[i:])
			dst = utf8.AppendRune(dst, r)
			i += size
		}
	}
	return dst
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
			n := escapeLen(s.b[j:])
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
