package fakeupstream

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"unicode"
)

// NewAnthropic starts a fake of Anthropic's Messages API, serving
// POST /v1/messages (plain and streamed). Clients use BaseURL (= URL) as
// their API root and send Key as x-api-key, with an anthropic-version header.
func NewAnthropic(t testing.TB) *Server {
	t.Helper()
	return newServer(t, spec{
		provider: Anthropic,
		auth:     func(r *http.Request, key string) bool { return r.Header.Get("X-Api-Key") == key },
		handle:   (*Server).serveAnthropic,
		errBody:  anthropicError,
	})
}

// anthropicError renders Anthropic's error body for status.
func anthropicError(status int, message string) []byte {
	typ := "api_error"
	switch status {
	case 400:
		typ = "invalid_request_error"
	case 401:
		typ = "authentication_error"
	case 402:
		typ = "billing_error"
	case 403:
		typ = "permission_error"
	case 404:
		typ = "not_found_error"
	case 413:
		typ = "request_too_large"
	case 429:
		typ = "rate_limit_error"
	case 504:
		typ = "timeout_error"
	case 529:
		typ = "overloaded_error"
	}
	b, _ := json.Marshal(map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": message}, "request_id": "req_fake"})
	return b
}

func (s *Server) serveAnthropic(w http.ResponseWriter, r *http.Request, req *Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/messages" {
		s.writeError(w, http.StatusNotFound, "Not found")
		return
	}
	if r.Header.Get("Anthropic-Version") == "" {
		s.writeError(w, http.StatusBadRequest, "anthropic-version: header is required")
		return
	}
	var mr antRequest
	if err := json.Unmarshal(req.RawBody, &mr); err != nil {
		s.writeError(w, http.StatusBadRequest, "There was an issue with the JSON body of your request.")
		return
	}
	switch {
	case mr.Model == "":
		s.writeError(w, http.StatusBadRequest, "model: Field required")
		return
	case mr.MaxTokens < 1:
		s.writeError(w, http.StatusBadRequest, "max_tokens: Field required")
		return
	case len(mr.Messages) == 0:
		s.writeError(w, http.StatusBadRequest, "messages: at least one message is required")
		return
	case s.strictPrefill() && mr.prefillEndsInSpace():
		s.writeError(w, http.StatusBadRequest, "messages: final assistant content cannot end with trailing whitespace")
		return
	}
	a := s.decide(mr.prompt())
	id := fmt.Sprintf("msg_fake%d", s.seq.Add(1))
	if mr.Stream {
		s.anthropicStream(w, &mr, a, id)
		return
	}
	var content []any
	stop := "end_turn"
	if len(a.calls) > 0 {
		stop = "tool_use"
		for i, c := range a.calls {
			content = append(content, map[string]any{"type": "tool_use", "id": toolUseID(i), "name": c.name, "input": json.RawMessage(c.args)})
		}
	} else {
		content = append(content, map[string]any{"type": "text", "text": a.text})
	}
	writeJSON(w, map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": mr.Model, "content": content,
		"stop_reason": stop, "stop_sequence": nil, "usage": anthropicUsage(CompletionTokens),
	})
}

func toolUseID(i int) string { return fmt.Sprintf("toolu_fake%d", i) }

func anthropicUsage(output int) map[string]any {
	return map[string]any{
		"input_tokens":                PromptTokens - CachedTokens - CacheWriteTokens,
		"cache_creation_input_tokens": CacheWriteTokens,
		"cache_read_input_tokens":     CachedTokens,
		"cache_creation":              map[string]any{"ephemeral_5m_input_tokens": CacheWriteTokens, "ephemeral_1h_input_tokens": 0},
		"output_tokens":               output,
		"service_tier":                "standard",
	}
}

// antRequest is the part of a Messages request the fake reads.
type antRequest struct {
	Model     string `json:"model"`
	MaxTokens int    `json:"max_tokens"`
	Messages  []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Tools []struct {
		Name        string          `json:"name"`
		InputSchema json.RawMessage `json:"input_schema"`
	} `json:"tools"`
	ToolChoice *struct {
		Type                   string `json:"type"`
		Name                   string `json:"name"`
		DisableParallelToolUse bool   `json:"disable_parallel_tool_use"`
	} `json:"tool_choice"`
	OutputFormat *struct {
		Type   string          `json:"type"`
		Schema json.RawMessage `json:"schema"`
	} `json:"output_format"`
	Stream bool `json:"stream"`
}

// antBlock is a content block of a request message.
type antBlock struct {
	Type    string          `json:"type"`
	Text    string          `json:"text"`
	Content json.RawMessage `json:"content"` // tool_result: a string or text blocks
}

// prefillEndsInSpace reports whether the request ends with an assistant
// message (a prefill) whose text ends in whitespace.
func (mr *antRequest) prefillEndsInSpace() bool {
	last := mr.Messages[len(mr.Messages)-1]
	if last.Role != "assistant" {
		return false
	}
	var text string
	if json.Unmarshal(last.Content, &text) != nil {
		var blocks []antBlock
		json.Unmarshal(last.Content, &blocks)
		if n := len(blocks); n > 0 && blocks[n-1].Type == "text" {
			text = blocks[n-1].Text
		}
	}
	return text != "" && strings.TrimRightFunc(text, unicode.IsSpace) != text
}

func (mr *antRequest) prompt() *prompt {
	p := &prompt{choice: "auto", parallel: true}
	for i := len(mr.Messages) - 1; i >= 0; i-- {
		m := mr.Messages[i]
		if m.Role != "user" {
			continue
		}
		var s string
		if json.Unmarshal(m.Content, &s) == nil {
			p.lastUser = s
			break
		}
		var blocks []antBlock
		json.Unmarshal(m.Content, &blocks)
		var texts []string
		results := false
		for _, b := range blocks {
			switch b.Type {
			case "text":
				texts = append(texts, b.Text)
			case "tool_result":
				results = true
				var rs string
				if json.Unmarshal(b.Content, &rs) == nil {
					texts = append(texts, rs)
					continue
				}
				var inner []antBlock
				json.Unmarshal(b.Content, &inner)
				for _, ib := range inner {
					if ib.Type == "text" {
						texts = append(texts, ib.Text)
					}
				}
			}
		}
		p.lastUser = joinText(texts)
		p.afterResult = results && i == len(mr.Messages)-1
		break
	}
	for _, t := range mr.Tools {
		p.tools = append(p.tools, toolDef{name: t.Name, schema: decodeSchema(t.InputSchema)})
	}
	if tc := mr.ToolChoice; tc != nil {
		p.parallel = !tc.DisableParallelToolUse
		switch tc.Type {
		case "any":
			p.choice = "required"
		case "tool":
			p.choice, p.forced = "function", tc.Name
		case "none":
			p.choice = "none"
		}
	}
	if of := mr.OutputFormat; of != nil && of.Type == "json_schema" {
		p.json, p.schema = true, decodeSchema(of.Schema)
	}
	return p
}

// anthropicStream writes the answer as Messages stream events: message_start,
// a ping, each content block's start, deltas and stop, message_delta with
// the stop reason and usage, then message_stop.
func (s *Server) anthropicStream(w http.ResponseWriter, mr *antRequest, a answer, id string) {
	start := map[string]any{"type": "message_start", "message": map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": mr.Model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": anthropicUsage(1),
	}}
	frames := [][]byte{sseFrame("message_start", start), sseFrame("ping", map[string]any{"type": "ping"})}
	block := func(i int, cb any, deltas []any) {
		frames = append(frames, sseFrame("content_block_start", map[string]any{"type": "content_block_start", "index": i, "content_block": cb}))
		for _, d := range deltas {
			frames = append(frames, sseFrame("content_block_delta", map[string]any{"type": "content_block_delta", "index": i, "delta": d}))
		}
		frames = append(frames, sseFrame("content_block_stop", map[string]any{"type": "content_block_stop", "index": i}))
	}
	stop := "end_turn"
	if len(a.calls) == 0 {
		var deltas []any
		for _, piece := range splitText(a.text) {
			deltas = append(deltas, map[string]any{"type": "text_delta", "text": piece})
		}
		block(0, map[string]any{"type": "text", "text": ""}, deltas)
	} else {
		stop = "tool_use"
		for i, c := range a.calls {
			deltas := []any{map[string]any{"type": "input_json_delta", "partial_json": ""}}
			for _, piece := range splitHalves(c.args) {
				deltas = append(deltas, map[string]any{"type": "input_json_delta", "partial_json": piece})
			}
			block(i, map[string]any{"type": "tool_use", "id": toolUseID(i), "name": c.name, "input": map[string]any{}}, deltas)
		}
	}
	frames = append(frames,
		sseFrame("message_delta", map[string]any{"type": "message_delta",
			"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
			"usage": map[string]any{"output_tokens": CompletionTokens}}),
		sseFrame("message_stop", map[string]any{"type": "message_stop"}))
	s.streamEvents(w, frames)
}
