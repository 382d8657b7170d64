package sim

import (
	"fmt"

	"github.com/octomesh/octomesh"
)

// Request limits the fleet enforces itself (the gateway validates first;
// the fleet still rejects what a real upstream would).
const (
	maxChoices = 128
	maxStops   = 4
)

// checked is what validating a chat request yields for generation.
type checked struct {
	prompt     int       // estimated prompt tokens
	limit      int       // output tokens each choice may produce
	n          int       // choices
	toolSchema []*schema // parsed parameters of each tool
	format     *schema   // parsed json_schema response format, if any
}

// check validates req against model m: request shape, capabilities and
// the context window. Errors are EINVALID (naming the parameter) or
// ECONTEXTLENGTH.
func (f *Fleet) check(req *octomesh.ChatRequest, m *Model, stream bool) (*checked, error) {
	invalid := func(param, format string, args ...any) error {
		return octomesh.Errorf(octomesh.EINVALID, format, args...).WithParam(param)
	}
	if !m.chat() {
		return nil, invalid("model", "model %s is an embedding model and does not support chat completions", m.Name)
	}
	if stream && !m.Caps.Streaming {
		return nil, invalid("stream", "model %s does not support streaming", m.Name)
	}
	if len(req.Messages) == 0 {
		return nil, invalid("messages", "messages must be a non-empty array")
	}
	c := &checked{n: 1}
	if req.N != nil {
		if *req.N < 1 || *req.N > maxChoices {
			return nil, invalid("n", "n must be between 1 and %d", maxChoices)
		}
		c.n = *req.N
	}
	if len(req.Stop) > maxStops {
		return nil, invalid("stop", "at most %d stop sequences are allowed", maxStops)
	}
	capParam := "max_tokens"
	if req.MaxCompletionTokens != nil {
		capParam = "max_completion_tokens"
	}
	want := req.MaxOutputTokens()
	if (req.MaxTokens != nil || req.MaxCompletionTokens != nil) && want < 1 {
		return nil, invalid(capParam, "%s must be at least 1", capParam)
	}
	if want > m.MaxOutputTokens {
		return nil, invalid(capParam, "%s is too large: model %s supports at most %d completion tokens", capParam, m.Name, m.MaxOutputTokens)
	}
	// Passthrough fields that change the response's shape cannot be
	// simulated; the others (store, service_tier …) change nothing visible.
	if lp := req.Logprobs; lp != nil && string(lp) != "null" && string(lp) != "false" {
		return nil, invalid("logprobs", "the simulated fleet does not produce logprobs")
	}
	if tl := req.TopLogprobs; tl != nil && string(tl) != "null" {
		return nil, invalid("top_logprobs", "the simulated fleet does not produce logprobs")
	}
	if a := req.Audio; a != nil && string(a) != "null" {
		return nil, invalid("audio", "the simulated fleet does not produce audio")
	}
	if req.HasImages() && !m.Caps.Vision {
		return nil, invalid("messages", "model %s does not support image inputs", m.Name)
	}
	if len(req.Tools) > 0 && !m.Caps.Tools {
		return nil, invalid("tools", "model %s does not support tools", m.Name)
	}
	names := map[string]bool{}
	for i, t := range req.Tools {
		p := fmt.Sprintf("tools[%d]", i)
		if t.Type != "function" {
			return nil, invalid(p+".type", "tool type must be \"function\"")
		}
		if t.Function.Name == "" {
			return nil, invalid(p+".function.name", "function name is required")
		}
		names[t.Function.Name] = true
		s, err := parseSchema(t.Function.Parameters)
		if err != nil {
			return nil, octomesh.Errorf(octomesh.EINVALID, "the function parameters are not a usable JSON Schema").WithParam(p + ".function.parameters").WithCause(err)
		}
		c.toolSchema = append(c.toolSchema, s)
	}
	if tc := req.ToolChoice; tc != nil && tc.Mode != "" && tc.Mode != octomesh.ToolChoiceNone && tc.Mode != octomesh.ToolChoiceAuto {
		if len(req.Tools) == 0 {
			return nil, invalid("tool_choice", "tool_choice %s requires tools", tc.Mode)
		}
		if tc.Mode == octomesh.ToolChoiceFunction && !names[tc.Function] {
			return nil, invalid("tool_choice", "tool_choice names a function that is not in tools")
		}
	}
	if rf := req.ResponseFormat; rf != nil {
		switch rf.Type {
		case "", octomesh.FormatText, octomesh.FormatJSONObject:
		case octomesh.FormatJSONSchema:
			if !m.Caps.JSONSchema {
				return nil, invalid("response_format", "model %s does not support json_schema response formats", m.Name)
			}
			if rf.JSONSchema == nil || len(rf.JSONSchema.Schema) == 0 {
				return nil, invalid("response_format.json_schema.schema", "json_schema.schema is required")
			}
			s, err := parseSchema(rf.JSONSchema.Schema)
			if err != nil {
				return nil, octomesh.Errorf(octomesh.EINVALID, "the response format schema is not a usable JSON Schema").WithParam("response_format.json_schema.schema").WithCause(err)
			}
			c.format = s
		default:
			return nil, invalid("response_format.type", "response_format.type must be text, json_object or json_schema")
		}
	}
	c.prompt = EstimatePromptTokens(req)
	need := c.prompt + want
	if need > m.ContextWindow || c.prompt >= m.ContextWindow {
		return nil, octomesh.Errorf(octomesh.ECONTEXTLENGTH,
			"model %s's context window is %d tokens, but the request needs %d (%d prompt + %d output)",
			m.Name, m.ContextWindow, max(need, c.prompt), c.prompt, want).WithParam("messages")
	}
	c.limit = want
	if c.limit == 0 {
		c.limit = min(m.MaxOutputTokens, m.ContextWindow-c.prompt)
	}
	return c, nil
}
