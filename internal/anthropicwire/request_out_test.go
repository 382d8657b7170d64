package anthropicwire

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
)

// encodeJSON runs EncodeRequest on a canonical request given as OpenAI JSON
// and returns the Anthropic body as generic JSON.
func encodeJSON(t *testing.T, canonical string, opt EncodeOptions) (any, *Request) {
	t.Helper()
	var req octomesh.ChatRequest
	if err := json.Unmarshal([]byte(canonical), &req); err != nil {
		t.Fatalf("decode canonical: %v", err)
	}
	out, err := EncodeRequest(&req, opt)
	if err != nil {
		t.Fatalf("EncodeRequest: %v", err)
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v, out
}

func mustJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}

func TestEncodeRequest(t *testing.T) {
	tests := []struct {
		name      string
		canonical string
		opt       EncodeOptions
		want      string
		jsonTool  string
	}{
		{
			name:      "default max tokens from options",
			canonical: `{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
			opt:       EncodeOptions{DefaultMaxTokens: 1234},
			want:      `{"model":"m","max_tokens":1234,"messages":[{"role":"user","content":"hi"}]}`,
		},
		{
			name:      "max_completion_tokens wins over max_tokens",
			canonical: `{"model":"m","max_tokens":10,"max_completion_tokens":20,"messages":[{"role":"user","content":"hi"}]}`,
			want:      `{"model":"m","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}`,
		},
		{
			name: "system in the middle is hoisted, single plain system is a string",
			canonical: `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"},{"role":"system","content":"Be nice."},
				{"role":"assistant","content":"b"},{"role":"user","content":"c"}]}`,
			want: `{"model":"m","max_tokens":5,"system":"Be nice.","messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"user","content":"c"}]}`,
		},
		{
			name: "system and developer joined in order as blocks",
			canonical: `{"model":"m","max_tokens":5,"messages":[{"role":"developer","content":"One."},{"role":"system","content":"Two."},
				{"role":"user","content":"hi"}]}`,
			want: `{"model":"m","max_tokens":5,"system":[{"type":"text","text":"One."},{"type":"text","text":"Two."}],"messages":[{"role":"user","content":"hi"}]}`,
		},
		{
			name: "tool ids sanitised identically in tool_use and tool_result; tool result images",
			canonical: `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"},
				{"role":"assistant","content":"","tool_calls":[{"id":"call.1/x","type":"function","function":{"name":"f","arguments":""}}]},
				{"role":"tool","tool_call_id":"call.1/x","content":[{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/"}}]}]}`,
			want: `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"},
				{"role":"assistant","content":[{"type":"tool_use","id":"call_1_x","name":"f","input":{}}]},
				{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1_x","content":[{"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/"}}]}]}]}`,
		},
		{
			name: "consecutive tool results and the user turn after them share one turn; the turns after keep theirs",
			canonical: `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"},
				{"role":"assistant","content":"","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}},{"id":"b","type":"function","function":{"name":"g","arguments":"{}"}}]},
				{"role":"tool","tool_call_id":"a","content":"ra"},{"role":"tool","tool_call_id":"b","content":[{"type":"text","text":"rb"}]},
				{"role":"user","content":[{"type":"text","text":"u1"},{"type":"text","text":"u2"}]},{"role":"assistant","content":"end"},{"role":"user","content":"more"}]}`,
			want: `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"},
				{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"f","input":{}},{"type":"tool_use","id":"b","name":"g","input":{}}]},
				{"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":"ra"},{"type":"tool_result","tool_use_id":"b","content":[{"type":"text","text":"rb"}]},
					{"type":"text","text":"u1"},{"type":"text","text":"u2"}]},
				{"role":"assistant","content":"end"},{"role":"user","content":"more"}]}`,
		},
		{
			name:      "assistant text parts stay blocks; tool_choice required becomes any; parallel off without tool_choice",
			canonical: `{"model":"m","max_tokens":5,"tools":[{"type":"function","function":{"name":"f"}}],"parallel_tool_calls":false,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"text","text":"ok"}]}]}`,
			want: `{"model":"m","max_tokens":5,"tools":[{"name":"f","input_schema":{"type":"object","properties":{}}}],"tool_choice":{"type":"auto","disable_parallel_tool_use":true},
				"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"text","text":"ok"}]}]}`,
		},
		{
			name:      "tool_choice required and none",
			canonical: `{"model":"m","max_tokens":5,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"required","messages":[{"role":"user","content":"hi"}]}`,
			want:      `{"model":"m","max_tokens":5,"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"any"},"messages":[{"role":"user","content":"hi"}]}`,
		},
		{
			name:      "tool_choice none",
			canonical: `{"model":"m","max_tokens":5,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"none","parallel_tool_calls":false,"messages":[{"role":"user","content":"hi"}]}`,
			want:      `{"model":"m","max_tokens":5,"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"none"},"messages":[{"role":"user","content":"hi"}]}`,
		},
		{
			name:      "tool_choice auto without tools is dropped as meaningless",
			canonical: `{"model":"m","max_tokens":5,"tool_choice":"auto","messages":[{"role":"user","content":"hi"}]}`,
			want:      `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`,
		},
		{
			name:      "json_object becomes a forced json_response tool",
			canonical: `{"model":"m","max_tokens":5,"response_format":{"type":"json_object"},"messages":[{"role":"user","content":"hi"}]}`,
			want: `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}],
				"tools":[{"name":"json_response","description":"Respond with a JSON object.","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"json_response"}}`,
			jsonTool: "json_response",
		},
		{
			name:      "response_format text is the default",
			canonical: `{"model":"m","max_tokens":5,"response_format":{"type":"text"},"presence_penalty":0,"n":1,"messages":[{"role":"user","content":"hi"}]}`,
			want:      `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, out := encodeJSON(t, tt.canonical, tt.opt)
			if diff := cmp.Diff(mustJSON(t, tt.want), got); diff != "" {
				t.Errorf("body mismatch (-want +got):\n%s", diff)
			}
			if out.JSONTool != tt.jsonTool {
				t.Errorf("JSONTool = %q, want %q", out.JSONTool, tt.jsonTool)
			}
		})
	}
}

func TestEncodeRequestInvalid(t *testing.T) {
	tests := []struct {
		name      string
		canonical string
		wantParam string
		wantMsg   string
	}{
		{"n", `{"model":"m","n":2,"messages":[{"role":"user","content":"hi"}]}`, "n", "parameter n is not supported by provider claude"},
		{"n zero", `{"model":"m","n":0,"messages":[{"role":"user","content":"hi"}]}`, "n", "n must be at least 1"},
		{"logprobs", `{"model":"m","logprobs":true,"messages":[{"role":"user","content":"hi"}]}`, "logprobs", "parameter logprobs is not supported by provider claude"},
		{"logprobs false is still set", `{"model":"m","logprobs":false,"messages":[{"role":"user","content":"hi"}]}`, "logprobs", "parameter logprobs is not supported"},
		{"several passthrough", `{"model":"m","logit_bias":{"1":2},"service_tier":"flex","messages":[{"role":"user","content":"hi"}]}`, "logit_bias", "parameters logit_bias, service_tier are not supported by provider claude"},
		{"seed", `{"model":"m","seed":1,"messages":[{"role":"user","content":"hi"}]}`, "seed", "parameter seed is not supported"},
		{"presence penalty", `{"model":"m","presence_penalty":0.5,"messages":[{"role":"user","content":"hi"}]}`, "presence_penalty", "not supported"},
		{"frequency penalty", `{"model":"m","frequency_penalty":-1,"messages":[{"role":"user","content":"hi"}]}`, "frequency_penalty", "not supported"},
		{"temperature above 1", `{"model":"m","temperature":1.3,"messages":[{"role":"user","content":"hi"}]}`, "temperature", "between 0 and 1 for provider claude"},
		{"max tokens zero", `{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}`, "max_tokens", "at least 1"},
		{"max completion tokens negative", `{"model":"m","max_completion_tokens":-5,"messages":[{"role":"user","content":"hi"}]}`, "max_completion_tokens", "at least 1"},
		{"only system", `{"model":"m","messages":[{"role":"system","content":"hi"}]}`, "messages", "at least one user or assistant message"},
		{"system image", `{"model":"m","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]},{"role":"user","content":"hi"}]}`, "messages[0].content[0]", "only text"},
		{"unknown role", `{"model":"m","messages":[{"role":"function","content":"hi"}]}`, "messages[0].role", "not supported"},
		{"null user content", `{"model":"m","messages":[{"role":"user","content":null}]}`, "messages[0].content", "must not be null"},
		{"audio part", `{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio"}]}]}`, "messages[0].content[0].type", `"input_audio" is not supported`},
		{"image ftp", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]}`, "messages[0].content[0].image_url.url", "https URLs or base64 data URLs"},
		{"image data not base64", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,xyz"}}]}]}`, "messages[0].content[0].image_url.url", "data:image/<type>;base64"},
		{"invalid arguments", `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":"}}]}]}`, "messages[1].tool_calls[0].function.arguments", "must be a JSON object"},
		{"array arguments", `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`, "messages[1].tool_calls[0].function.arguments", "must be a JSON object"},
		{"tool call without id", `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}]}`, "messages[1].tool_calls[0].id", "must not be empty"},
		{"tool message without id", `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"tool","content":"x"}]}`, "messages[1].tool_call_id", "tool_call_id"},
		{"response_format with tools", `{"model":"m","tools":[{"type":"function","function":{"name":"f"}}],"response_format":{"type":"json_object"},"messages":[{"role":"user","content":"hi"}]}`, "response_format", "cannot be combined with tools"},
		{"json_schema without name", `{"model":"m","response_format":{"type":"json_schema","json_schema":{"name":"","schema":{}}},"messages":[{"role":"user","content":"hi"}]}`, "response_format.json_schema.name", "needs a name"},
		{"unknown response_format", `{"model":"m","response_format":{"type":"grammar"},"messages":[{"role":"user","content":"hi"}]}`, "response_format.type", "not supported"},
		{"tool_choice required without tools", `{"model":"m","tool_choice":"required","messages":[{"role":"user","content":"hi"}]}`, "tool_choice", "needs tools"},
		{"non-function tool", `{"model":"m","tools":[{"type":"custom","function":{"name":"f"}}],"messages":[{"role":"user","content":"hi"}]}`, "tools[0].type", "not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req octomesh.ChatRequest
			if err := json.Unmarshal([]byte(tt.canonical), &req); err != nil {
				t.Fatalf("decode canonical: %v", err)
			}
			got, err := EncodeRequest(&req, EncodeOptions{Provider: "claude"})
			var oe *octomesh.Error
			if !errors.As(err, &oe) {
				t.Fatalf("EncodeRequest = %+v, %v; want an *octomesh.Error", got, err)
			}
			if oe.Code != octomesh.EINVALID || oe.Param != tt.wantParam || !strings.Contains(oe.Message, tt.wantMsg) {
				t.Errorf("error = {%s %q param %q}, want {%s containing %q param %q}", oe.Code, oe.Message, oe.Param, octomesh.EINVALID, tt.wantMsg, tt.wantParam)
			}
		})
	}
}

func TestEncodeRequestDoesNotModifyRequest(t *testing.T) {
	canonical := `{"model":"m","max_tokens":5,"response_format":{"type":"json_schema","json_schema":{"name":"r","schema":{"type":"object"}}},
		"messages":[{"role":"system","content":"s"},{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"a.b","type":"function","function":{"name":"f","arguments":"{ \"x\" : 1 }"}}]},{"role":"tool","tool_call_id":"a.b","content":"r"}]}`
	var req octomesh.ChatRequest
	if err := json.Unmarshal([]byte(canonical), &req); err != nil {
		t.Fatal(err)
	}
	before, _ := json.Marshal(&req)
	if _, err := EncodeRequest(&req, EncodeOptions{}); err != nil {
		t.Fatal(err)
	}
	after, _ := json.Marshal(&req)
	if diff := cmp.Diff(string(before), string(after)); diff != "" {
		t.Errorf("EncodeRequest modified its input (-before +after):\n%s", diff)
	}
}
