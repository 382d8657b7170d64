package anthropicwire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/octomesh/octomesh"
)

// EncodeOptions configure EncodeRequest.
type EncodeOptions struct {
	// Provider names the provider in error messages ("parameter n is not
	// supported by provider anthropic"); default "anthropic".
	Provider string
	// DefaultMaxTokens is sent as max_tokens when the request sets neither
	// max_completion_tokens nor max_tokens; default DefaultMaxTokens.
	DefaultMaxTokens int
}

// jsonObjectTool names the forced tool used for response_format json_object.
const jsonObjectTool = "json_response"

// EncodeRequest translates a canonical request into an Anthropic request body
// (see the package documentation for the mapping). It does not modify req.
// The body's Stream is req.Stream; callers set it to the call they make.
//
// It returns an *octomesh.Error with code EINVALID, naming the parameter, for
// anything Anthropic cannot express: unsupported parameters, roles or content
// parts, tool call arguments that are not a JSON object, a tool message
// without tool_call_id, response_format combined with tools.
func EncodeRequest(req *octomesh.ChatRequest, opt EncodeOptions) (*Request, error) {
	e := encoder{provider: opt.Provider}
	if e.provider == "" {
		e.provider = "anthropic"
	}
	if err := e.unsupported(req); err != nil {
		return nil, err
	}
	// The request and its system prompt's content in one allocation.
	x := new(struct {
		req    Request
		system Content
	})
	out := &x.req
	*out = Request{
		Model:         req.Model,
		MaxTokens:     req.MaxOutputTokens(),
		Temperature:   req.Temperature,
		TopP:          req.TopP,
		StopSequences: req.Stop,
		Stream:        req.Stream,
	}
	switch {
	case req.MaxCompletionTokens != nil && *req.MaxCompletionTokens < 1:
		return nil, invalid("max_completion_tokens", "max_completion_tokens must be at least 1")
	case req.MaxCompletionTokens == nil && req.MaxTokens != nil && *req.MaxTokens < 1:
		return nil, invalid("max_tokens", "max_tokens must be at least 1")
	case out.MaxTokens == 0:
		out.MaxTokens = opt.DefaultMaxTokens
		if out.MaxTokens <= 0 {
			out.MaxTokens = DefaultMaxTokens
		}
	}
	if t := req.Temperature; t != nil && (*t < 0 || *t > 1) {
		return nil, invalid("temperature", "temperature must be between 0 and 1 for provider %s", e.provider)
	}
	if req.User != "" {
		out.Metadata = &RequestMeta{UserID: req.User}
	}
	system, msgs, err := e.messages(req.Messages, &x.system)
	if err != nil {
		return nil, err
	}
	out.System, out.Messages = system, msgs
	if err := e.tools(req, out); err != nil {
		return nil, err
	}
	return out, nil
}

type encoder struct {
	provider string
	blocks   []ContentBlock // room for the request's blocks (see room)
}

// room returns an empty slice with room for n blocks, from the encoder's
// room while it lasts. Its capacity is n: appending past it copies.
func (e *encoder) room(n int) []ContentBlock {
	if used := len(e.blocks); n <= cap(e.blocks)-used {
		e.blocks = e.blocks[:used+n]
		return e.blocks[used : used : used+n]
	}
	return make([]ContentBlock, 0, n)
}

// blocksFor returns how many blocks the encoder makes of in at most.
func blocksFor(in []octomesh.Message) int {
	n := 0
	for i := range in {
		m := &in[i]
		n += len(m.Content.Parts)
		switch m.Role {
		case octomesh.RoleAssistant:
			n += len(m.ToolCalls) + 1
		case octomesh.RoleTool:
			n++
		}
	}
	return n
}

// unsupported rejects parameters Anthropic has no equivalent for.
func (e *encoder) unsupported(req *octomesh.ChatRequest) error {
	if req.N != nil && *req.N > 1 {
		return e.notSupported("n")
	}
	if req.N != nil && *req.N < 1 {
		return invalid("n", "n must be at least 1")
	}
	if req.Seed != nil {
		return e.notSupported("seed")
	}
	if req.PresencePenalty != nil && *req.PresencePenalty != 0 {
		return e.notSupported("presence_penalty")
	}
	if req.FrequencyPenalty != nil && *req.FrequencyPenalty != 0 {
		return e.notSupported("frequency_penalty")
	}
	if set := req.Passthrough.Set(); len(set) > 0 {
		if len(set) == 1 {
			return e.notSupported(set[0])
		}
		return invalid(set[0], "parameters %s are not supported by provider %s", strings.Join(set, ", "), e.provider)
	}
	return nil
}

func (e *encoder) notSupported(param string) *octomesh.Error {
	return invalid(param, "parameter %s is not supported by provider %s", param, e.provider)
}

// messages splits the conversation into the system prompt (in sys, when
// there is one) and the turns.
func (e *encoder) messages(in []octomesh.Message, sys *Content) (*Content, []Message, error) {
	e.blocks = make([]ContentBlock, 0, blocksFor(in))
	nsys := 0
	for i := range in {
		if r := in[i].Role; r == octomesh.RoleSystem || r == octomesh.RoleDeveloper {
			nsys += len(in[i].Content.Parts)
		}
	}
	system := e.room(nsys)
	systemPlain := true
	out := make([]Message, 0, len(in))
	for i := range in {
		m := &in[i]
		switch m.Role {
		case octomesh.RoleSystem, octomesh.RoleDeveloper:
			for j, p := range m.Content.Parts {
				if p.Type != octomesh.PartText {
					return nil, nil, invalid(fmt.Sprintf("%s.content[%d]", msgPath(i), j), "%s messages may hold only text for provider %s", m.Role, e.provider)
				}
				system = append(system, ContentBlock{Type: BlockText, Text: p.Text})
			}
			if m.Content.Array {
				systemPlain = false
			}
		case octomesh.RoleUser:
			c, err := e.userContent(m.Content, i)
			if err != nil {
				return nil, nil, err
			}
			if i > 0 && in[i-1].Role == octomesh.RoleTool {
				// A user message right after tool results continues their
				// turn, the shape Anthropic itself documents.
				last := &out[len(out)-1]
				last.Content.Blocks = append(last.Content.Blocks, c.Blocks...)
				continue
			}
			out = append(out, Message{Role: "user", Content: c})
		case octomesh.RoleAssistant:
			c, err := e.assistantContent(m, i)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, Message{Role: "assistant", Content: c})
		case octomesh.RoleTool:
			b, err := e.toolResult(m, i)
			if err != nil {
				return nil, nil, err
			}
			// Consecutive tool messages share one user turn.
			if i > 0 && in[i-1].Role == octomesh.RoleTool {
				last := &out[len(out)-1]
				last.Content.Blocks = append(last.Content.Blocks, b)
			} else {
				out = append(out, Message{Role: "user", Content: Content{Blocks: append(e.room(1), b), Array: true}})
			}
		default:
			return nil, nil, invalid(msgPath(i)+".role", "message role %q is not supported by provider %s", safeQuote(string(m.Role)), e.provider)
		}
	}
	if len(out) == 0 {
		return nil, nil, invalid("messages", "messages must contain at least one user or assistant message")
	}
	// Anthropic rejects a final assistant message (a prefill, e.g. a
	// continuation) that ends in whitespace.
	if last := &out[len(out)-1]; last.Role == "assistant" {
		if n := len(last.Content.Blocks); n > 0 && last.Content.Blocks[n-1].Type == BlockText {
			last.Content.Blocks[n-1].Text = strings.TrimRightFunc(last.Content.Blocks[n-1].Text, unicode.IsSpace)
		}
	}
	switch {
	case len(system) == 0:
		sys = nil
	case len(system) == 1 && systemPlain:
		*sys = Content{Blocks: system}
	default:
		*sys = Content{Blocks: system, Array: true}
	}
	return sys, out, nil
}

// msgPath returns message i's path, for an error.
func msgPath(i int) string { return "messages[" + strconv.Itoa(i) + "]" }

// userContent converts user content: a string stays a string; parts become
// text and image blocks.
// msg is the message's index, for error paths (messages[msg].content).
func (e *encoder) userContent(c octomesh.Content, msg int) (Content, error) {
	if c.IsNull() {
		return Content{}, invalid(msgPath(msg)+".content", "user message content must not be null")
	}
	blocks := e.room(len(c.Parts))
	for j, p := range c.Parts {
		b, err := e.part(p, msg, j)
		if err != nil {
			return Content{}, err
		}
		blocks = append(blocks, b)
	}
	return Content{Blocks: blocks, Array: c.Array}, nil
}

// part converts part j of message msg's content.
func (e *encoder) part(p octomesh.Part, msg, j int) (ContentBlock, error) {
	path := func() string { return fmt.Sprintf("%s.content[%d]", msgPath(msg), j) }
	switch p.Type {
	case octomesh.PartText:
		return ContentBlock{Type: BlockText, Text: p.Text}, nil
	case octomesh.PartImageURL:
		if p.ImageURL == nil {
			return ContentBlock{}, invalid(path()+".image_url", "image_url part without image_url")
		}
		src, err := imageSource(p.ImageURL.URL)
		if err != nil {
			return ContentBlock{}, err.WithParam(path() + ".image_url.url")
		}
		return ContentBlock{Type: BlockImage, Source: src}, nil
	}
	return ContentBlock{}, invalid(path()+".type", "content part type %q is not supported by provider %s", safeQuote(p.Type), e.provider)
}

// imageSource turns a data: URL (base64) into a base64 source and an http(s)
// URL into a url source.
func imageSource(u string) (*ImageSource, *octomesh.Error) {
	if rest, ok := cutPrefixFold(u, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		media, enc, _ := strings.Cut(meta, ";")
		if !ok || !strings.EqualFold(enc, "base64") || !strings.HasPrefix(media, "image/") {
			return nil, octomesh.Errorf(octomesh.EINVALID, "image data URLs must have the form data:image/<type>;base64,<data>")
		}
		return &ImageSource{Type: SourceBase64, MediaType: strings.ToLower(media), Data: data}, nil
	}
	if isHTTPURL(u) {
		return &ImageSource{Type: SourceURL, URL: u}, nil
	}
	return nil, octomesh.Errorf(octomesh.EINVALID, "image URLs must be https URLs or base64 data URLs")
}

// assistantContent converts an assistant turn: its text, then its tool calls
// as tool_use blocks.
func (e *encoder) assistantContent(m *octomesh.Message, msg int) (Content, error) {
	if len(m.ToolCalls) == 0 && (!m.Content.Array || m.Content.IsNull()) {
		return Content{Blocks: append(e.room(1), ContentBlock{Type: BlockText, Text: m.Content.Text()})}, nil
	}
	blocks := e.room(len(m.Content.Parts) + len(m.ToolCalls))
	for j, p := range m.Content.Parts {
		if p.Type != octomesh.PartText {
			return Content{}, invalid(fmt.Sprintf("%s.content[%d].type", msgPath(msg), j), "assistant messages may hold only text")
		}
		if p.Text == "" && len(m.ToolCalls) > 0 {
			continue // Anthropic rejects empty text blocks
		}
		blocks = append(blocks, ContentBlock{Type: BlockText, Text: p.Text})
	}
	for j, tc := range m.ToolCalls {
		tpath := func() string { return fmt.Sprintf("%s.tool_calls[%d]", msgPath(msg), j) }
		if tc.ID == "" {
			return Content{}, invalid(tpath()+".id", "tool call id must not be empty")
		}
		if tc.Function.Name == "" {
			return Content{}, invalid(tpath()+".function.name", "tool call function name must not be empty")
		}
		input, err := argumentsObject(tc.Function.Arguments)
		if err != nil {
			return Content{}, invalid(tpath()+".function.arguments", "tool call arguments must be a JSON object")
		}
		blocks = append(blocks, ContentBlock{Type: BlockToolUse, ID: toolID(tc.ID), Name: tc.Function.Name, Input: input})
	}
	return Content{Blocks: blocks, Array: true}, nil
}

// argumentsObject parses a tool call's JSON-string arguments into a compact
// JSON object ("" means no arguments).
func argumentsObject(args string) (json.RawMessage, error) {
	if strings.TrimSpace(args) == "" {
		return json.RawMessage("{}"), nil
	}
	if firstByte([]byte(args)) != '{' || !json.Valid([]byte(args)) {
		return nil, fmt.Errorf("arguments are not a JSON object")
	}
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(args)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// toolResult converts a tool message into a tool_result block.
func (e *encoder) toolResult(m *octomesh.Message, msg int) (ContentBlock, error) {
	if m.ToolCallID == "" {
		return ContentBlock{}, invalid(msgPath(msg)+".tool_call_id", "tool messages must have a tool_call_id")
	}
	b := ContentBlock{Type: BlockToolResult, ToolUseID: toolID(m.ToolCallID)}
	if !m.Content.IsNull() {
		c, err := e.userContent(m.Content, msg)
		if err != nil {
			return ContentBlock{}, err
		}
		b.ResultContent = &c
	}
	return b, nil
}

// tools sets tools and tool_choice, including the forced tool that carries a
// response_format answer.
func (e *encoder) tools(req *octomesh.ChatRequest, out *Request) error {
	for i, t := range req.Tools {
		path := fmt.Sprintf("tools[%d]", i)
		if t.Type != "" && t.Type != "function" {
			return invalid(path+".type", "tool type %q is not supported by provider %s", safeQuote(t.Type), e.provider)
		}
		if t.Function.Name == "" {
			return invalid(path+".function.name", "tool function name must not be empty")
		}
		out.Tools = append(out.Tools, Tool{
			Name:        t.Function.Name,
			Description: t.Function.Description,
			InputSchema: schemaOrEmpty(t.Function.Parameters),
			Strict:      t.Function.Strict,
		})
	}
	noParallel := req.ParallelToolCalls != nil && !*req.ParallelToolCalls
	if rf := req.ResponseFormat; rf != nil && (rf.Type == octomesh.FormatJSONSchema || rf.Type == octomesh.FormatJSONObject) {
		if len(req.Tools) > 0 {
			return invalid("response_format", "response_format %s cannot be combined with tools for provider %s", rf.Type, e.provider)
		}
		tool := Tool{Name: jsonObjectTool, Description: "Respond with a JSON object.", InputSchema: json.RawMessage(`{"type":"object"}`)}
		if rf.Type == octomesh.FormatJSONSchema {
			if rf.JSONSchema == nil || rf.JSONSchema.Name == "" {
				return invalid("response_format.json_schema.name", "response_format json_schema needs a name")
			}
			tool = Tool{
				Name:        rf.JSONSchema.Name,
				Description: rf.JSONSchema.Description,
				InputSchema: schemaOrEmpty(rf.JSONSchema.Schema),
				Strict:      rf.JSONSchema.Strict,
			}
			if tool.Description == "" {
				tool.Description = "Respond with a JSON object that matches this schema."
			}
		}
		out.Tools = []Tool{tool}
		out.ToolChoice = &ToolChoice{Type: ChoiceTool, Name: tool.Name}
		out.JSONTool = tool.Name
		return nil
	}
	if rf := req.ResponseFormat; rf != nil && rf.Type != "" && rf.Type != octomesh.FormatText {
		return invalid("response_format.type", "response_format type %q is not supported by provider %s", safeQuote(rf.Type), e.provider)
	}
	tc := req.ToolChoice
	if len(req.Tools) == 0 {
		if tc != nil && (tc.Mode == octomesh.ToolChoiceRequired || tc.Mode == octomesh.ToolChoiceFunction) {
			return invalid("tool_choice", "tool_choice %s needs tools", tc.Mode)
		}
		return nil // tool_choice auto/none and parallel_tool_calls mean nothing without tools
	}
	switch {
	case tc == nil:
		if noParallel {
			out.ToolChoice = &ToolChoice{Type: ChoiceAuto, DisableParallelToolUse: true}
		}
	case tc.Mode == octomesh.ToolChoiceAuto:
		out.ToolChoice = &ToolChoice{Type: ChoiceAuto, DisableParallelToolUse: noParallel}
	case tc.Mode == octomesh.ToolChoiceRequired:
		out.ToolChoice = &ToolChoice{Type: ChoiceAny, DisableParallelToolUse: noParallel}
	case tc.Mode == octomesh.ToolChoiceFunction:
		out.ToolChoice = &ToolChoice{Type: ChoiceTool, Name: tc.Function, DisableParallelToolUse: noParallel}
	case tc.Mode == octomesh.ToolChoiceNone:
		out.ToolChoice = &ToolChoice{Type: ChoiceNone}
	default:
		return invalid("tool_choice", "tool_choice %q is not supported", safeQuote(tc.Mode))
	}
	return nil
}

// schemaOrEmpty returns s, or an empty object schema when s is absent
// (Anthropic requires input_schema).
func schemaOrEmpty(s json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(s)) == 0 || string(bytes.TrimSpace(s)) == "null" {
		return json.RawMessage(`{"type":"object","properties":{}}`)
	}
	return s
}

// toolID maps a canonical tool call id onto Anthropic's id alphabet
// [A-Za-z0-9_-], replacing other characters with '_'.
func toolID(id string) string {
	ok := true
	for i := 0; i < len(id); i++ {
		if !idByte(id[i]) {
			ok = false
			break
		}
	}
	if ok {
		return id
	}
	b := []byte(id)
	for i := range b {
		if !idByte(b[i]) {
			b[i] = '_'
		}
	}
	return string(b)
}

func idByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// invalid returns an EINVALID error for param.
func invalid(param, format string, args ...any) *octomesh.Error {
	return octomesh.Errorf(octomesh.EINVALID, format, args...).WithParam(param)
}

// safeQuote returns s if it is a short identifier that cannot carry content,
// else a placeholder, so client-supplied values are not echoed into messages.
func safeQuote(s string) string {
	if len(s) == 0 || len(s) > 64 {
		return "(invalid)"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(idByte(c) || c == '.' || c == '/') {
			return "(invalid)"
		}
	}
	return s
}

// isHTTPURL reports whether u starts with http:// or https:// and has a host.
func isHTTPURL(u string) bool {
	for _, scheme := range []string{"https://", "http://"} {
		if rest, ok := cutPrefixFold(u, scheme); ok {
			return rest != "" && rest[0] != '/'
		}
	}
	return false
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}
