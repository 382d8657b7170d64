package fakeupstream

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// NewGemini starts a fake of the Gemini API (v1beta), serving
// POST /v1beta/models/{model}:generateContent, :streamGenerateContent?alt=sse,
// :batchEmbedContents and :embedContent. Clients use BaseURL (= URL) as
// their API root and send Key as x-goog-api-key (or the key query
// parameter). A wrong key gets Gemini's 400 API_KEY_INVALID, as the real
// API answers.
func NewGemini(t testing.TB) *Server {
	t.Helper()
	return newServer(t, spec{
		provider: Gemini,
		auth: func(r *http.Request, key string) bool {
			return r.Header.Get("X-Goog-Api-Key") == key || r.URL.Query().Get("key") == key
		},
		handle:        (*Server).serveGemini,
		errBody:       geminiError,
		badKeyStatus:  http.StatusBadRequest,
		badKeyMessage: geminiBadKey,
	})
}

const geminiBadKey = "API key not valid. Please pass a valid API key."

// geminiError renders Gemini's error body (google.rpc.Status) for status.
func geminiError(status int, message string) []byte {
	st := map[int]string{
		400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
		429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
	}[status]
	if st == "" {
		st = "UNKNOWN"
	}
	e := map[string]any{"code": status, "message": message, "status": st}
	if message == geminiBadKey {
		e["details"] = []any{map[string]any{
			"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
			"domain": "googleapis.com", "metadata": map[string]any{"service": "generativelanguage.googleapis.com"},
		}}
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	return b
}

func (s *Server) serveGemini(w http.ResponseWriter, r *http.Request, req *Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1beta/models/")
	model, method, ok2 := strings.Cut(rest, ":")
	if r.Method != http.MethodPost || !ok || !ok2 || model == "" {
		s.writeError(w, http.StatusNotFound, fmt.Sprintf("The requested URL %s was not found on this server.", r.URL.Path))
		return
	}
	switch method {
	case "generateContent":
		s.geminiGenerate(w, req, model, false)
	case "streamGenerateContent":
		if r.URL.Query().Get("alt") != "sse" {
			s.writeError(w, http.StatusBadRequest, "this fake streams only server-sent events (alt=sse)")
			return
		}
		s.geminiGenerate(w, req, model, true)
	case "batchEmbedContents":
		s.geminiBatchEmbed(w, req, model)
	case "embedContent":
		s.geminiEmbed(w, req)
	default:
		s.writeError(w, http.StatusNotFound, fmt.Sprintf("Method %q is not supported by this fake.", method))
	}
}

// gemPart is a part of a request turn.
type gemPart struct {
	Text             string `json:"text"`
	FunctionResponse *struct {
		Name     string          `json:"name"`
		Response json.RawMessage `json:"response"`
	} `json:"functionResponse"`
}

// gemRequest is the part of a generateContent request the fake reads.
type gemRequest struct {
	Contents []struct {
		Role  string    `json:"role"`
		Parts []gemPart `json:"parts"`
	} `json:"contents"`
	Tools []struct {
		FunctionDeclarations []struct {
			Name                 string          `json:"name"`
			Parameters           json.RawMessage `json:"parameters"`
			ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema"`
		} `json:"functionDeclarations"`
	} `json:"tools"`
	ToolConfig *struct {
		FunctionCallingConfig struct {
			Mode                 string   `json:"mode"`
			AllowedFunctionNames []string `json:"allowedFunctionNames"`
		} `json:"functionCallingConfig"`
	} `json:"toolConfig"`
	GenerationConfig *struct {
		ResponseMimeType   string          `json:"responseMimeType"`
		ResponseSchema     json.RawMessage `json:"responseSchema"`
		ResponseJSONSchema json.RawMessage `json:"responseJsonSchema"`
	} `json:"generationConfig"`
}

func (gr *gemRequest) prompt() *prompt {
	p := &prompt{choice: "auto", parallel: true}
	for i := len(gr.Contents) - 1; i >= 0; i-- {
		c := gr.Contents[i]
		if c.Role != "user" && c.Role != "" {
			continue
		}
		var texts []string
		results := false
		for _, part := range c.Parts {
			if part.FunctionResponse != nil {
				results = true
				texts = append(texts, string(part.FunctionResponse.Response))
				continue
			}
			texts = append(texts, part.Text)
		}
		p.lastUser = joinText(texts)
		p.afterResult = results && i == len(gr.Contents)-1
		break
	}
	for _, t := range gr.Tools {
		for _, d := range t.FunctionDeclarations {
			schema := d.ParametersJSONSchema
			if len(schema) == 0 {
				schema = d.Parameters
			}
			p.tools = append(p.tools, toolDef{name: d.Name, schema: decodeSchema(schema)})
		}
	}
	if tc := gr.ToolConfig; tc != nil {
		switch fc := tc.FunctionCallingConfig; fc.Mode {
		case "NONE":
			p.choice = "none"
		case "ANY":
			p.choice = "required"
			if len(fc.AllowedFunctionNames) == 1 {
				p.choice, p.forced = "function", fc.AllowedFunctionNames[0]
			}
		}
	}
	if gc := gr.GenerationConfig; gc != nil && gc.ResponseMimeType == "application/json" {
		p.json = true
		schema := gc.ResponseJSONSchema
		if len(schema) == 0 {
			schema = gc.ResponseSchema
		}
		p.schema = decodeSchema(schema)
	}
	return p
}

func geminiUsage(final bool) map[string]any {
	if !final {
		return map[string]any{"promptTokenCount": PromptTokens, "totalTokenCount": PromptTokens}
	}
	return map[string]any{
		"promptTokenCount": PromptTokens, "candidatesTokenCount": CompletionTokens,
		"totalTokenCount": PromptTokens + CompletionTokens, "cachedContentTokenCount": CachedTokens,
		"promptTokensDetails": []any{map[string]any{"modality": "TEXT", "tokenCount": PromptTokens}},
	}
}

func (s *Server) geminiGenerate(w http.ResponseWriter, req *Request, model string, stream bool) {
	var gr gemRequest
	if err := json.Unmarshal(req.RawBody, &gr); err != nil {
		s.writeError(w, http.StatusBadRequest, "Invalid JSON payload received.")
		return
	}
	if len(gr.Contents) == 0 {
		s.writeError(w, http.StatusBadRequest, "* GenerateContentRequest.contents: contents is not specified")
		return
	}
	a := s.decide(gr.prompt())
	respID := fmt.Sprintf("fakeresp%d", s.seq.Add(1))
	event := func(parts []any, finish string, usage map[string]any) map[string]any {
		cand := map[string]any{"content": map[string]any{"parts": parts, "role": "model"}, "index": 0}
		if finish != "" {
			cand["finishReason"] = finish
		}
		return map[string]any{"candidates": []any{cand}, "usageMetadata": usage, "modelVersion": model, "responseId": respID}
	}
	var callParts []any
	for _, c := range a.calls {
		callParts = append(callParts, map[string]any{"functionCall": map[string]any{"name": c.name, "args": json.RawMessage(c.args)}})
	}
	if !stream {
		parts := callParts
		if len(a.calls) == 0 {
			parts = []any{map[string]any{"text": a.text}}
		}
		writeJSON(w, event(parts, "STOP", geminiUsage(true)))
		return
	}
	// Each event is a whole GenerateContentResponse; the last carries
	// finishReason and the final usage. Gemini has no other terminator.
	var frames [][]byte
	if len(a.calls) > 0 {
		frames = append(frames,
			sseFrame("", event(callParts, "", geminiUsage(false))),
			sseFrame("", event([]any{map[string]any{"text": ""}}, "STOP", geminiUsage(true))))
	} else {
		pieces := splitText(a.text)
		for i, piece := range pieces {
			ev := event([]any{map[string]any{"text": piece}}, "", geminiUsage(false))
			if i == len(pieces)-1 {
				ev = event([]any{map[string]any{"text": piece}}, "STOP", geminiUsage(true))
			}
			frames = append(frames, sseFrame("", ev))
		}
	}
	s.streamEvents(w, frames)
}

// gemEmbedRequest is one EmbedContentRequest.
type gemEmbedRequest struct {
	Model   string `json:"model"`
	Content struct {
		Parts []gemPart `json:"parts"`
	} `json:"content"`
	OutputDimensionality *int `json:"outputDimensionality"`
}

func (er *gemEmbedRequest) vector() []float32 {
	var texts []string
	for _, p := range er.Content.Parts {
		texts = append(texts, p.Text)
	}
	dims := EmbeddingDims
	if er.OutputDimensionality != nil {
		dims = *er.OutputDimensionality
	}
	return Vector(joinText(texts), dims)
}

// geminiBatchEmbed answers batchEmbedContents with Vector of each request's text.
func (s *Server) geminiBatchEmbed(w http.ResponseWriter, req *Request, model string) {
	var br struct {
		Requests []gemEmbedRequest `json:"requests"`
	}
	if err := json.Unmarshal(req.RawBody, &br); err != nil || len(br.Requests) == 0 {
		s.writeError(w, http.StatusBadRequest, "* BatchEmbedContentsRequest.requests: requests is not specified")
		return
	}
	out := make([]any, len(br.Requests))
	for i, er := range br.Requests {
		if er.Model != "models/"+model {
			s.writeError(w, http.StatusBadRequest, fmt.Sprintf("* BatchEmbedContentsRequest.requests[%d].model: model must match the parent model", i))
			return
		}
		out[i] = map[string]any{"values": er.vector()}
	}
	writeJSON(w, map[string]any{"embeddings": out})
}

// geminiEmbed answers embedContent.
func (s *Server) geminiEmbed(w http.ResponseWriter, req *Request) {
	var er gemEmbedRequest
	if err := json.Unmarshal(req.RawBody, &er); err != nil || len(er.Content.Parts) == 0 {
		s.writeError(w, http.StatusBadRequest, "* EmbedContentRequest.content: content is not specified")
		return
	}
	writeJSON(w, map[string]any{"embedding": map[string]any{"values": er.vector()}})
}
