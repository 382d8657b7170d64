package anthropicwire

import (
	"bytes"
	"encoding/json"
	"sync"

	"github.com/octomesh/octomesh"
)

// unsupportedField reports whether name is a Messages API parameter the
// canonical request cannot carry; DecodeRequest rejects those by name instead
// of calling them unknown.
func unsupportedField(name string) bool {
	switch name {
	case "top_k", "thinking", "service_tier", "container", "mcp_servers",
		"context_management", "output_config", "output_format", "inference_geo",
		"speed", "cache_control":
		return true
	}
	return false
}

// imageMediaType reports whether t is a base64 image type Anthropic accepts.
func imageMediaType(t string) bool {
	switch t {
	case "image/jpeg", "image/png", "image/gif", "image/webp":
		return true
	}
	return false
}

// DecodeRequest strictly decodes an Anthropic Messages request body (the
// inbound /v1/messages endpoint) into a canonical request.
//
// Every problem is an *octomesh.Error with code EINVALID, a message safe to
// return to the client, and Param naming the offending field path: malformed
// JSON, a body that is not an object, wrong types, unknown fields, parameters
// the canonical format cannot carry, missing model/max_tokens/messages, and
// out-of-range values. See the package documentation for what is accepted
// but not carried (cache_control, is_error).
func DecodeRequest(body []byte) (*octomesh.ChatRequest, error) {
	if firstByte(body) != '{' {
		if !json.Valid(body) {
			var v any
			return nil, syntaxError(json.Unmarshal(body, &v))
		}
		return nil, octomesh.Errorf(octomesh.EINVALID, "request body must be a JSON object")
	}
	if !json.Valid(body) {
		var fields map[string]json.RawMessage
		return nil, syntaxError(json.Unmarshal(body, &fields))
	}
	// The body is valid JSON: the decoder splits it without copying.
	d := decoders.Get().(*requestDecoder)
	defer d.release()
	top, _ := d.object(body, "", -1)
	if name, ok := top.minKey(unsupportedField); ok {
		return nil, invalid(name, "parameter %s is not supported", name)
	}
	err := top.only("model", "max_tokens", "messages", "system", "temperature", "top_p",
		"stop_sequences", "stream", "metadata", "tools", "tool_choice", "octomesh")
	if err != nil {
		return nil, err
	}
	req, err := d.decode(top)
	if err != nil {
		return nil, err
	}
	// OctoMesh's own routing options, as on the OpenAI routes.
	if raw, ok := top.get("octomesh"); ok {
		var opts octomesh.RouteOptions
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&opts); err != nil {
			return nil, invalid("octomesh", "octomesh must be an object of routing options (objective, zero_retention, no_training, regions, fallbacks, …)")
		}
		req.Octomesh = &opts
	}
	return req, nil
}

// requestDecoder decodes one request. Its objects and their members come
// from its own room while it lasts (a request's few objects), so that
// decoding one allocates none of them.
type requestDecoder struct {
	objs    [8]object
	nobjs   int
	fields  [32]field
	nfields int
	elems   [32][]byte // arrays' elements
	nelems  int
	parts   []octomesh.Part // room for plain-text contents' parts (see plain)
	nplain  int             // the room's size: the turns and the system prompt
}

// decoders holds decoders between requests: their room, views of a body,
// is cleared when one goes back (release).
var decoders = sync.Pool{New: func() any { return new(requestDecoder) }}

// release clears the decoder, which holds views of the body it decoded and
// parts of the request it made, and puts it back in the pool.
func (d *requestDecoder) release() {
	// The whole rooms: an object with more members than the room has left
	// fills it before it moves to an array of its own, without counting
	// there (a review found the body pinned by a pooled decoder).
	clear(d.objs[:])
	clear(d.fields[:])
	clear(d.elems[:])
	d.nobjs, d.nfields, d.nelems, d.parts, d.nplain = 0, 0, 0, nil, 0
	decoders.Put(d)
}

// array is o.arrayInto, the elements in the decoder's room while it lasts.
func (d *requestDecoder) array(o *object, name string) ([][]byte, bool, error) {
	room := d.elems[d.nelems:d.nelems:len(d.elems)]
	a, ok, err := o.arrayInto(name, room)
	if len(a) <= cap(room) {
		d.nelems += len(a) // in the room (a longer one has its own array)
	}
	return a[:len(a):len(a)], ok, err // capped: an append must not reach the next array's
}

// plain returns a content holding the plain string s, as
// octomesh.TextContent does, its part carved from a room for the request's
// nplain such contents (its turns and system prompt) at most.
func (d *requestDecoder) plain(s string) octomesh.Content {
	if len(d.parts) == cap(d.parts) {
		d.parts = make([]octomesh.Part, 0, max(d.nplain, 1))
	}
	i := len(d.parts)
	d.parts = append(d.parts, octomesh.Part{Type: octomesh.PartText, Text: s})
	return octomesh.Content{Parts: d.parts[i : i+1 : i+1]}
}

// object is decodeObject, from the decoder's room.
func (d *requestDecoder) object(raw []byte, base string, idx int) (*object, error) {
	if firstByte(raw) != '{' || d.nobjs == len(d.objs) {
		return decodeObject(raw, base, idx)
	}
	o := &d.objs[d.nobjs]
	d.nobjs++
	*o = object{base: base, idx: idx}
	room := d.fields[d.nfields:d.nfields:len(d.fields)]
	o.fields = splitObject(raw, room)
	if len(o.fields) <= cap(room) {
		d.nfields += len(o.fields) // in the room (a longer list has its own array)
	}
	o.fields = o.fields[:len(o.fields):len(o.fields)] // capped: an append must not reach the next object's
	return o, nil
}

func (d *requestDecoder) decode(top *object) (*octomesh.ChatRequest, error) {
	// The request and its max_tokens in one allocation.
	x := new(struct {
		req       octomesh.ChatRequest
		maxTokens int
	})
	req := &x.req
	var err error
	if req.Model, err = top.str("model", true); err != nil {
		return nil, err
	}
	if _, ok := top.get("max_tokens"); !ok {
		return nil, invalid("max_tokens", "max_tokens is required")
	}
	if x.maxTokens, _, err = top.integerValue("max_tokens", 1); err != nil {
		return nil, err
	}
	req.MaxTokens = &x.maxTokens
	if req.Temperature, err = top.number("temperature", 0, 1); err != nil {
		return nil, err
	}
	if req.TopP, err = top.number("top_p", 0, 1); err != nil {
		return nil, err
	}
	var stop []string
	if stop, err = top.strings("stop_sequences"); err != nil {
		return nil, err
	}
	if len(stop) > 0 {
		req.Stop = stop
	}
	stream, err := top.boolean("stream")
	if err != nil {
		return nil, err
	}
	if stream != nil && *stream {
		req.Stream = true
		// Anthropic streams always report usage.
		req.StreamOptions = &octomesh.StreamOptions{IncludeUsage: true}
	}
	if req.User, err = d.metadata(top); err != nil {
		return nil, err
	}
	if v, ok := top.get("messages"); ok && firstByte(v) == '[' {
		d.nplain = countElems(v) + 1
	}
	system, hasSystem, err := d.system(top)
	if err != nil {
		return nil, err
	}
	msgs, ok, err := d.array(top, "messages")
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return nil, invalid("messages", "messages is required")
	case len(msgs) == 0:
		return nil, invalid("messages", "messages must not be empty")
	}
	// A turn is one message, unless it holds tool results.
	req.Messages = make([]octomesh.Message, 0, len(msgs)+1)
	if hasSystem {
		req.Messages = append(req.Messages, system)
	}
	for i, raw := range msgs {
		if req.Messages, err = d.message(raw, i, req.Messages); err != nil {
			return nil, err
		}
	}
	if req.Tools, err = d.tools(top); err != nil {
		return nil, err
	}
	if err := d.toolChoice(top, req); err != nil {
		return nil, err
	}
	return req, nil
}

func (d *requestDecoder) metadata(top *object) (string, error) {
	raw, ok := top.get("metadata")
	if !ok {
		return "", nil
	}
	o, err := d.object(raw, "metadata", -1)
	if err != nil {
		return "", err
	}
	if err := o.only("user_id"); err != nil {
		return "", err
	}
	return o.str("user_id", false)
}

// system decodes the system prompt into at most one system message.
// ok is false when there is none.
func (d *requestDecoder) system(top *object) (_ octomesh.Message, ok bool, _ error) {
	raw, ok := top.get("system")
	if !ok {
		return octomesh.Message{}, false, nil
	}
	if firstByte(raw) == '"' {
		s, err := top.str("system", false)
		if err != nil || s == "" {
			return octomesh.Message{}, false, err
		}
		return octomesh.Message{Role: octomesh.RoleSystem, Content: d.plain(s)}, true, nil
	}
	blocks, _, err := d.array(top, "system")
	if err != nil {
		return octomesh.Message{}, false, invalid("system", "system must be a string or an array of text blocks")
	}
	if len(blocks) == 0 {
		return octomesh.Message{}, false, nil
	}
	parts := make([]octomesh.Part, 0, len(blocks))
	for i, b := range blocks {
		o, err := d.object(b, "system", i)
		if err != nil {
			return octomesh.Message{}, false, err
		}
		typ, err := o.str("type", true)
		if err != nil {
			return octomesh.Message{}, false, err
		}
		if typ != BlockText {
			return octomesh.Message{}, false, invalid(o.at("type"), "system blocks must be text blocks")
		}
		p, err := d.text(o)
		if err != nil {
			return octomesh.Message{}, false, err
		}
		parts = append(parts, p)
	}
	return octomesh.Message{Role: octomesh.RoleSystem, Content: octomesh.Content{Parts: parts, Array: true}}, true, nil
}

// message decodes one turn. A user turn holding tool_result blocks becomes
// canonical tool messages (one per result) and user messages for the blocks
// around them, in order. They are appended to out.
func (d *requestDecoder) message(raw []byte, i int, out []octomesh.Message) ([]octomesh.Message, error) {
	o, err := d.object(raw, "messages", i)
	if err != nil {
		return nil, err
	}
	if err := o.only("role", "content"); err != nil {
		return nil, err
	}
	role, err := o.str("role", true)
	if err != nil {
		return nil, err
	}
	if role != "user" && role != "assistant" {
		return nil, invalid(o.at("role"), "%s must be \"user\" or \"assistant\"", o.at("role"))
	}
	content, ok := o.get("content")
	if !ok {
		return nil, invalid(o.at("content"), "%s is required", o.at("content"))
	}
	if firstByte(content) == '"' {
		s, err := o.str("content", false)
		if err != nil {
			return nil, err
		}
		return append(out, octomesh.Message{Role: octomesh.Role(role), Content: d.plain(s)}), nil
	}
	blocks, _, err := d.array(o, "content")
	if err != nil {
		return nil, invalid(o.at("content"), "%s must be a string or an array of content blocks", o.at("content"))
	}
	if len(blocks) == 0 {
		return nil, invalid(o.at("content"), "%s must not be empty", o.at("content"))
	}
	if role == "assistant" {
		m, err := d.assistant(blocks, o.at("content"))
		if err != nil {
			return nil, err
		}
		return append(out, m), nil
	}
	return d.user(blocks, o.at("content"), out)
}

func (d *requestDecoder) user(blocks [][]byte, path string, out []octomesh.Message) ([]octomesh.Message, error) {
	var run []octomesh.Part
	flush := func() {
		if run != nil {
			out = append(out, octomesh.Message{Role: octomesh.RoleUser, Content: octomesh.Content{Parts: run, Array: true}})
			run = nil
		}
	}
	for i, raw := range blocks {
		o, typ, err := d.block(raw, path, i)
		if err != nil {
			return nil, err
		}
		switch typ {
		case BlockText:
			p, err := d.text(o)
			if err != nil {
				return nil, err
			}
			run = append(run, p)
		case BlockImage:
			p, err := d.image(o)
			if err != nil {
				return nil, err
			}
			run = append(run, p)
		case BlockToolResult:
			m, err := d.toolResult(o)
			if err != nil {
				return nil, err
			}
			flush()
			out = append(out, m)
		default:
			return nil, unsupportedBlock(o, typ, "user")
		}
	}
	flush()
	return out, nil
}

func (d *requestDecoder) assistant(blocks [][]byte, path string) (octomesh.Message, error) {
	m := octomesh.Message{Role: octomesh.RoleAssistant}
	for i, raw := range blocks {
		o, typ, err := d.block(raw, path, i)
		if err != nil {
			return m, err
		}
		switch typ {
		case BlockText:
			p, err := d.text(o)
			if err != nil {
				return m, err
			}
			m.Content.Parts = append(m.Content.Parts, p)
			m.Content.Array = true
		case BlockToolUse:
			if err := o.only("type", "id", "name", "input", "cache_control"); err != nil {
				return m, err
			}
			id, err := o.str("id", true)
			if err != nil {
				return m, err
			}
			name, err := o.str("name", true)
			if err != nil {
				return m, err
			}
			if _, ok := o.get("input"); !ok {
				return m, invalid(o.at("input"), "%s is required", o.at("input"))
			}
			input, err := o.jsonObject("input")
			if err != nil {
				return m, err
			}
			m.ToolCalls = append(m.ToolCalls, octomesh.ToolCall{
				ID: id, Type: "function",
				Function: octomesh.FunctionCall{Name: name, Arguments: string(input)},
			})
		default:
			return m, unsupportedBlock(o, typ, "assistant")
		}
	}
	return m, nil
}

// block decodes a content block's object and its required type.
func (d *requestDecoder) block(raw []byte, path string, i int) (*object, string, error) {
	o, err := d.object(raw, path, i)
	if err != nil {
		return nil, "", err
	}
	typ, err := o.str("type", true)
	return o, typ, err
}

func unsupportedBlock(o *object, typ, role string) error {
	return invalid(o.at("type"), "content block type %q is not supported in %s messages", safeQuote(typ), role)
}

func (d *requestDecoder) text(o *object) (octomesh.Part, error) {
	if err := o.only("type", "text", "cache_control", "citations"); err != nil {
		return octomesh.Part{}, err
	}
	if _, ok := o.get("text"); !ok {
		return octomesh.Part{}, invalid(o.at("text"), "%s is required", o.at("text"))
	}
	s, err := o.str("text", false)
	return octomesh.Part{Type: octomesh.PartText, Text: s}, err
}

func (d *requestDecoder) image(o *object) (octomesh.Part, error) {
	if err := o.only("type", "source", "cache_control"); err != nil {
		return octomesh.Part{}, err
	}
	raw, ok := o.get("source")
	if !ok {
		return octomesh.Part{}, invalid(o.at("source"), "%s is required", o.at("source"))
	}
	src, err := d.object(raw, o.at("source"), -1)
	if err != nil {
		return octomesh.Part{}, err
	}
	typ, err := src.str("type", true)
	if err != nil {
		return octomesh.Part{}, err
	}
	var url string
	switch typ {
	case SourceBase64:
		if err := src.only("type", "media_type", "data"); err != nil {
			return octomesh.Part{}, err
		}
		media, err := src.str("media_type", true)
		if err != nil {
			return octomesh.Part{}, err
		}
		if !imageMediaType(media) {
			return octomesh.Part{}, invalid(src.at("media_type"), "%s must be one of image/jpeg, image/png, image/gif, image/webp", src.at("media_type"))
		}
		data, err := src.str("data", true)
		if err != nil {
			return octomesh.Part{}, err
		}
		url = "data:" + media + ";base64," + data
	case SourceURL:
		if err := src.only("type", "url"); err != nil {
			return octomesh.Part{}, err
		}
		if url, err = src.str("url", true); err != nil {
			return octomesh.Part{}, err
		}
		if !isHTTPURL(url) {
			return octomesh.Part{}, invalid(src.at("url"), "%s must be an http or https URL", src.at("url"))
		}
	default:
		return octomesh.Part{}, invalid(src.at("type"), "image source type %q is not supported", safeQuote(typ))
	}
	return octomesh.Part{Type: octomesh.PartImageURL, ImageURL: &octomesh.ImageURL{URL: url}}, nil
}

func (d *requestDecoder) toolResult(o *object) (octomesh.Message, error) {
	if err := o.only("type", "tool_use_id", "content", "is_error", "cache_control"); err != nil {
		return octomesh.Message{}, err
	}
	id, err := o.str("tool_use_id", true)
	if err != nil {
		return octomesh.Message{}, err
	}
	if _, err := o.boolean("is_error"); err != nil {
		return octomesh.Message{}, err
	}
	m := octomesh.Message{Role: octomesh.RoleTool, ToolCallID: id, Content: octomesh.TextContent("")}
	raw, ok := o.get("content")
	if !ok {
		return m, nil
	}
	if firstByte(raw) == '"' {
		s, err := o.str("content", false)
		m.Content = octomesh.TextContent(s)
		return m, err
	}
	blocks, _, err := d.array(o, "content")
	if err != nil {
		return m, invalid(o.at("content"), "%s must be a string or an array of text and image blocks", o.at("content"))
	}
	parts := make([]octomesh.Part, 0, len(blocks))
	path := o.at("content")
	for i, b := range blocks {
		bo, typ, err := d.block(b, path, i)
		if err != nil {
			return m, err
		}
		var p octomesh.Part
		switch typ {
		case BlockText:
			p, err = d.text(bo)
		case BlockImage:
			p, err = d.image(bo)
		default:
			return m, invalid(bo.at("type"), "content block type %q is not supported in tool results", safeQuote(typ))
		}
		if err != nil {
			return m, err
		}
		parts = append(parts, p)
	}
	m.Content = octomesh.Content{Parts: parts, Array: true}
	return m, nil
}

func (d *requestDecoder) tools(top *object) ([]octomesh.Tool, error) {
	list, _, err := d.array(top, "tools")
	if err != nil || len(list) == 0 {
		return nil, err
	}
	out := make([]octomesh.Tool, 0, len(list))
	for i, raw := range list {
		o, err := d.object(raw, "tools", i)
		if err != nil {
			return nil, err
		}
		typ, err := o.str("type", false)
		if err != nil {
			return nil, err
		}
		if typ != "" && typ != "custom" {
			// Server tools (web_search_…, bash_…) run at Anthropic; they cannot be routed.
			return nil, invalid(o.at("type"), "tool type %q is not supported", safeQuote(typ))
		}
		if err := o.only("type", "name", "description", "input_schema", "strict", "cache_control"); err != nil {
			return nil, err
		}
		name, err := o.str("name", true)
		if err != nil {
			return nil, err
		}
		desc, err := o.str("description", false)
		if err != nil {
			return nil, err
		}
		if _, ok := o.get("input_schema"); !ok {
			return nil, invalid(o.at("input_schema"), "%s is required", o.at("input_schema"))
		}
		schema, err := o.jsonObject("input_schema")
		if err != nil {
			return nil, err
		}
		strict, err := o.boolean("strict")
		if err != nil {
			return nil, err
		}
		out = append(out, octomesh.Tool{Type: "function", Function: octomesh.FunctionDef{
			Name: name, Description: desc, Parameters: schema, Strict: strict,
		}})
	}
	return out, nil
}

func (d *requestDecoder) toolChoice(top *object, req *octomesh.ChatRequest) error {
	raw, ok := top.get("tool_choice")
	if !ok {
		return nil
	}
	o, err := d.object(raw, "tool_choice", -1)
	if err != nil {
		return err
	}
	if err := o.only("type", "name", "disable_parallel_tool_use"); err != nil {
		return err
	}
	typ, err := o.str("type", true)
	if err != nil {
		return err
	}
	name, err := o.str("name", false)
	if err != nil {
		return err
	}
	noParallel, err := o.boolean("disable_parallel_tool_use")
	if err != nil {
		return err
	}
	if name != "" && typ != ChoiceTool {
		return invalid(o.at("name"), "tool_choice.name is allowed only with type \"tool\"")
	}
	switch typ {
	case ChoiceAuto:
		req.ToolChoice = &octomesh.ToolChoice{Mode: octomesh.ToolChoiceAuto}
	case ChoiceAny:
		req.ToolChoice = &octomesh.ToolChoice{Mode: octomesh.ToolChoiceRequired}
	case ChoiceTool:
		if name == "" {
			return invalid(o.at("name"), "tool_choice.name is required with type \"tool\"")
		}
		req.ToolChoice = &octomesh.ToolChoice{Mode: octomesh.ToolChoiceFunction, Function: name}
	case ChoiceNone:
		if noParallel != nil {
			return invalid(o.at("disable_parallel_tool_use"), "disable_parallel_tool_use is not allowed with tool_choice none")
		}
		req.ToolChoice = &octomesh.ToolChoice{Mode: octomesh.ToolChoiceNone}
	default:
		return invalid(o.at("type"), "tool_choice.type must be one of auto, any, tool, none")
	}
	if noParallel != nil && *noParallel {
		f := false
		req.ParallelToolCalls = &f
	}
	return nil
}
