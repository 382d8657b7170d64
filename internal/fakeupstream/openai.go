package fakeupstream

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"
)

// NewOpenAI starts a fake of OpenAI's API, serving POST /v1/chat/completions
// (plain and streamed) and POST /v1/embeddings. Clients use BaseURL
// (URL + "/v1") as their API root and Key as a bearer token.
func NewOpenAI(t testing.TB) *Server {
	t.Helper()
	return newServer(t, spec{
		provider: OpenAI,
		basePath: "/v1",
		auth:     func(r *http.Request, key string) bool { return r.Header.Get("Authorization") == "Bearer "+key },
		handle:   (*Server).serveOpenAI,
		errBody:  openAIError,
	})
}

// openAIError renders OpenAI's error body for status.
func openAIError(status int, message string) []byte {
	typ, code := "invalid_request_error", any(nil)
	switch {
	case status == http.StatusUnauthorized:
		code = "invalid_api_key"
	case status == http.StatusTooManyRequests:
		typ, code = "requests", "rate_limit_exceeded"
	case status >= 500:
		typ = "server_error"
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": message, "type": typ, "param": nil, "code": code}})
	return b
}

func (s *Server) serveOpenAI(w http.ResponseWriter, r *http.Request, req *Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/chat/completions":
		s.openAIChat(w, req)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/embeddings":
		s.openAIEmbeddings(w, req)
	default:
		s.writeError(w, http.StatusNotFound, fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path))
	}
}

// oaiChatRequest is the part of a chat completion request the fake reads.
type oaiChatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Tools []struct {
		Type     string `json:"type"`
		Function struct {
			Name       string          `json:"name"`
			Parameters json.RawMessage `json:"parameters"`
		} `json:"function"`
	} `json:"tools"`
	ToolChoice        json.RawMessage `json:"tool_choice"`
	ParallelToolCalls *bool           `json:"parallel_tool_calls"`
	ResponseFormat    *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
	Stream        bool `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

// openAIText returns the text of an OpenAI message content: a string, or
// the text parts of an array.
func openAIText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	json.Unmarshal(raw, &parts)
	var texts []string
	for _, p := range parts {
		if p.Type == "text" {
			texts = append(texts, p.Text)
		}
	}
	return joinText(texts)
}

func (cr *oaiChatRequest) prompt() *prompt {
	p := &prompt{choice: "auto", parallel: cr.ParallelToolCalls == nil || *cr.ParallelToolCalls}
	for i := len(cr.Messages) - 1; i >= 0; i-- {
		m := cr.Messages[i]
		if m.Role == "user" || m.Role == "tool" {
			p.lastUser = openAIText(m.Content)
			p.afterResult = m.Role == "tool" && i == len(cr.Messages)-1
			break
		}
	}
	for _, t := range cr.Tools {
		p.tools = append(p.tools, toolDef{name: t.Function.Name, schema: decodeSchema(t.Function.Parameters)})
	}
	var mode string
	var named struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	switch {
	case json.Unmarshal(cr.ToolChoice, &mode) == nil:
		p.choice = mode
	case json.Unmarshal(cr.ToolChoice, &named) == nil && named.Function.Name != "":
		p.choice, p.forced = "function", named.Function.Name
	}
	if rf := cr.ResponseFormat; rf != nil && (rf.Type == "json_object" || rf.Type == "json_schema") {
		p.json = true
		if rf.JSONSchema != nil {
			p.schema = decodeSchema(rf.JSONSchema.Schema)
		}
	}
	return p
}

func (s *Server) openAIChat(w http.ResponseWriter, req *Request) {
	var cr oaiChatRequest
	if err := json.Unmarshal(req.RawBody, &cr); err != nil {
		s.writeError(w, http.StatusBadRequest, "We could not parse the JSON body of your request.")
		return
	}
	switch {
	case cr.Model == "":
		s.writeError(w, http.StatusBadRequest, "you must provide a model parameter")
		return
	case len(cr.Messages) == 0:
		s.writeError(w, http.StatusBadRequest, "'messages' must contain at least one message")
		return
	case cr.StreamOptions != nil && !cr.Stream:
		s.writeError(w, http.StatusBadRequest, "The 'stream_options' parameter is only allowed when 'stream' is enabled.")
		return
	}
	a := s.decide(cr.prompt())
	id := fmt.Sprintf("chatcmpl-fake%d", s.seq.Add(1))
	created := time.Now().Unix()
	if cr.Stream {
		s.openAIStream(w, &cr, a, id, created)
		return
	}
	msg := map[string]any{"role": "assistant", "content": nil, "refusal": nil, "annotations": []any{}}
	finish := "stop"
	if len(a.calls) > 0 {
		finish = "tool_calls"
		calls := make([]any, len(a.calls))
		for i, c := range a.calls {
			calls[i] = map[string]any{"id": callID(i), "type": "function", "function": map[string]any{"name": c.name, "arguments": c.args}}
		}
		msg["tool_calls"] = calls
	} else {
		msg["content"] = a.text
	}
	writeJSON(w, map[string]any{
		"id": id, "object": "chat.completion", "created": created, "model": cr.Model,
		"choices":      []any{map[string]any{"index": 0, "message": msg, "logprobs": nil, "finish_reason": finish}},
		"usage":        openAIUsage(),
		"service_tier": "default", "system_fingerprint": "fp_fake",
	})
}

func callID(i int) string { return fmt.Sprintf("call_fake%d", i) }

func openAIUsage() map[string]any {
	return map[string]any{
		"prompt_tokens": PromptTokens, "completion_tokens": CompletionTokens, "total_tokens": PromptTokens + CompletionTokens,
		"prompt_tokens_details":     map[string]any{"cached_tokens": CachedTokens, "audio_tokens": 0},
		"completion_tokens_details": map[string]any{"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
	}
}

// openAIStream writes the answer as chat.completion.chunk events: a role
// chunk, content (or tool-call) deltas, a finish chunk, the usage chunk when
// include_usage was asked for, then [DONE].
func (s *Server) openAIStream(w http.ResponseWriter, cr *oaiChatRequest, a answer, id string, created int64) {
	includeUsage := cr.StreamOptions != nil && cr.StreamOptions.IncludeUsage
	chunk := func(delta map[string]any, finish any) []byte {
		c := map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": created, "model": cr.Model,
			"service_tier": "default", "system_fingerprint": "fp_fake",
			"choices": []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}},
		}
		if includeUsage {
			c["usage"] = nil
		}
		return sseFrame("", c)
	}
	var frames [][]byte
	finish := "stop"
	if len(a.calls) == 0 {
		frames = append(frames, chunk(map[string]any{"role": "assistant", "content": "", "refusal": nil}, nil))
		for _, piece := range splitText(a.text) {
			frames = append(frames, chunk(map[string]any{"content": piece}, nil))
		}
	} else {
		finish = "tool_calls"
		for i, c := range a.calls {
			head := map[string]any{"tool_calls": []any{map[string]any{
				"index": i, "id": callID(i), "type": "function", "function": map[string]any{"name": c.name, "arguments": ""}}}}
			if i == 0 {
				head["role"], head["content"], head["refusal"] = "assistant", nil, nil
			}
			frames = append(frames, chunk(head, nil))
			for _, piece := range splitHalves(c.args) {
				frames = append(frames, chunk(map[string]any{"tool_calls": []any{map[string]any{
					"index": i, "function": map[string]any{"arguments": piece}}}}, nil))
			}
		}
	}
	frames = append(frames, chunk(map[string]any{}, finish))
	if includeUsage {
		frames = append(frames, sseFrame("", map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": created, "model": cr.Model,
			"service_tier": "default", "system_fingerprint": "fp_fake",
			"choices": []any{}, "usage": openAIUsage(),
		}))
	}
	frames = append(frames, []byte("data: [DONE]\n\n"))
	s.streamEvents(w, frames)
}

// openAIEmbeddings answers POST /v1/embeddings with Vector of each input.
func (s *Server) openAIEmbeddings(w http.ResponseWriter, req *Request) {
	var er struct {
		Model          string          `json:"model"`
		Input          json.RawMessage `json:"input"`
		EncodingFormat string          `json:"encoding_format"`
		Dimensions     *int            `json:"dimensions"`
	}
	if err := json.Unmarshal(req.RawBody, &er); err != nil {
		s.writeError(w, http.StatusBadRequest, "We could not parse the JSON body of your request.")
		return
	}
	var inputs []string
	var one string
	if json.Unmarshal(er.Input, &one) == nil {
		inputs = []string{one}
	} else if json.Unmarshal(er.Input, &inputs) != nil || len(inputs) == 0 {
		s.writeError(w, http.StatusBadRequest, "'input' must be a non-empty string or array of strings")
		return
	}
	if er.Model == "" {
		s.writeError(w, http.StatusBadRequest, "you must provide a model parameter")
		return
	}
	dims := EmbeddingDims
	if er.Dimensions != nil {
		dims = *er.Dimensions
	}
	data := make([]any, len(inputs))
	for i, in := range inputs {
		v := Vector(in, dims)
		var emb any = v
		if er.EncodingFormat == "base64" {
			b := make([]byte, 4*len(v))
			for j, f := range v {
				binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(f))
			}
			emb = base64.StdEncoding.EncodeToString(b)
		}
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": emb}
	}
	n := embedTokens(inputs)
	writeJSON(w, map[string]any{"object": "list", "data": data, "model": er.Model,
		"usage": map[string]any{"prompt_tokens": n, "total_tokens": n}})
}
