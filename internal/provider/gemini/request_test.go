package gemini

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
)

// decodeReq parses a canonical request written as OpenAI JSON.
func decodeReq(t *testing.T, s string) *octomesh.ChatRequest {
	t.Helper()
	var req octomesh.ChatRequest
	if err := json.Unmarshal([]byte(s), &req); err != nil {
		t.Fatalf("decode request: %v", err)
	}
	return &req
}

func TestEncodeChatRejects(t *testing.T) {
	const user = `{"role":"user","content":"hi"}`
	tests := []struct {
		name      string
		req       string
		wantParam string
		wantMsg   string // a substring of the client-facing message
	}{
		{
			name:      "https image URL",
			req:       `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}`,
			wantParam: "messages[0].content[1].image_url.url",
			wantMsg:   "gemini accepts only inline (data:) images or uploaded files",
		},
		{
			name:      "files URI on another host",
			req:       `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://evil.example/v1beta/files/abc"}}]}]}`,
			wantParam: "messages[0].content[0].image_url.url",
			wantMsg:   "inline (data:) images",
		},
		{
			name:      "data URL without base64",
			req:       `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,abc"}}]}]}`,
			wantParam: "messages[0].content[0].image_url.url",
		},
		{
			name:      "conflicting image detail",
			req:       `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"high"}}]}]}`,
			wantParam: "messages",
			wantMsg:   "image detail",
		},
		{
			name:      "unknown image detail",
			req:       `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"ultra"}}]}]}`,
			wantParam: "messages[0].content[0].image_url.detail",
		},
		{
			name:      "unknown tool_call_id",
			req:       `{"model":"m","messages":[` + user + `,{"role":"assistant","tool_calls":[{"id":"call_a","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_b","content":"1"}]}`,
			wantParam: "messages[2].tool_call_id",
			wantMsg:   "matches no earlier assistant tool call",
		},
		{
			name:      "tool result before its call",
			req:       `{"model":"m","messages":[` + user + `,{"role":"tool","tool_call_id":"call_a","content":"1"},{"role":"assistant","tool_calls":[{"id":"call_a","type":"function","function":{"name":"f","arguments":"{}"}}]}]}`,
			wantParam: "messages[1].tool_call_id",
		},
		{
			name:      "tool call arguments not JSON",
			req:       `{"model":"m","messages":[` + user + `,{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{city: Paris"}}]}]}`,
			wantParam: "messages[1].tool_calls[0].function.arguments",
		},
		{
			name:      "tool call arguments an array",
			req:       `{"model":"m","messages":[` + user + `,{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`,
			wantParam: "messages[1].tool_calls[0].function.arguments",
		},
		{name: "logprobs", req: `{"model":"m","messages":[` + user + `],"logprobs":true}`, wantParam: "logprobs", wantMsg: "logprobs"},
		{name: "reasoning_effort", req: `{"model":"m","messages":[` + user + `],"reasoning_effort":"high"}`, wantParam: "reasoning_effort"},
		{name: "logit_bias", req: `{"model":"m","messages":[` + user + `],"logit_bias":{"1":2}}`, wantParam: "logit_bias"},
		{name: "service_tier", req: `{"model":"m","messages":[` + user + `],"service_tier":"flex"}`, wantParam: "service_tier"},
		{name: "parallel_tool_calls false", req: `{"model":"m","messages":[` + user + `],"parallel_tool_calls":false}`, wantParam: "parallel_tool_calls"},
		{name: "user message name", req: `{"model":"m","messages":[{"role":"user","name":"alice","content":"hi"}]}`, wantParam: "messages[0].name"},
		{name: "only system messages", req: `{"model":"m","messages":[{"role":"system","content":"be brief"}]}`, wantParam: "messages"},
		{name: "no messages", req: `{"model":"m","messages":[]}`, wantParam: "messages"},
		{name: "empty user message", req: `{"model":"m","messages":[{"role":"user","content":""}]}`, wantParam: "messages[0].content"},
		{name: "image in system message", req: `{"model":"m","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]},` + user + `]}`, wantParam: "messages[0].content[0]"},
		{name: "unknown part type", req: `{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio"}]}]}`, wantParam: "messages[0].content[0].type"},
		{
			name:      "tool_choice names unknown function",
			req:       `{"model":"m","messages":[` + user + `],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}`,
			wantParam: "tool_choice",
		},
		{name: "tool_choice without tools", req: `{"model":"m","messages":[` + user + `],"tool_choice":"required"}`, wantParam: "tool_choice"},
		{name: "non-function tool", req: `{"model":"m","messages":[` + user + `],"tools":[{"type":"custom","function":{"name":"f"}}]}`, wantParam: "tools[0].type"},
		{name: "parameters not an object", req: `{"model":"m","messages":[` + user + `],"tools":[{"type":"function","function":{"name":"f","parameters":"x"}}]}`, wantParam: "tools[0].function.parameters"},
		{name: "too many stop sequences", req: `{"model":"m","messages":[` + user + `],"stop":["a","b","c","d","e","f"]}`, wantParam: "stop"},
		{name: "seed beyond 32 bits", req: `{"model":"m","messages":[` + user + `],"seed":4294967296}`, wantParam: "seed"},
		{name: "n zero", req: `{"model":"m","messages":[` + user + `],"n":0}`, wantParam: "n"},
		{name: "max_tokens zero", req: `{"model":"m","messages":[` + user + `],"max_tokens":0}`, wantParam: "max_tokens"},
		{name: "json_schema without schema", req: `{"model":"m","messages":[` + user + `],"response_format":{"type":"json_schema","json_schema":{"name":"x"}}}`, wantParam: "response_format.json_schema.schema"},
		{name: "unknown response format", req: `{"model":"m","messages":[` + user + `],"response_format":{"type":"grammar"}}`, wantParam: "response_format.type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := encodeChat(decodeReq(t, tt.req))
			var oe *octomesh.Error
			if !errors.As(err, &oe) {
				t.Fatalf("got error %v, want *octomesh.Error", err)
			}
			if oe.Code != octomesh.EINVALID {
				t.Errorf("code = %q, want %q", oe.Code, octomesh.EINVALID)
			}
			if oe.Param != tt.wantParam {
				t.Errorf("param = %q, want %q", oe.Param, tt.wantParam)
			}
			if !strings.Contains(oe.Message, tt.wantMsg) {
				t.Errorf("message = %q, want it to contain %q", oe.Message, tt.wantMsg)
			}
		})
	}
}

func TestEncodeToolChoice(t *testing.T) {
	tools := `"tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"g"}}]`
	strictTools := `"tools":[{"type":"function","function":{"name":"f","strict":true}}]`
	tests := []struct {
		name string
		req  string
		want *toolConfig
	}{
		{"unset", `{` + tools + `}`, nil},
		{"auto", `{` + tools + `,"tool_choice":"auto"}`, &toolConfig{functionCallingConfig{Mode: "AUTO"}}},
		{"none", `{` + tools + `,"tool_choice":"none"}`, &toolConfig{functionCallingConfig{Mode: "NONE"}}},
		{"required", `{` + tools + `,"tool_choice":"required"}`, &toolConfig{functionCallingConfig{Mode: "ANY"}}},
		{"function", `{` + tools + `,"tool_choice":{"type":"function","function":{"name":"g"}}}`, &toolConfig{functionCallingConfig{Mode: "ANY", AllowedFunctionNames: []string{"g"}}}},
		{"strict unset", `{` + strictTools + `}`, &toolConfig{functionCallingConfig{Mode: "VALIDATED"}}},
		{"strict auto", `{` + strictTools + `,"tool_choice":"auto"}`, &toolConfig{functionCallingConfig{Mode: "VALIDATED"}}},
		{"strict required", `{` + strictTools + `,"tool_choice":"required"}`, &toolConfig{functionCallingConfig{Mode: "ANY"}}},
		{"none without tools", `{"tool_choice":"none"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encodeToolChoice(decodeReq(t, tt.req))
			if err != nil {
				t.Fatalf("encodeToolChoice: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(toolConfig{})); diff != "" {
				t.Errorf("tool config mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncodeGenerationConfig(t *testing.T) {
	tests := []struct {
		name string
		req  string
		want string // generationConfig as JSON; "null" when absent
	}{
		{"nothing set", `{}`, `null`},
		{"json_object", `{"response_format":{"type":"json_object"}}`, `{"responseMimeType":"application/json"}`},
		{"text format", `{"response_format":{"type":"text"}}`, `null`},
		{"n one is the default", `{"n":1}`, `null`},
		{"max_completion_tokens wins", `{"max_tokens":10,"max_completion_tokens":20}`, `{"maxOutputTokens":20}`},
		{"explicit zeros are kept", `{"temperature":0,"presence_penalty":0}`, `{"temperature":0,"presencePenalty":0}`},
		{"negative seed", `{"seed":-5}`, `{"seed":-5}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encodeGenerationConfig(decodeReq(t, tt.req), "")
			if err != nil {
				t.Fatalf("encodeGenerationConfig: %v", err)
			}
			b, _ := json.Marshal(got)
			if string(b) != tt.want {
				t.Errorf("generationConfig = %s, want %s", b, tt.want)
			}
		})
	}
}

func TestImageDetailSetsMediaResolution(t *testing.T) {
	req := decodeReq(t, `{"model":"m","messages":[{"role":"user","content":[
		{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,AAAA","detail":"low"}},
		{"type":"image_url","image_url":{"url":"data:image/png;base64,BBBB","detail":"auto"}},
		{"type":"image_url","image_url":{"url":"data:image/png;base64,CCCC","detail":"low"}}]}]}`)
	got, err := encodeChat(req)
	if err != nil {
		t.Fatalf("encodeChat: %v", err)
	}
	if got.GenerationConfig == nil || got.GenerationConfig.MediaResolution != "MEDIA_RESOLUTION_LOW" {
		t.Errorf("generationConfig = %+v, want mediaResolution MEDIA_RESOLUTION_LOW", got.GenerationConfig)
	}
}

func TestNeedsSignatureSentinel(t *testing.T) {
	tests := []struct {
		model string
		want  bool
	}{
		{"gemini-3-pro-preview", true},
		{"gemini-3.1-flash-lite-preview", true},
		{"models/gemini-3-flash", true},
		{"gemini-10-ultra", true},
		{"gemini-2.5-flash", false},
		{"gemini-1.5-pro", false},
		{"gemini-flash-latest", false},
		{"gemma-3-27b-it", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := needsSignatureSentinel(tt.model); got != tt.want {
			t.Errorf("needsSignatureSentinel(%q) = %v, want %v", tt.model, got, tt.want)
		}
	}
}

// TestSentinelOnFirstCallOfEachTurn checks that only the first function call
// of each replayed model turn carries the signature sentinel, as Gemini
// signs only the first call of a parallel batch.
func TestSentinelOnFirstCallOfEachTurn(t *testing.T) {
	req := decodeReq(t, `{"model":"gemini-3-pro-preview","messages":[
		{"role":"user","content":"go"},
		{"role":"assistant","content":"Let me check.","tool_calls":[
			{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}},
			{"id":"b","type":"function","function":{"name":"g","arguments":""}}]},
		{"role":"tool","tool_call_id":"a","content":"1"},
		{"role":"tool","tool_call_id":"b","content":"[1,2]"},
		{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]},
		{"role":"tool","tool_call_id":"c","content":"{\"ok\":true}"}]}`)
	got, err := encodeChat(req)
	if err != nil {
		t.Fatalf("encodeChat: %v", err)
	}
	b, _ := json.Marshal(got.Contents)
	want := `[{"role":"user","parts":[{"text":"go"}]},` +
		`{"role":"model","parts":[{"text":"Let me check."},{"functionCall":{"name":"f","args":{}},"thoughtSignature":"skip_thought_signature_validator"},{"functionCall":{"name":"g","args":{}}}]},` +
		`{"role":"user","parts":[{"functionResponse":{"name":"f","response":{"result":"1"}}},{"functionResponse":{"name":"g","response":{"result":"[1,2]"}}}]},` +
		`{"role":"model","parts":[{"functionCall":{"name":"f","args":{"x":1}},"thoughtSignature":"skip_thought_signature_validator"}]},` +
		`{"role":"user","parts":[{"functionResponse":{"name":"f","response":{"ok":true}}}]}]`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("contents mismatch (-want +got):\n%s", diff)
	}
}
