package openai

import (
	"bytes"
	"encoding/json"

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

	// Decoded strings are carved out of blocks shared by the chunks of a
	// stream (arena.go), so that a token costs a fraction of an
	// allocation; its choices are lent (lendChoices).
	strs      []byte                 // the string block being filled
	strsSize  int                    // its size: 0 for a stream's default
	choiceBuf []octomesh.ChunkChoice // the choices are read into (choiceArray)
	lent      int                    // elements of choiceBuf written since the last park
	toolBuf   []octomesh.ToolCall    // a delta's tool calls while they are read
	toolBlk   []octomesh.ToolCall    // the tool-call block being filled
	intBlk    []int                  // the block tool-call indexes point into
	parked    parked                 // the blocks, while a stream waits (park)

	room  *streamRoom       // a stream's; nil for a completion
	parts *[1]octomesh.Part // a completion's room for its first text content
	tok   *tokenShape       // a stream's last token chunk's shape (tokenshape.go)
}

// A stream's first string block, the one in the stream, is as large as
// leaves the stream in the allocator's 1536-byte class: a stream lives as
// long as its client waits, and 2,000 waiting streams in the 2048-byte
// class held a megabyte more. The strings hold a mock's header strings and
// its first tokens. The choices are the array every chunk's choices are
// read into and lent from (two: a chunk with more takes a larger array).
const (
	roomStrs    = 88
	roomChoices = 2
)

// streamRoom is room in a stream's own allocation for what its decoder
// would otherwise allocate apart, once per stream: the remembered header,
// the choices' array (lent: see lendChoices), and the first string block
// and usage (carved out as blocks are, and likewise never written again).
type streamRoom struct {
	head      [256]byte
	choices   [roomChoices]octomesh.ChunkChoice
	strs      [roomStrs]byte
	usage     usageBlock
	usedStrs  bool
	usedUsage bool
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
		if d.decodeToken(data, len(h.raw), w) {
			return true
		}
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
			bit, ok = 1<<5, s.usage(&w.Usage, d.usageRoom())
		case "system_fingerprint":
			bit, ok = 1<<6, s.str(&w.SystemFingerprint, &d.fingerprint)
		case "error":
			// Only the common "error":null is read here; an error object
			// goes to encoding/json, which keeps its exact bytes.
			bit, ok = 1<<7, s.literal("null")
			w.Error = nullRaw
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
		if d.head.raw == nil && d.room != nil {
			d.head.raw = d.room.head[:0]
		}
		d.head.remember(&head)
		if d.tok != nil {
			// A shape holds after the header it was read after: another
			// header leaves the parser in another state (other keys seen).
			d.tok.hlen = -1
		}
	}
	if d.head.members > 0 && (first > 0 || head.members > 0) {
		d.recordToken(data, len(d.head.raw), s.span, w)
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

// choices reads the "choices" array. In a stream they are read into the
// stream's choice array and lent (lendChoices): valid until the next
// chunk, whose choices are read into the same array.
func (s *scanner) choices(dst *[]octomesh.ChunkChoice) bool {
	d := s.d
	buf, null, ok := scanArrayInto(s, d.choiceArray(), s.choice)
	d.choiceBuf = buf[:0]
	d.lent = max(d.lent, len(buf)) // park clears even what a failed read wrote
	if ok && !null {
		*dst = d.lendChoices(buf)
	} else if d.room == nil {
		clear(buf)
	}
	return ok
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
			s.peek()
			at := s.i
			bit, ok = 1<<1, s.str(&dl.Content, nil)
			if ok && s.b[at] == '"' {
				s.span = contentSpan{open: at, close: s.i - 1, n: s.span.n + 1}
			}
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

// toolCalls reads a "tool_calls" array: a stream's are carved from blocks,
// as its choices are; a completion's are a slice of their own.
func (s *scanner) toolCalls(dst *[]octomesh.ToolCall) bool {
	d := s.d
	if d.room == nil {
		return scanArray(s, dst, s.toolCall)
	}
	buf, null, ok := scanArrayInto(s, d.toolBuf[:0], s.toolCall)
	d.toolBuf = buf[:0]
	if ok && !null {
		*dst = d.carveToolCalls(buf)
	}
	clear(buf) // keep no strings alive through the scratch slice
	return ok
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
					tc.Index = s.d.intPtr(i)
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

// usageBlock is a usage and its breakdowns, allocated together.
type usageBlock struct {
	u          octomesh.Usage
	prompt     octomesh.PromptTokensDetails
	completion octomesh.CompletionTokensDetails
}

// usage reads "usage" into a fresh *Usage, as encoding/json allocates one
// (with its breakdowns, in one allocation): blk, or a new one when nil.
func (s *scanner) usage(dst **octomesh.Usage, blk *usageBlock) bool {
	switch s.peek() {
	case 'n':
		return s.literal("null")
	case '{':
	default:
		return false
	}
	s.i++
	if blk == nil {
		blk = new(usageBlock)
	}
	u := &blk.u
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
			d := &blk.prompt
			var present bool
			bit = 1 << 3
			if present, ok = s.details("cached_tokens", &d.CachedTokens); present {
				u.PromptTokensDetails = d
			}
		case "completion_tokens_details":
			d := &blk.completion
			var present bool
			bit = 1 << 4
			if present, ok = s.details("reasoning_tokens", &d.ReasoningTokens); present {
				u.CompletionTokensDetails = d
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
