package httpapi

import (
	"encoding/binary"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/octomesh/octomesh/internal/jsonw"
)

// jsonReader reads JSON from a byte slice for the hand-written chat request
// decoder (chatdecode.go). Its methods report ok=false for anything they do
// not handle exactly as encoding/json does: bad syntax, a wrong type, and
// the rare shapes the fast path leaves alone. The caller then gives up and
// decodes the body with encoding/json, which decides and words the error.
// So ok=false never needs a reason, and a method may be conservative.
type jsonReader struct {
	data []byte
	pos  int
	// Strings with escapes are unescaped into tmp, or for longer ones into
	// big, which is kept for the next. (Never is tmp stored in big: the
	// reader would then escape to the heap.)
	tmp [256]byte
	big []byte
	// room holds small parts of the request (chatRoom); nil until needed.
	room *chatRoom
	// Short strings bound for places that stay put (the request's model,
	// the room's text parts) are gathered here and made one string when
	// the request has been read (flushTexts): one allocation for them all.
	// Bounded, so that a kept string pins little else.
	texts  [512]byte
	ntexts int
	fix    [6]textFix
	nfix   int
}

// textFix is a string to set when the texts are flushed: texts[start:end].
type textFix struct {
	dst        *string
	start, end int
}

// deferText copies b to the texts, to be set in *dst by flushTexts, and
// reports whether there was room. dst must not move until then (no
// scratch array that is copied out).
func (r *jsonReader) deferText(dst *string, b []byte) bool {
	if r.nfix == len(r.fix) || len(b) > len(r.texts)-r.ntexts {
		return false
	}
	start := r.ntexts
	r.ntexts += copy(r.texts[start:], b)
	r.fix[r.nfix] = textFix{dst, start, r.ntexts}
	r.nfix++
	return true
}

// flushTexts sets the deferred strings, all slices of one.
func (r *jsonReader) flushTexts() {
	if r.nfix == 0 {
		return
	}
	all := string(r.texts[:r.ntexts])
	for _, f := range r.fix[:r.nfix] {
		*f.dst = all[f.start:f.end]
	}
	r.nfix = 0
}

// maxSkipDepth bounds the nesting of values skipped or kept raw. Deeper
// values are left to encoding/json (whose limit, 10000, is far above).
const maxSkipDepth = 512

// ws skips JSON whitespace.
func (r *jsonReader) ws() {
	if r.pos < len(r.data) && r.data[r.pos] > ' ' {
		return // compact JSON, the usual case
	}
	for r.pos < len(r.data) {
		switch r.data[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

// peek returns the byte at the read position, or 0 at the end.
func (r *jsonReader) peek() byte {
	if r.pos < len(r.data) {
		return r.data[r.pos]
	}
	return 0
}

// consume skips whitespace and then the byte c.
func (r *jsonReader) consume(c byte) bool {
	r.ws()
	if r.peek() != c {
		return false
	}
	r.pos++
	return true
}

// literal consumes the literal word (true, false or null).
func (r *jsonReader) literal(word string) bool {
	if len(r.data)-r.pos < len(word) || string(r.data[r.pos:r.pos+len(word)]) != word {
		return false
	}
	r.pos += len(word)
	return true
}

// null consumes a null if one is next (after whitespace).
func (r *jsonReader) null() bool {
	r.ws()
	return r.peek() == 'n' && r.literal("null")
}

// openObject consumes '{' and reports whether the object is empty (its
// '}' consumed too).
func (r *jsonReader) openObject() (empty, ok bool) {
	if !r.consume('{') {
		return false, false
	}
	r.ws()
	if r.peek() == '}' {
		r.pos++
		return true, true
	}
	return false, true
}

// openArray is openObject for arrays.
func (r *jsonReader) openArray() (empty, ok bool) {
	if !r.consume('[') {
		return false, false
	}
	r.ws()
	if r.peek() == ']' {
		r.pos++
		return true, true
	}
	return false, true
}

// next consumes the ',' before another member or element (more) or the
// closing byte end.
func (r *jsonReader) next(end byte) (more, ok bool) {
	r.ws()
	switch r.peek() {
	case ',':
		r.pos++
		return true, true
	case end:
		r.pos++
		return false, true
	}
	return false, false
}

// key reads an object key and the colon after it. It returns the key
// lower-cased in ASCII into fold, which is how encoding/json matches
// field names for keys like these. Keys with escapes or non-ASCII bytes
// would need Unicode case folding ("ſ" matches "s") and are left to
// encoding/json.
func (r *jsonReader) key(fold *[32]byte) ([]byte, bool) {
	if !r.consume('"') {
		return nil, false
	}
	start, upper := r.pos, false
	for ; r.pos < len(r.data); r.pos++ {
		c := r.data[r.pos]
		if c == '"' {
			break
		}
		if c < ' ' || c == '\\' || c >= utf8.RuneSelf {
			return nil, false
		}
		upper = upper || ('A' <= c && c <= 'Z')
	}
	if r.pos == len(r.data) {
		return nil, false
	}
	k := r.data[start:r.pos]
	r.pos++
	if !r.consume(':') {
		return nil, false
	}
	r.ws()
	if !upper {
		return k, true
	}
	if len(k) > len(fold) {
		return fold[:0], true // longer than any field name: unknown
	}
	for i, c := range k {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		fold[i] = c
	}
	return fold[:len(k)], true
}

// strSafe marks the bytes a string can hold as they are: not a quote, a
// backslash, a control character or the start of a multi-byte sequence.
var strSafe = func() (t [256]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str reads a string and returns its decoded bytes, as encoding/json
// decodes them (escapes resolved, invalid UTF-8 replaced by U+FFFD). The
// bytes are part of the input or of the reader's buffers, valid until the
// next call: callers copy them.
func (r *jsonReader) str() ([]byte, bool) {
	if !r.consume('"') {
		return nil, false
	}
	start, i := r.pos, plainRun(r.data, r.pos)
	for i < len(r.data) && strSafe[r.data[i]] {
		i++
	}
	if i < len(r.data) && r.data[i] == '"' {
		r.pos = i + 1
		return r.data[start:i], true
	}
	return r.strSlow(start, i)
}

// plainRun returns the index past the 8-byte words from i on that hold
// only bytes a string keeps as they are (see strSafe), for the long
// stretches of prose in message content.
func plainRun(data []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(data); i += 8 {
		x := binary.LittleEndian.Uint64(data[i:])
		// A byte's high bit ends up set if it has it (non-ASCII), is below
		// ' ' (the subtraction borrows), or is '"' or '\\' (XOR makes it
		// zero, and zero minus one borrows). A borrow can only spread to
		// the bytes after a byte that set it, so any set bit is a stop.
		q, bs := x^(ones*'"'), x^(ones*'\\')
		if (x|(x-ones*' ')|(q-ones)|(bs-ones))&highs != 0 {
			break
		}
	}
	return i
}

// strSlow continues str from i, the first byte that needs a look: valid
// multi-byte UTF-8 keeps the string in place; an escape or invalid UTF-8
// switches to building it in a buffer, as encoding/json's unquote does.
func (r *jsonReader) strSlow(start, i int) ([]byte, bool) {
	data := r.data
	for {
		if i >= len(data) {
			return nil, false
		}
		c := data[i]
		switch {
		case c == '"':
			r.pos = i + 1
			return data[start:i], true
		case strSafe[c]:
			i++
			continue
		case c >= utf8.RuneSelf:
			if rr, size := utf8.DecodeRune(data[i:]); rr != utf8.RuneError || size != 1 {
				i += size
				continue
			}
		case c < ' ':
			return nil, false
		}
		break // an escape or invalid UTF-8
	}
	end, ok := stringEnd(data, i)
	if !ok {
		return nil, false
	}
	// Unescaping shrinks a string; only invalid UTF-8 grows it (one byte to
	// three), which append handles.
	var b []byte
	if need := end - start + 2*utf8.UTFMax; need <= len(r.tmp) {
		b = r.tmp[:0]
	} else {
		if cap(r.big) < need {
			r.big = make([]byte, 0, need)
		}
		b = r.big[:0]
	}
	// Escapes must be valid (stringEnd only skips them); then the shared
	// unescaper builds the string as encoding/json's unquote does.
	for j := i; j < end; j++ {
		if data[j] == '\\' {
			n := jsonw.EscapeLen(data[j:end])
			if n == 0 {
				return nil, false
			}
			j += n - 1
		}
	}
	r.pos = end + 1
	return jsonw.AppendUnescaped(b, data[start:end]), true
}

// stringEnd returns the index of the quote that ends the string holding
// data[i], or false if there is none or it holds a control character.
func stringEnd(data []byte, i int) (int, bool) {
	for ; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			return i, true
		case c == '\\':
			i++
		case c < ' ':
			return 0, false
		}
	}
	return 0, false
}

// number reads a number and returns its text, checked against JSON's
// grammar (which strconv's is wider than).
func (r *jsonReader) number() (text []byte, integer, ok bool) {
	r.ws()
	data, i := r.data, r.pos
	digits := func() bool {
		n := i
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
		return i > n
	}
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case !digits():
		return nil, false, false
	}
	integer = true
	if i < len(data) && data[i] == '.' {
		i++
		if !digits() {
			return nil, false, false
		}
		integer = false
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if !digits() {
			return nil, false, false
		}
		integer = false
	}
	text, r.pos = data[r.pos:i], i
	return text, integer, true
}

// int64 reads a number into an int64. Like encoding/json it takes only
// integer syntax ("1.0" and "1e3" are errors) within range.
func (r *jsonReader) int64() (int64, bool) {
	text, integer, ok := r.number()
	if !ok || !integer || len(text) > 20 {
		return 0, false
	}
	neg := text[0] == '-'
	if neg {
		text = text[1:]
	}
	var u uint64
	for _, c := range text {
		u = u*10 + uint64(c-'0') // at most 19 digits fit without overflow; checked below
	}
	switch {
	case len(text) > 19:
		return 0, false
	case neg && u <= 1<<63:
		return -int64(u), true
	case !neg && u < 1<<63:
		return int64(u), true
	}
	return 0, false
}

// float64 reads a number into a float64, as encoding/json does: the
// nearest value, and an error past the range.
func (r *jsonReader) float64() (float64, bool) {
	text, _, ok := r.number()
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(text), 64)
	return f, err == nil
}

// skip reads any value without keeping it, checking its syntax as
// encoding/json's scanner does.
func (r *jsonReader) skip(depth int) bool {
	r.ws()
	switch r.peek() {
	case '"':
		return r.skipStr()
	case '{':
		if depth >= maxSkipDepth {
			return false
		}
		empty, _ := r.openObject()
		for more := !empty; more; {
			var ok bool
			if !r.skipStr() || !r.consume(':') || !r.skip(depth+1) {
				return false
			}
			if more, ok = r.next('}'); !ok {
				return false
			}
		}
		return true
	case '[':
		if depth >= maxSkipDepth {
			return false
		}
		empty, _ := r.openArray()
		for more := !empty; more; {
			var ok bool
			if !r.skip(depth + 1) {
				return false
			}
			if more, ok = r.next(']'); !ok {
				return false
			}
		}
		return true
	case 't':
		return r.literal("true")
	case 'f':
		return r.literal("false")
	case 'n':
		return r.literal("null")
	}
	_, _, ok := r.number()
	return ok
}

// skipStr reads a string without decoding it: escapes are checked, and
// any other byte but a control character is allowed (encoding/json's
// scanner does not check UTF-8).
func (r *jsonReader) skipStr() bool {
	if !r.consume('"') {
		return false
	}
	data := r.data
	for i := r.pos; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			r.pos = i + 1
			return true
		case c == '\\':
			if i+1 >= len(data) {
				return false
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if jsonw.Hex4(data[i+2:]) < 0 {
					return false
				}
				i += 5
			default:
				return false
			}
		case c < ' ':
			return false
		}
	}
	return false
}

// raw reads any value and returns a copy of its bytes, as
// json.RawMessage.UnmarshalJSON keeps them (null included).
func (r *jsonReader) raw() (json.RawMessage, bool) {
	r.ws()
	start := r.pos
	if !r.skip(0) {
		return nil, false
	}
	return append(json.RawMessage(nil), r.data[start:r.pos]...), true
}
