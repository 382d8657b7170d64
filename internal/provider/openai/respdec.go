package openai

import (
	"encoding/json"
	"unsafe"

	"github.com/octomesh/octomesh"
)

// decodeWireResponse decodes a non-streaming chat.completion body exactly
// as json.Unmarshal into a zero wireResponse does. Like chunkDecoder, it
// reads the common shape by hand (a string or null content, tool calls,
// null logprobs) and leaves anything else to encoding/json; the usage
// object, read once per answer, is always left to it.
func decodeWireResponse(data []byte, w *wireResponse) error {
	// Only the decoder's scratch buffer and string block are used: one
	// block as large as the body holds every string of a typical answer
	// (a large one's strings share blocks as a stream's do, lest one
	// block as large as the body be kept for an id).
	d := chunkDecoder{strs: w.strs[:0]}
	if len(data) <= maxAnswerBlock {
		d.strsSize = len(data)
	}
	if decodeResponseFast(&d, data, w) {
		return nil
	}
	*w = wireResponse{}
	return json.Unmarshal(data, w)
}

// nullRaw is a decoded JSON null, shared: decodeChatResponse only reads
// the raw values it is put in (and drops a null logprobs), and its
// capacity is its length, so an append copies it.
var nullRaw = json.RawMessage("null")[:4:4]

// newWireResponse returns a zero wireResponse for an answer of n bytes,
// in one allocation with room for the answer's strings when it is small
// (they cannot be longer than the answer): the response and its text,
// with the 8-byte header the allocator puts before a large object with
// pointers, then fill one size class (1024 to 4096 bytes), about as the
// two allocations apart would. The room is only ever appended to.
func newWireResponse(n int) *wireResponse {
	switch {
	case n <= 592:
		return newWireResponseWith[[592]byte]()
	case n <= 720:
		return newWireResponseWith[[720]byte]()
	case n <= 848:
		return newWireResponseWith[[848]byte]()
	case n <= 976:
		return newWireResponseWith[[976]byte]()
	case n <= 1104:
		return newWireResponseWith[[1104]byte]()
	case n <= 1360:
		return newWireResponseWith[[1360]byte]()
	case n <= 1616:
		return newWireResponseWith[[1616]byte]()
	case n <= 2640:
		return newWireResponseWith[[2640]byte]()
	case n <= 3664:
		return newWireResponseWith[[3664]byte]()
	}
	return new(wireResponse)
}

// wireResponseWith is a wireResponse allocated with room T (an array) for
// its strings.
type wireResponseWith[T any] struct {
	wireResponse
	text T
}

func newWireResponseWith[T any]() *wireResponse {
	x := new(wireResponseWith[T])
	x.strs = unsafe.Slice((*byte)(unsafe.Pointer(&x.text)), unsafe.Sizeof(x.text))[:0]
	return &x.wireResponse
}

// maxAnswerBlock is the largest answer whose strings share one block.
const maxAnswerBlock = 16 << 10

// decodeResponseFast decodes data into the zero w and reports whether it
// could; on false w holds a partial result to be discarded.
func decodeResponseFast(d *chunkDecoder, data []byte, w *wireResponse) bool {
	d.parts = &w.partArr
	s := scanner{b: data, d: d}
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
			break
		}
		var bit uint8
		switch string(key) {
		case "id":
			bit, ok = 1<<0, s.str(&w.ID, nil)
		case "object":
			bit, ok = 1<<1, s.str(&w.Object, nil)
		case "created":
			bit, ok = 1<<2, s.int64(&w.Created)
		case "model":
			bit, ok = 1<<3, s.str(&w.Model, nil)
		case "choices":
			bit, ok = 1<<4, s.responseChoices(&w.Choices, &w.choiceArr)
		case "usage":
			bit, ok = 1<<5, s.usage(&w.Usage, &w.usageBlk)
		case "system_fingerprint":
			bit, ok = 1<<6, s.str(&w.SystemFingerprint, nil)
		case "error":
			bit, ok = 1<<7, s.literal("null") // an error object is left to encoding/json
			w.Error = nullRaw
		default:
			ok = !foldsTo(key, "id", "object", "created", "model", "choices", "usage", "system_fingerprint", "error") && s.skip(0)
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
	return s.end()
}

// responseChoices reads the "choices" array of a completion, the first
// choice into arr (a completion usually has one).
func (s *scanner) responseChoices(dst *[]octomesh.Choice, arr *[1]octomesh.Choice) bool {
	out, null, ok := scanArrayInto(s, arr[:0], s.responseChoice)
	if ok && !null {
		*dst = out
	}
	return ok
}

// responseChoice reads one completion choice.
func (s *scanner) responseChoice(ch *octomesh.Choice) bool {
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
			bit, ok = 1<<0, s.int(&ch.Index)
		case "message":
			bit, ok = 1<<1, s.message(&ch.Message)
		case "finish_reason":
			bit, ok = 1<<2, s.str(&ch.FinishReason, nil)
		case "logprobs":
			bit, ok = 1<<3, s.raw(&ch.Logprobs)
		default:
			ok = !foldsTo(key, "index", "message", "finish_reason", "logprobs") && s.skip(0)
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

// message reads a choice's "message" object.
func (s *scanner) message(m *octomesh.Message) bool {
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
			bit, ok = 1<<0, s.str((*string)(&m.Role), nil)
		case "content":
			bit, ok = 1<<1, s.content(&m.Content)
		case "name":
			bit, ok = 1<<2, s.str(&m.Name, nil)
		case "tool_calls":
			bit, ok = 1<<3, s.toolCalls(&m.ToolCalls)
		case "tool_call_id":
			bit, ok = 1<<4, s.str(&m.ToolCallID, nil)
		case "refusal":
			bit, ok = 1<<5, s.str(&m.Refusal, nil)
		default:
			ok = !foldsTo(key, "role", "content", "name", "tool_calls", "tool_call_id", "refusal") && s.skip(0)
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

// content reads a message's content as octomesh.Content.UnmarshalJSON
// does for null and a string; an array of parts is left to encoding/json.
func (s *scanner) content(c *octomesh.Content) bool {
	switch s.peek() {
	case 'n':
		if !s.literal("null") {
			return false
		}
		*c = octomesh.Content{}
		return true
	case '"':
		var text string
		if !s.str(&text, nil) {
			return false
		}
		if p := s.d.parts; p != nil {
			// octomesh.TextContent(text), in the response's room.
			s.d.parts = nil
			p[0] = octomesh.Part{Type: octomesh.PartText, Text: text}
			*c = octomesh.Content{Parts: p[:1:1]}
			return true
		}
		*c = octomesh.TextContent(text)
		return true
	}
	return false
}

// raw reads any value into a json.RawMessage as encoding/json does: the
// value's exact bytes, copied ("null" included).
func (s *scanner) raw(dst *json.RawMessage) bool {
	s.ws()
	start := s.i
	if !s.skip(0) {
		return false
	}
	if v := s.b[start:s.i]; string(v) == "null" {
		*dst = nullRaw
	} else {
		*dst = append(json.RawMessage(nil), v...)
	}
	return true
}
