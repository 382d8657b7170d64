package httpapi

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/octomesh/octomesh"
)

const okChat = `{"model":"fake/m","messages":[{"role":"user","content":"hi"}]}`

func decodeOpenAIError(t *testing.T, body string) openAIErrorBody {
	t.Helper()
	var e openAIError
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body is not OpenAI-shaped JSON: %v\n%s", err, body)
	}
	if e.Error.Message == "" || e.Error.Type == "" {
		t.Fatalf("error body missing message/type: %s", body)
	}
	return e.Error
}

func TestAuthHeaders(t *testing.T) {
	s := newTestServer(t, &fakeService{})
	tests := []struct {
		name string
		hdr  []string
		want int
	}{
		{"bearer", nil, 200},
		{"bearer lower-case scheme", []string{"Authorization", "bearer " + testKey}, 200},
		{"x-api-key", []string{"Authorization", "", "X-Api-Key", testKey}, 200},
		{"x-goog-api-key", []string{"Authorization", "", "X-Goog-Api-Key", testKey}, 200},
		{"missing", []string{"Authorization", ""}, 401},
		{"wrong", []string{"Authorization", "Bearer om_wrong"}, 401},
		{"basic scheme", []string{"Authorization", "Basic " + testKey}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(t, s, "POST", "/v1/chat/completions", okChat, tt.hdr...)
			if w.Code != tt.want {
				t.Fatalf("status = %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if tt.want == 401 {
				e := decodeOpenAIError(t, w.Body.String())
				if e.Type != "authentication_error" || e.Code != "invalid_api_key" {
					t.Errorf("error = %+v", e)
				}
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	s := newTestServer(t, &fakeService{})
	w := do(t, s, "POST", "/v1/chat/completions", okChat, "X-Request-Id", "my-id.1")
	if got := w.Header().Get("X-Request-Id"); got != "my-id.1" {
		t.Errorf("x-request-id = %q, want caller's", got)
	}
	w = do(t, s, "POST", "/v1/chat/completions", okChat, "X-Request-Id", "bad id\twith\ncontrol")
	if got := w.Header().Get("X-Request-Id"); !strings.HasPrefix(got, "req_") {
		t.Errorf("x-request-id = %q, want a generated one", got)
	}
	a := do(t, s, "GET", "/v1/models", "").Header().Get("X-Request-Id")
	b := do(t, s, "GET", "/v1/models", "").Header().Get("X-Request-Id")
	if a == b || a == "" {
		t.Errorf("generated ids %q and %q should differ", a, b)
	}
	if got := w.Header().Get("X-Octomesh-Model"); got != "fake/m" {
		t.Errorf("x-octomesh-model = %q", got)
	}
	if got := w.Header().Get("X-Octomesh-Provider"); got != "fake" {
		t.Errorf("x-octomesh-provider = %q", got)
	}
}

func TestBadInput(t *testing.T) {
	s := newTestServer(t, &fakeService{})
	tests := []struct {
		name       string
		body       string
		hdr        []string
		wantStatus int
		wantParam  string
		wantInMsg  string
	}{
		{"malformed", `{"model":`, nil, 400, "", "not valid JSON"},
		{"not json", `hello`, nil, 400, "", "not valid JSON"},
		{"empty", ``, nil, 400, "", "empty"},
		{"array body", `[1,2]`, nil, 400, "", "JSON object"},
		{"wrong type", `{"model":5,"messages":[]}`, nil, 400, "model", "expected a string"},
		{"wrong nested type", `{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot"}`, nil, 400, "temperature", "expected a number"},
		{"unknown field", `{"model":"m","messages":[{"role":"user","content":"x"}],"temprature":1}`, nil, 400, "temprature", "Unrecognized request argument"},
		{"trailing data", okChat + `{}`, nil, 400, "", "after the JSON object"},
		{"too large", `{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("x", 5000) + `"}]}`, nil, 413, "", "exceeds the limit"},
		{"bad content", `{"model":"m","messages":[{"role":"user","content":42}]}`, nil, 400, "content", "content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(t, s, "POST", "/v1/chat/completions", tt.body, tt.hdr...)
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", w.Code, tt.wantStatus, w.Body)
			}
			e := decodeOpenAIError(t, w.Body.String())
			if tt.wantParam != "" && (e.Param == nil || *e.Param != tt.wantParam) {
				t.Errorf("param = %v, want %q", e.Param, tt.wantParam)
			}
			if !strings.Contains(e.Message, tt.wantInMsg) {
				t.Errorf("message %q does not mention %q", e.Message, tt.wantInMsg)
			}
		})
	}
}

func TestErrorStatusTable(t *testing.T) {
	for code, want := range octomesh.HTTPStatuses() {
		svc := &fakeService{chat: func(*octomesh.ChatRequest) (*octomesh.ChatResponse, error) {
			return nil, &octomesh.Error{Code: code, Message: "m", Err: errSecret}
		}}
		s := newTestServer(t, svc)
		w := do(t, s, "POST", "/v1/chat/completions", okChat)
		if w.Code != want {
			t.Errorf("%s: status %d, want %d", code, w.Code, want)
		}
		if strings.Contains(w.Body.String(), "SECRET-CAUSE") {
			t.Errorf("%s: internal cause leaked to the client: %s", code, w.Body)
		}
		w = do(t, s, "POST", "/v1/messages", `{}`)
		var ae anthropicError
		if err := json.Unmarshal(w.Body.Bytes(), &ae); err != nil || ae.Type != "error" || ae.Error.Type == "" {
			t.Errorf("/v1/messages error body not Anthropic-shaped: %s", w.Body)
		}
	}
}

type secretErr struct{}

func (secretErr) Error() string { return "SECRET-CAUSE sk-live-key" }

var errSecret = secretErr{}

func TestRetryAfterHeader(t *testing.T) {
	svc := &fakeService{chat: func(*octomesh.ChatRequest) (*octomesh.ChatResponse, error) {
		return nil, &octomesh.Error{Code: octomesh.ERATELIMITED, Message: "slow down", RetryAfter: 1500_000_000}
	}}
	w := do(t, newTestServer(t, svc), "POST", "/v1/chat/completions", okChat)
	if w.Code != 429 || w.Header().Get("Retry-After") != "2" {
		t.Errorf("status %d Retry-After %q, want 429 and 2", w.Code, w.Header().Get("Retry-After"))
	}
}

func TestUnknownRoute(t *testing.T) {
	s := newTestServer(t, &fakeService{})
	w := do(t, s, "GET", "/v1/nope", "")
	if w.Code != 404 {
		t.Fatalf("status %d", w.Code)
	}
	decodeOpenAIError(t, w.Body.String())
	if w := do(t, s, "GET", "/healthz", "", "Authorization", ""); w.Code != 200 {
		t.Errorf("healthz without key = %d", w.Code)
	}
}

func TestModels(t *testing.T) {
	s := newTestServer(t, &fakeService{})
	w := do(t, s, "GET", "/v1/models", "")
	var list struct {
		Object string `json:"object"`
		Data   []struct {
			ID, Object string
		} `json:"data"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || list.Object != "list" || len(list.Data) != 1 || list.Data[0].ID != "fake/m" || list.Data[0].Object != "model" {
		t.Fatalf("models = %s (%v)", w.Body, err)
	}
	if w := do(t, s, "GET", "/v1/models/fake/m", ""); w.Code != 200 {
		t.Errorf("model with slash: %d %s", w.Code, w.Body)
	}
	w = do(t, s, "GET", "/v1/models/nope", "")
	if e := decodeOpenAIError(t, w.Body.String()); w.Code != 404 || e.Code != "model_not_found" {
		t.Errorf("unknown model: %d %+v", w.Code, e)
	}
}

func TestStreamRelay(t *testing.T) {
	chunks := []octomesh.Chunk{
		{ID: "c", Model: "fake/m", Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Role: "assistant"}}}},
		{ID: "c", Model: "fake/m", Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Content: "Hel"}}}},
		{ID: "c", Model: "fake/m", Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Content: "lo"}}}},
		{ID: "c", Model: "fake/m", Choices: []octomesh.ChunkChoice{{FinishReason: "stop"}}},
		{ID: "c", Model: "fake/m", Choices: []octomesh.ChunkChoice{}, Usage: &octomesh.Usage{PromptTokens: 1, CompletionTokens: 2, TotalTokens: 3}},
	}
	stream := `{"model":"fake/m","messages":[{"role":"user","content":"hi"}],"stream":true`
	t.Run("without usage", func(t *testing.T) {
		w := do(t, newTestServer(t, &fakeService{chunks: chunks}), "POST", "/v1/chat/completions", stream+`}`)
		events := strings.Split(strings.TrimSuffix(w.Body.String(), "\n\n"), "\n\n")
		if len(events) != 5 || events[4] != "data: [DONE]" {
			t.Fatalf("events = %q", events)
		}
		if strings.Contains(w.Body.String(), `"usage"`) {
			t.Errorf("usage sent to a caller that did not ask: %s", w.Body)
		}
		if ct := w.Header().Get("Content-Type"); ct != "text/event-stream" {
			t.Errorf("content-type %q", ct)
		}
	})
	t.Run("with usage", func(t *testing.T) {
		w := do(t, newTestServer(t, &fakeService{chunks: chunks}), "POST", "/v1/chat/completions", stream+`,"stream_options":{"include_usage":true}}`)
		events := strings.Split(strings.TrimSuffix(w.Body.String(), "\n\n"), "\n\n")
		if len(events) != 6 || !strings.Contains(events[4], `"choices":[],"usage":{"prompt_tokens":1`) || !strings.Contains(events[1], `"usage":null`) {
			t.Fatalf("events = %q", events)
		}
	})
	t.Run("error mid-stream", func(t *testing.T) {
		svc := &fakeService{chunks: chunks[:2], endErr: octomesh.Errorf(octomesh.EUPSTREAM, "the provider failed")}
		w := do(t, newTestServer(t, svc), "POST", "/v1/chat/completions", stream+`}`)
		body := w.Body.String()
		if strings.Contains(body, "[DONE]") {
			t.Fatalf("a failed stream ended with [DONE]: %s", body)
		}
		if !strings.HasSuffix(body, `data: {"error":{"message":"the provider failed","type":"upstream_error","param":null,"code":"upstream_error"}}`+"\n\n") {
			t.Errorf("no error event at the end: %s", body)
		}
	})
	t.Run("error before first byte", func(t *testing.T) {
		svc := &fakeService{openErr: octomesh.Errorf(octomesh.EOVERLOADED, "busy")}
		w := do(t, newTestServer(t, svc), "POST", "/v1/chat/completions", stream+`}`)
		if w.Code != 503 {
			t.Errorf("status %d, want 503", w.Code)
		}
		decodeOpenAIError(t, w.Body.String())
	})
}

func TestEmbeddingsBase64(t *testing.T) {
	s := newTestServer(t, &fakeService{})
	w := do(t, s, "POST", "/v1/embeddings", `{"model":"fake/e","input":"x","encoding_format":"base64"}`)
	var resp struct {
		Data []struct {
			Embedding string `json:"embedding"`
		} `json:"data"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || len(resp.Data) != 1 {
		t.Fatalf("%s (%v)", w.Body, err)
	}
	// 1.0f = 00 00 80 3f, 0.5f = 00 00 00 3f, little-endian.
	if got, want := resp.Data[0].Embedding, "AACAPwAAAD8="; got != want {
		t.Errorf("base64 = %q, want %q", got, want)
	}
	w = do(t, s, "POST", "/v1/embeddings", `{"model":"fake/e","input":"x"}`)
	if !strings.Contains(w.Body.String(), `"embedding":[1,0.5]`) {
		t.Errorf("float embedding: %s", w.Body)
	}
}

func TestForwardHeaders(t *testing.T) {
	svc := &fakeService{}
	s := New(Options{Service: svc, Auth: fakeAuth{}, ForwardHeaders: []string{"x-trace-id"}})
	do(t, s, "POST", "/v1/chat/completions", okChat, "X-Trace-Id", "abc", "X-Other", "nope")
	if len(svc.fwd) != 1 || svc.fwd[0] != [2]string{"X-Trace-Id", "abc"} {
		t.Errorf("forwarded = %v, want only X-Trace-Id", svc.fwd)
	}
	svc2 := &fakeService{}
	do(t, newTestServer(t, svc2), "POST", "/v1/chat/completions", okChat, "X-Trace-Id", "abc")
	if svc2.fwd != nil {
		t.Errorf("forwarded %v with no allowlist", svc2.fwd)
	}
}

func TestAnyContentTypeWithJSONBody(t *testing.T) {
	// curl -d sends application/x-www-form-urlencoded unless told otherwise.
	w := do(t, newTestServer(t, &fakeService{}), "POST", "/v1/chat/completions", okChat, "Content-Type", "application/x-www-form-urlencoded")
	if w.Code != 200 {
		t.Errorf("status %d: %s", w.Code, w.Body)
	}
}
