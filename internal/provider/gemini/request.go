package gemini

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/octomesh/octomesh"
)

// maxStopSequences is Gemini's limit on stopSequences.
const maxStopSequences = 5

// encodeChat translates a canonical request into a generateContent body.
// It never modifies req. Anything Gemini cannot express is an EINVALID
// error naming the parameter.
func encodeChat(req *octomesh.ChatRequest) (*generateRequest, error) {
	if names := req.Passthrough.Set(); len(names) > 0 {
		return nil, invalid(names[0], "gemini does not support %s", names[0])
	}
	if req.ParallelToolCalls != nil && !*req.ParallelToolCalls {
		return nil, invalid("parallel_tool_calls", "gemini cannot disable parallel tool calls")
	}
	out := &generateRequest{}
	conv, err := encodeMessages(req.Model, req.Messages)
	if err != nil {
		return nil, err
	}
	out.Contents, out.SystemInstruction = conv.contents, conv.system
	if out.Tools, err = encodeTools(req.Tools); err != nil {
		return nil, err
	}
	if out.ToolConfig, err = encodeToolChoice(req); err != nil {
		return nil, err
	}
	if out.GenerationConfig, err = encodeGenerationConfig(req, conv.mediaResolution); err != nil {
		return nil, err
	}
	return out, nil
}

// conversation is the translated message list.
type conversation struct {
	contents        []content
	system          *content
	mediaResolution string // from the images' detail, "" when unset
}

// encodeMessages translates the messages. System and developer messages
// become systemInstruction parts in order; consecutive tool results become
// one user turn of functionResponse parts, as Gemini pairs them with the
// preceding turn's function calls.
func encodeMessages(model string, msgs []octomesh.Message) (*conversation, error) {
	if len(msgs) == 0 {
		return nil, invalid("messages", "messages must not be empty")
	}
	conv := &conversation{}
	detail := &detailTracker{}
	callNames := map[string]string{} // tool call id → function name
	sentinel := needsSignatureSentinel(model)
	for i := range msgs {
		m := &msgs[i]
		param := fmt.Sprintf("messages[%d]", i)
		if m.Name != "" && m.Role != octomesh.RoleTool {
			return nil, invalid(param+".name", "gemini does not support message names")
		}
		switch m.Role {
		case octomesh.RoleSystem, octomesh.RoleDeveloper:
			text, err := textOnly(m.Content, param)
			if err != nil {
				return nil, err
			}
			if text == "" {
				continue
			}
			if conv.system == nil {
				conv.system = &content{}
			}
			conv.system.Parts = append(conv.system.Parts, part{Text: text})
		case octomesh.RoleUser:
			parts, err := userParts(m.Content, param, detail)
			if err != nil {
				return nil, err
			}
			if len(parts) == 0 {
				return nil, invalid(param+".content", "message content must not be empty")
			}
			conv.contents = append(conv.contents, content{Role: "user", Parts: parts})
		case octomesh.RoleAssistant:
			parts, err := assistantParts(m, param, callNames, sentinel)
			if err != nil {
				return nil, err
			}
			if len(parts) == 0 {
				return nil, invalid(param+".content", "assistant message needs content or tool_calls")
			}
			conv.contents = append(conv.contents, content{Role: "model", Parts: parts})
		case octomesh.RoleTool:
			p, err := toolResultPart(m, param, callNames)
			if err != nil {
				return nil, err
			}
			if i > 0 && msgs[i-1].Role == octomesh.RoleTool {
				last := &conv.contents[len(conv.contents)-1]
				last.Parts = append(last.Parts, p)
			} else {
				conv.contents = append(conv.contents, content{Role: "user", Parts: []part{p}})
			}
		default:
			return nil, invalid(param+".role", "unknown message role %q", m.Role)
		}
	}
	if len(conv.contents) == 0 {
		return nil, invalid("messages", "gemini needs at least one user or assistant message besides system messages")
	}
	if detail.conflict {
		return nil, invalid("messages", "gemini applies one image detail level to the whole request; the images ask for different ones")
	}
	conv.mediaResolution = detail.resolution
	return conv, nil
}

// textOnly returns the text of content that may hold only text parts.
func textOnly(c octomesh.Content, param string) (string, error) {
	for j, p := range c.Parts {
		if p.Type != octomesh.PartText {
			return "", invalid(fmt.Sprintf("%s.content[%d]", param, j), "only text is allowed in this message")
		}
	}
	return c.Text(), nil
}

// userParts translates a user message's content parts.
func userParts(c octomesh.Content, param string, detail *detailTracker) ([]part, error) {
	var parts []part
	for j, p := range c.Parts {
		pp := fmt.Sprintf("%s.content[%d]", param, j)
		switch p.Type {
		case octomesh.PartText:
			if p.Text != "" {
				parts = append(parts, part{Text: p.Text})
			}
		case octomesh.PartImageURL:
			if p.ImageURL == nil {
				return nil, invalid(pp+".image_url", "image_url is required")
			}
			ip, err := imagePart(p.ImageURL.URL, pp+".image_url.url")
			if err != nil {
				return nil, err
			}
			if err := detail.add(p.ImageURL.Detail, pp+".image_url.detail"); err != nil {
				return nil, err
			}
			parts = append(parts, ip)
		default:
			return nil, invalid(pp+".type", "gemini adapter does not support content parts of type %q", p.Type)
		}
	}
	return parts, nil
}

// assistantParts translates an assistant turn: its text, then one
// functionCall part per tool call. It records each call's name by id so a
// later tool result can name its function.
func assistantParts(m *octomesh.Message, param string, callNames map[string]string, sentinel bool) ([]part, error) {
	var parts []part
	text, err := textOnly(m.Content, param)
	if err != nil {
		return nil, err
	}
	if text == "" {
		text = m.Refusal
	}
	if text != "" {
		parts = append(parts, part{Text: text})
	}
	for j, tc := range m.ToolCalls {
		pp := fmt.Sprintf("%s.tool_calls[%d]", param, j)
		if tc.Type != "" && tc.Type != "function" {
			return nil, invalid(pp+".type", "gemini supports only function tool calls")
		}
		if tc.Function.Name == "" {
			return nil, invalid(pp+".function.name", "tool call function name is required")
		}
		args, err := argsObject(tc.Function.Arguments)
		if err != nil {
			return nil, invalid(pp+".function.arguments", "tool call arguments must be a JSON object")
		}
		p := part{FunctionCall: &functionCall{Name: tc.Function.Name, Args: args}}
		if sentinel && j == 0 {
			// Gemini 3+ validates the thought signature of the first call in
			// each model turn. The canonical format has no field to carry
			// the real one back, so send the sentinel Google documents for
			// history it did not sign (reasoning context is lost, not the call).
			p.ThoughtSignature = skipSignature
		}
		parts = append(parts, p)
		if tc.ID != "" {
			callNames[tc.ID] = tc.Function.Name
		}
	}
	return parts, nil
}

// skipSignature is the documented thoughtSignature value that makes Gemini
// skip signature validation for a replayed function call.
const skipSignature = "skip_thought_signature_validator"

// needsSignatureSentinel reports whether model validates thought signatures
// on replayed function calls: Gemini 3 and later. Older models neither need
// nor were tested with the sentinel.
func needsSignatureSentinel(model string) bool {
	name, ok := strings.CutPrefix(strings.TrimPrefix(model, "models/"), "gemini-")
	if !ok {
		return false
	}
	end := 0
	for end < len(name) && name[end] >= '0' && name[end] <= '9' {
		end++
	}
	major, err := strconv.Atoi(name[:end])
	return err == nil && major >= 3
}

// argsObject validates a tool call's JSON arguments as an object; an empty
// string (sent by some clients for calls without arguments) is {}.
func argsObject(s string) (json.RawMessage, error) {
	if strings.TrimSpace(s) == "" {
		return json.RawMessage(`{}`), nil
	}
	if !isJSONObject([]byte(s)) {
		return nil, fmt.Errorf("arguments are not a JSON object")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// toolResultPart translates a tool message into a functionResponse part.
// OpenAI's tool message has no function name, so it is recovered from the
// assistant tool call with the same id.
func toolResultPart(m *octomesh.Message, param string, callNames map[string]string) (part, error) {
	if m.ToolCallID == "" {
		return part{}, invalid(param+".tool_call_id", "tool message needs tool_call_id")
	}
	name, ok := callNames[m.ToolCallID]
	if !ok {
		return part{}, invalid(param+".tool_call_id", "tool_call_id %q matches no earlier assistant tool call", m.ToolCallID)
	}
	text, err := textOnly(m.Content, param)
	if err != nil {
		return part{}, err
	}
	resp := json.RawMessage(text)
	if isJSONObject(resp) {
		var buf bytes.Buffer
		if err := json.Compact(&buf, resp); err != nil {
			return part{}, invalid(param+".content", "tool result is not valid JSON")
		}
		resp = buf.Bytes()
	} else {
		// functionResponse.response must be an object: wrap anything else.
		resp, _ = json.Marshal(map[string]string{"result": text})
	}
	return part{FunctionResponse: &functionResponse{Name: name, Response: resp}}, nil
}

// isJSONObject reports whether b is one valid JSON object.
func isJSONObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}

// encodeTools declares the function tools.
func encodeTools(tools []octomesh.Tool) ([]tool, error) {
	if len(tools) == 0 {
		return nil, nil
	}
	decls := make([]functionDeclaration, 0, len(tools))
	for i, t := range tools {
		param := fmt.Sprintf("tools[%d]", i)
		if t.Type != "function" {
			return nil, invalid(param+".type", "gemini supports only function tools")
		}
		if t.Function.Name == "" {
			return nil, invalid(param+".function.name", "function name is required")
		}
		d := functionDeclaration{Name: t.Function.Name, Description: t.Function.Description}
		if len(t.Function.Parameters) > 0 && string(t.Function.Parameters) != "null" {
			if !isJSONObject(t.Function.Parameters) {
				return nil, invalid(param+".function.parameters", "function parameters must be a JSON Schema object")
			}
			d.ParametersJSONSchema = t.Function.Parameters
		}
		decls = append(decls, d)
	}
	return []tool{{FunctionDeclarations: decls}}, nil
}

// encodeToolChoice maps tool_choice (and strict function schemas) to a
// function calling mode. With no tool_choice and no strict tool, Gemini's
// default (AUTO) applies and no toolConfig is sent.
func encodeToolChoice(req *octomesh.ChatRequest) (*toolConfig, error) {
	strict := false
	for _, t := range req.Tools {
		if t.Function.Strict != nil && *t.Function.Strict {
			strict = true
		}
	}
	tc := req.ToolChoice
	if tc == nil && !strict {
		return nil, nil
	}
	if len(req.Tools) == 0 {
		if tc != nil && tc.Mode == octomesh.ToolChoiceNone {
			return nil, nil // nothing to call anyway
		}
		return nil, invalid("tool_choice", "tool_choice needs tools")
	}
	mode := octomesh.ToolChoiceAuto
	if tc != nil {
		mode = tc.Mode
	}
	cfg := functionCallingConfig{}
	switch mode {
	case octomesh.ToolChoiceAuto:
		cfg.Mode = modeAuto
		if strict {
			// OpenAI's strict promises schema-conformant arguments;
			// Gemini's VALIDATED mode is AUTO with that guarantee.
			cfg.Mode = modeValidated
		}
	case octomesh.ToolChoiceNone:
		cfg.Mode = modeNone
	case octomesh.ToolChoiceRequired:
		cfg.Mode = modeAny
	case octomesh.ToolChoiceFunction:
		found := false
		for _, t := range req.Tools {
			found = found || t.Function.Name == tc.Function
		}
		if !found {
			return nil, invalid("tool_choice", "tool_choice names a function that is not among the tools")
		}
		cfg.Mode = modeAny
		cfg.AllowedFunctionNames = []string{tc.Function}
	default:
		return nil, invalid("tool_choice", "unsupported tool_choice %q", mode)
	}
	return &toolConfig{FunctionCallingConfig: cfg}, nil
}

// encodeGenerationConfig maps sampling and output options; nil when none is set.
func encodeGenerationConfig(req *octomesh.ChatRequest, mediaResolution string) (*generationConfig, error) {
	g := generationConfig{
		Temperature:      req.Temperature,
		TopP:             req.TopP,
		PresencePenalty:  req.PresencePenalty,
		FrequencyPenalty: req.FrequencyPenalty,
		MediaResolution:  mediaResolution,
	}
	if n := req.MaxOutputTokens(); n > 0 {
		g.MaxOutputTokens = &n
	} else if req.MaxCompletionTokens != nil || req.MaxTokens != nil {
		p := "max_tokens"
		if req.MaxCompletionTokens != nil {
			p = "max_completion_tokens"
		}
		return nil, invalid(p, "%s must be positive", p)
	}
	if len(req.Stop) > maxStopSequences {
		return nil, invalid("stop", "gemini accepts at most %d stop sequences", maxStopSequences)
	}
	if len(req.Stop) > 0 {
		g.StopSequences = req.Stop
	}
	if req.N != nil {
		if *req.N < 1 {
			return nil, invalid("n", "n must be at least 1")
		}
		if *req.N > 1 {
			g.CandidateCount = req.N
		}
	}
	if req.Seed != nil {
		// Gemini's seed is a 32-bit integer.
		if *req.Seed < math.MinInt32 || *req.Seed > math.MaxInt32 {
			return nil, invalid("seed", "gemini accepts a 32-bit seed")
		}
		g.Seed = req.Seed
	}
	if rf := req.ResponseFormat; rf != nil {
		switch rf.Type {
		case "", octomesh.FormatText:
		case octomesh.FormatJSONObject:
			g.ResponseMimeType = "application/json"
		case octomesh.FormatJSONSchema:
			if rf.JSONSchema == nil || !isJSONObject(rf.JSONSchema.Schema) {
				return nil, invalid("response_format.json_schema.schema", "json_schema response format needs a JSON Schema object")
			}
			// responseJsonSchema takes standard JSON Schema; responseSchema
			// takes only Gemini's OpenAPI subset. Gemini always enforces the
			// schema, which is what strict asks for.
			g.ResponseMimeType = "application/json"
			g.ResponseJSONSchema = rf.JSONSchema.Schema
		default:
			return nil, invalid("response_format.type", "unsupported response_format type %q", rf.Type)
		}
	}
	if g.isZero() {
		return nil, nil
	}
	return &g, nil
}

// isZero reports whether no option is set.
func (g *generationConfig) isZero() bool {
	return g.StopSequences == nil && g.ResponseMimeType == "" && g.ResponseJSONSchema == nil &&
		g.CandidateCount == nil && g.MaxOutputTokens == nil && g.Temperature == nil && g.TopP == nil &&
		g.Seed == nil && g.PresencePenalty == nil && g.FrequencyPenalty == nil && g.MediaResolution == ""
}

// invalid returns an EINVALID error for param.
func invalid(param, format string, args ...any) *octomesh.Error {
	return octomesh.Errorf(octomesh.EINVALID, format, args...).WithParam(param)
}
