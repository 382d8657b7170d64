package httpapi

import (
	"encoding/json"

	"github.com/octomesh/octomesh"
)

// decodeChat is decodeStrict for a chat request, the body of every
// /v1/chat/completions and /v1/routing/explain call, without encoding/json
// and its reflection on the common path.
//
// The hand-written decoder takes the requests clients send; anything else
// (a syntax or type error, an unknown field, a repeated key, a key needing
// Unicode case folding, deep nesting) makes it give up, and decodeStrict
// decodes the body from scratch. So the result, and every error with its
// wording, is encoding/json's; the fuzz test FuzzChatDecode holds the fast
// path to that. Decoded strings are copies: body may be reused afterwards.
//
// req must be zero, as a freshly declared request is: a repeated key in
// encoding/json merges into what is there, which the fast path does not do.
func decodeChat(body []byte, req *octomesh.ChatRequest) error {
	return decodeChatIn(body, req, nil)
}

// decodeChatIn is decodeChat with room for the request's parts (nil: the
// decoder allocates it when they need it).
func decodeChatIn(body []byte, req *octomesh.ChatRequest, room *chatRoom) error {
	if decodeChatFastIn(body, req, room) {
		return nil
	}
	*req = octomesh.ChatRequest{}
	return decodeStrict(body, req)
}

// chatRoom holds the small parts of a short chat request, so that they
// cost one allocation together instead of one each: the messages, the
// contents' text parts and the stream options. Whatever does not fit is
// allocated on its own. The decoded request points into the room, which
// is never reused: it lives as long as any of them.
type chatRoom struct {
	msgs     [4]octomesh.Message
	parts    [4]octomesh.Part
	so       octomesh.StreamOptions
	ints     [2]int     // for max_tokens and the like
	floats   [2]float64 // for temperature and the like
	nints    int
	nfloats  int
	nparts   int
	usedMsgs bool
	usedSO   bool
}

// chatAlloc is a request and its room in one allocation (handleChat's).
type chatAlloc struct {
	req  octomesh.ChatRequest
	room chatRoom
}

// getRoom returns the reader's room, allocating it on first use.
func (r *jsonReader) getRoom() *chatRoom {
	if r.room == nil {
		r.room = new(chatRoom)
	}
	return r.room
}

// decodeChatFast decodes body into req, or reports false and leaves req
// partly filled when the body is not one it decodes exactly as
// decodeStrict would.
func decodeChatFast(body []byte, req *octomesh.ChatRequest) bool {
	return decodeChatFastIn(body, req, nil)
}

func decodeChatFastIn(body []byte, req *octomesh.ChatRequest, room *chatRoom) bool {
	r := jsonReader{data: body, room: room}
	if !r.chatRequest(req) {
		return false
	}
	r.ws()
	if r.pos != len(r.data) {
		return false
	}
	r.flushTexts()
	return true
}

// fieldSet records the fields an object has set. Each field may appear
// once: encoding/json merges a repeated object or array into the first
// (reusing even slice elements past the new length), which is left to it.
type fieldSet uint64

func (s *fieldSet) add(bit uint) bool {
	if *s&(1<<bit) != 0 {
		return false
	}
	*s |= 1 << bit
	return true
}

func (r *jsonReader) chatRequest(req *octomesh.ChatRequest) bool {
	empty, ok := r.openObject()
	if !ok {
		return false
	}
	var seen fieldSet
	var fold [32]byte
	for more := !empty; more; {
		k, ok := r.key(&fold)
		if !ok {
			return false
		}
		switch string(k) {
		case "model":
			ok = seen.add(0) && r.readDeferred(&req.Model)
		case "messages":
			ok = seen.add(1) && r.messages(&req.Messages)
		case "tools":
			ok = seen.add(2) && r.tools(&req.Tools)
		case "tool_choice":
			ok = seen.add(3) && r.toolChoice(&req.ToolChoice)
		case "parallel_tool_calls":
			ok = seen.add(4) && r.boolPtr(&req.ParallelToolCalls)
		case "response_format":
			ok = seen.add(5) && r.responseFormat(&req.ResponseFormat)
		case "max_tokens":
			ok = seen.add(6) && r.intPtr(&req.MaxTokens)
		case "max_completion_tokens":
			ok = seen.add(7) && r.intPtr(&req.MaxCompletionTokens)
		case "temperature":
			ok = seen.add(8) && r.floatPtr(&req.Temperature)
		case "top_p":
			ok = seen.add(9) && r.floatPtr(&req.TopP)
		case "stop":
			ok = seen.add(10) && r.stop(&req.Stop)
		case "seed":
			ok = seen.add(11) && r.int64Ptr(&req.Seed)
		case "n":
			ok = seen.add(12) && r.intPtr(&req.N)
		case "presence_penalty":
			ok = seen.add(13) && r.floatPtr(&req.PresencePenalty)
		case "frequency_penalty":
			ok = seen.add(14) && r.floatPtr(&req.FrequencyPenalty)
		case "user":
			ok = seen.add(15) && readText(r, &req.User)
		case "metadata":
			ok = seen.add(16) && r.stringMap(&req.Metadata)
		case "stream":
			ok = seen.add(17) && r.boolInto(&req.Stream)
		case "stream_options":
			ok = seen.add(18) && r.streamOptions(&req.StreamOptions)
		case "octomesh":
			ok = seen.add(19) && r.routeOptions(&req.Octomesh)
		default:
			ok = r.passthrough(&req.Passthrough, &seen, k)
		}
		if !ok {
			return false
		}
		if more, ok = r.next('}'); !ok {
			return false
		}
	}
	return true
}

// passthrough reads one of the fields kept raw, or reports false for a
// key that is not one (an unknown field).
func (r *jsonReader) passthrough(p *octomesh.Passthrough, seen *fieldSet, k []byte) bool {
	var dst *json.RawMessage
	var bit uint
	switch string(k) {
	case "logprobs":
		dst, bit = &p.Logprobs, 20
	case "top_logprobs":
		dst, bit = &p.TopLogprobs, 21
	case "logit_bias":
		dst, bit = &p.LogitBias, 22
	case "reasoning_effort":
		dst, bit = &p.ReasoningEffort, 23
	case "service_tier":
		dst, bit = &p.ServiceTier, 24
	case "store":
		dst, bit = &p.Store, 25
	case "modalities":
		dst, bit = &p.Modalities, 26
	case "audio":
		dst, bit = &p.Audio, 27
	case "prediction":
		dst, bit = &p.Prediction, 28
	case "verbosity":
		dst, bit = &p.Verbosity, 29
	case "web_search_options":
		dst, bit = &p.WebSearchOptions, 30
	case "prompt_cache_key":
		dst, bit = &p.PromptCacheKey, 31
	case "safety_identifier":
		dst, bit = &p.SafetyIdentifier, 32
	default:
		return false
	}
	if !seen.add(bit) {
		return false
	}
	v, ok := r.raw()
	*dst = v
	return ok
}

func (r *jsonReader) streamOptions(dst **octomesh.StreamOptions) bool {
	if r.null() {
		*dst = nil
		return true
	}
	var o *octomesh.StreamOptions
	if room := r.getRoom(); !room.usedSO {
		room.usedSO = true
		o = &room.so
	} else {
		o = new(octomesh.StreamOptions)
	}
	*dst = o
	empty, ok := r.openObject()
	if !ok {
		return false
	}
	var seen fieldSet
	var fold [32]byte
	for more := !empty; more; {
		k, ok := r.key(&fold)
		if !ok {
			return false
		}
		switch string(k) {
		case "include_usage":
			ok = seen.add(0) && r.boolInto(&o.IncludeUsage)
		case "include_obfuscation":
			ok = seen.add(1) && r.boolPtr(&o.IncludeObfuscation)
		default:
			ok = false
		}
		if !ok {
			return false
		}
		if more, ok = r.next('}'); !ok {
			return false
		}
	}
	return true
}

func (r *jsonReader) responseFormat(dst **octomesh.ResponseFormat) bool {
	if r.null() {
		*dst = nil
		return true
	}
	f := new(octomesh.ResponseFormat)
	*dst = f
	empty, ok := r.openObject()
	if !ok {
		return false
	}
	var seen fieldSet
	var fold [32]byte
	for more := !empty; more; {
		k, ok := r.key(&fold)
		if !ok {
			return false
		}
		switch string(k) {
		case "type":
			ok = seen.add(0) && readName(r, &f.Type)
		case "json_schema":
			ok = seen.add(1) && r.jsonSchema(&f.JSONSchema)
		default:
			ok = false
		}
		if !ok {
			return false
		}
		if more, ok = r.next('}'); !ok {
			return false
		}
	}
	return true
}

func (r *jsonReader) jsonSchema(dst **octomesh.JSONSchema) bool {
	if r.null() {
		*dst = nil
		return true
	}
	s := new(octomesh.JSONSchema)
	*dst = s
	empty, ok := r.openObject()
	if !ok {
		return false
	}
	var seen fieldSet
	var fold [32]byte
	for more := !empty; more; {
		k, ok := r.key(&fold)
		if !ok {
			return false
		}
		switch string(k) {
		case "name":
			ok = seen.add(0) && readText(r, &s.Name)
		case "description":
			ok = seen.add(1) && readText(r, &s.Description)
		case "schema":
			ok = seen.add(2) && r.rawInto(&s.Schema)
		case "strict":
			ok = seen.add(3) && r.boolPtr(&s.Strict)
		default:
			ok = false
		}
		if !ok {
			return false
		}
		if more, ok = r.next('}'); !ok {
			return false
		}
	}
	return true
}

func (r *jsonReader) routeOptions(dst **octomesh.RouteOptions) bool {
	if r.null() {
		*dst = nil
		return true
	}
	o := new(octomesh.RouteOptions)
	*dst = o
	empty, ok := r.openObject()
	if !ok {
		return false
	}
	var seen fieldSet
	var fold [32]byte
	for more := !empty; more; {
		k, ok := r.key(&fold)
		if !ok {
			return false
		}
		switch string(k) {
		case "objective":
			ok = seen.add(0) && readName(r, &o.Objective)
		case "weights":
			ok = seen.add(1) && r.weights(&o.Weights)
		case "quality_floor":
			ok = seen.add(2) && r.floatPtr(&o.QualityFloor)
		case "tradeoff":
			ok = seen.add(3) && r.floatPtr(&o.Tradeoff)
		case "max_cost_usd":
			ok = seen.add(4) && readText(r, &o.MaxCostUSD)
		case "zero_retention":
			ok = seen.add(5) && r.boolInto(&o.ZeroRetention)
		case "no_training":
			ok = seen.add(6) && r.boolInto(&o.NoTraining)
		case "regions":
			ok = seen.add(7) && r.strings(&o.Regions)
		case "fallbacks":
			ok = seen.add(8) && r.strings(&o.Fallbacks)
		case "hedge":
			ok = seen.add(9) && r.boolPtr(&o.Hedge)
		case "timeout_ms":
			ok = seen.add(10) && r.intInto(&o.TimeoutMS)
		default:
			ok = false
		}
		if !ok {
			return false
		}
		if more, ok = r.next('}'); !ok {
			return false
		}
	}
	return true
}

func (r *jsonReader) weights(dst **octomesh.Weights) bool {
	if r.null() {
		*dst = nil
		return true
	}
	w := new(octomesh.Weights)
	*dst = w
	empty, ok := r.openObject()
	if !ok {
		return false
	}
	var seen fieldSet
	var fold [32]byte
	for more := !empty; more; {
		k, ok := r.key(&fold)
		if !ok {
			return false
		}
		switch string(k) {
		case "quality":
			ok = seen.add(0) && r.floatInto(&w.Quality)
		case "cost":
			ok = seen.add(1) && r.floatInto(&w.Cost)
		case "latency":
			ok = seen.add(2) && r.floatInto(&w.Latency)
		default:
			ok = false
		}
		if !ok {
			return false
		}
		if more, ok = r.next('}'); !ok {
			return false
		}
	}
	return true
}
