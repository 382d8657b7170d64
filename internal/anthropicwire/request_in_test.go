package anthropicwire

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
)

func ptr[T any](v T) *T { return &v }

func userText(s string) octomesh.Message {
	return octomesh.Message{Role: octomesh.RoleUser, Content: octomesh.TextContent(s)}
}

func TestDecodeRequestValid(t *testing.T) {
	tests := []struct {
		name string
		body string
		want *octomesh.ChatRequest
	}{
		{
			name: "minimal",
			body: `{"model":"claude-sonnet-4-5","max_tokens":256,"messages":[{"role":"user","content":"Hello"}]}`,
			want: &octomesh.ChatRequest{Model: "claude-sonnet-4-5", MaxTokens: ptr(256), Messages: []octomesh.Message{userText("Hello")}},
		},
		{
			name: "system string and sampling",
			body: `{"model":"m","max_tokens":10,"system":"Be brief.","temperature":0.5,"top_p":0.9,"stop_sequences":["END","STOP"],
				"metadata":{"user_id":"u-1"},"stream":true,"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"},{"role":"user","content":"Bye"}]}`,
			want: &octomesh.ChatRequest{
				Model: "m", MaxTokens: ptr(10), Temperature: ptr(0.5), TopP: ptr(0.9), Stop: octomesh.Stop{"END", "STOP"},
				User: "u-1", Stream: true, StreamOptions: &octomesh.StreamOptions{IncludeUsage: true},
				Messages: []octomesh.Message{
					{Role: octomesh.RoleSystem, Content: octomesh.TextContent("Be brief.")},
					userText("Hi"),
					{Role: octomesh.RoleAssistant, Content: octomesh.TextContent("Hello")},
					userText("Bye"),
				},
			},
		},
		{
			name: "system blocks with cache_control, stream false, nulls as absent",
			body: `{"model":"m","max_tokens":10,"stream":false,"temperature":null,"system":[{"type":"text","text":"A"},{"type":"text","text":"B","cache_control":{"type":"ephemeral"}}],
				"messages":[{"role":"user","content":[{"type":"text","text":"Hi","cache_control":{"type":"ephemeral"}}]}]}`,
			want: &octomesh.ChatRequest{
				Model: "m", MaxTokens: ptr(10),
				Messages: []octomesh.Message{
					{Role: octomesh.RoleSystem, Content: octomesh.Content{Parts: []octomesh.Part{{Type: "text", Text: "A"}, {Type: "text", Text: "B"}}, Array: true}},
					{Role: octomesh.RoleUser, Content: octomesh.Content{Parts: []octomesh.Part{{Type: "text", Text: "Hi"}}, Array: true}},
				},
			},
		},
		{
			name: "images",
			body: `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[
				{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
				{"type":"image","source":{"type":"url","url":"https://example.com/a.jpg"}},
				{"type":"text","text":"What are these?"}]}]}`,
			want: &octomesh.ChatRequest{Model: "m", MaxTokens: ptr(10), Messages: []octomesh.Message{{
				Role: octomesh.RoleUser, Content: octomesh.Content{Array: true, Parts: []octomesh.Part{
					{Type: "image_url", ImageURL: &octomesh.ImageURL{URL: "data:image/png;base64,iVBORw0KGgo="}},
					{Type: "image_url", ImageURL: &octomesh.ImageURL{URL: "https://example.com/a.jpg"}},
					{Type: "text", Text: "What are these?"},
				}},
			}}},
		},
		{
			name: "tools, tool_use and tool_result split into tool messages",
			body: `{"model":"m","max_tokens":100,
				"tools":[{"name":"get_weather","description":"Weather.","input_schema":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true},
				         {"type":"custom","name":"noop","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}}],
				"tool_choice":{"type":"any","disable_parallel_tool_use":true},
				"messages":[
				{"role":"user","content":"Weather in Paris and Rome?"},
				{"role":"assistant","content":[{"type":"text","text":"Checking."},
					{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city": "Paris"}},
					{"type":"tool_use","id":"toolu_2","name":"get_weather","input":{"city":"Rome"}}]},
				{"role":"user","content":[
					{"type":"tool_result","tool_use_id":"toolu_1","content":"18C"},
					{"type":"tool_result","tool_use_id":"toolu_2","content":[{"type":"text","text":"21C"}],"is_error":false},
					{"type":"text","text":"Now compare."}]}]}`,
			want: &octomesh.ChatRequest{
				Model: "m", MaxTokens: ptr(100),
				Tools: []octomesh.Tool{
					{Type: "function", Function: octomesh.FunctionDef{Name: "get_weather", Description: "Weather.", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`), Strict: ptr(true)}},
					{Type: "function", Function: octomesh.FunctionDef{Name: "noop", Parameters: json.RawMessage(`{"type":"object"}`)}},
				},
				ToolChoice:        &octomesh.ToolChoice{Mode: octomesh.ToolChoiceRequired},
				ParallelToolCalls: ptr(false),
				Messages: []octomesh.Message{
					userText("Weather in Paris and Rome?"),
					{Role: octomesh.RoleAssistant, Content: octomesh.Content{Parts: []octomesh.Part{{Type: "text", Text: "Checking."}}, Array: true}, ToolCalls: []octomesh.ToolCall{
						{ID: "toolu_1", Type: "function", Function: octomesh.FunctionCall{Name: "get_weather", Arguments: `{"city":"Paris"}`}},
						{ID: "toolu_2", Type: "function", Function: octomesh.FunctionCall{Name: "get_weather", Arguments: `{"city":"Rome"}`}},
					}},
					{Role: octomesh.RoleTool, ToolCallID: "toolu_1", Content: octomesh.TextContent("18C")},
					{Role: octomesh.RoleTool, ToolCallID: "toolu_2", Content: octomesh.Content{Parts: []octomesh.Part{{Type: "text", Text: "21C"}}, Array: true}},
					{Role: octomesh.RoleUser, Content: octomesh.Content{Parts: []octomesh.Part{{Type: "text", Text: "Now compare."}}, Array: true}},
				},
			},
		},
		{
			name: "tool_use only, tool_result without content, tool_choice tool",
			body: `{"model":"m","max_tokens":5,"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"f"},
				"messages":[{"role":"user","content":"go"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},
				{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","is_error":true}]}]}`,
			want: &octomesh.ChatRequest{
				Model: "m", MaxTokens: ptr(5),
				Tools:      []octomesh.Tool{{Type: "function", Function: octomesh.FunctionDef{Name: "f", Parameters: json.RawMessage(`{"type":"object"}`)}}},
				ToolChoice: &octomesh.ToolChoice{Mode: octomesh.ToolChoiceFunction, Function: "f"},
				Messages: []octomesh.Message{
					userText("go"),
					{Role: octomesh.RoleAssistant, ToolCalls: []octomesh.ToolCall{{ID: "t1", Type: "function", Function: octomesh.FunctionCall{Name: "f", Arguments: "{}"}}}},
					{Role: octomesh.RoleTool, ToolCallID: "t1", Content: octomesh.TextContent("")},
				},
			},
		},
		{
			name: "tool_choice auto and none",
			body: `{"model":"m","max_tokens":5,"tool_choice":{"type":"none"},"messages":[{"role":"user","content":"x"}]}`,
			want: &octomesh.ChatRequest{Model: "m", MaxTokens: ptr(5), ToolChoice: &octomesh.ToolChoice{Mode: octomesh.ToolChoiceNone}, Messages: []octomesh.Message{userText("x")}},
		},
		{
			name: "empty system string is no system message",
			body: `{"model":"m","max_tokens":5,"system":"","tool_choice":{"type":"auto","disable_parallel_tool_use":false},"messages":[{"role":"user","content":"x"}]}`,
			want: &octomesh.ChatRequest{Model: "m", MaxTokens: ptr(5), ToolChoice: &octomesh.ToolChoice{Mode: octomesh.ToolChoiceAuto}, Messages: []octomesh.Message{userText("x")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeRequest([]byte(tt.body))
			if err != nil {
				t.Fatalf("DecodeRequest: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DecodeRequest mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeRequestInvalid(t *testing.T) {
	const msgs = `"messages":[{"role":"user","content":"hi"}]`
	tests := []struct {
		name      string
		body      string
		wantParam string
		wantMsg   string // substring of the message
	}{
		{"empty body", ``, "", "not valid JSON"},
		{"malformed", `{"model":`, "", "not valid JSON"},
		{"syntax error offset", `{"model" "m"}`, "", "syntax error at byte"},
		{"not an object", `["model"]`, "", "must be a JSON object"},
		{"null", `null`, "", "must be a JSON object"},
		{"trailing garbage", `{"model":"m"} x`, "", "not valid JSON"},
		{"missing model", `{"max_tokens":5,` + msgs + `}`, "model", "model is required"},
		{"empty model", `{"model":"","max_tokens":5,` + msgs + `}`, "model", "must not be empty"},
		{"model not string", `{"model":5,"max_tokens":5,` + msgs + `}`, "model", "model must be a string"},
		{"missing max_tokens", `{"model":"m",` + msgs + `}`, "max_tokens", "max_tokens is required"},
		{"null max_tokens", `{"model":"m","max_tokens":null,` + msgs + `}`, "max_tokens", "max_tokens is required"},
		{"max_tokens zero", `{"model":"m","max_tokens":0,` + msgs + `}`, "max_tokens", "at least 1"},
		{"max_tokens fraction", `{"model":"m","max_tokens":1.5,` + msgs + `}`, "max_tokens", "must be an integer"},
		{"max_tokens string", `{"model":"m","max_tokens":"5",` + msgs + `}`, "max_tokens", "must be an integer"},
		{"missing messages", `{"model":"m","max_tokens":5}`, "messages", "messages is required"},
		{"empty messages", `{"model":"m","max_tokens":5,"messages":[]}`, "messages", "must not be empty"},
		{"messages not array", `{"model":"m","max_tokens":5,"messages":{}}`, "messages", "must be an array"},
		{"unknown top-level", `{"model":"m","max_tokens":5,"frobnicate":1,` + msgs + `}`, "frobnicate", `unknown field "frobnicate"`},
		{"unknown field not echoed", `{"model":"m","max_tokens":5,"<script>":1,` + msgs + `}`, "<script>", `unknown field "(invalid)"`},
		{"top_k unsupported", `{"model":"m","max_tokens":5,"top_k":5,` + msgs + `}`, "top_k", "parameter top_k is not supported"},
		{"thinking unsupported", `{"model":"m","max_tokens":5,"thinking":{"type":"enabled","budget_tokens":1024},` + msgs + `}`, "thinking", "parameter thinking is not supported"},
		{"temperature range", `{"model":"m","max_tokens":5,"temperature":1.5,` + msgs + `}`, "temperature", "between 0 and 1"},
		{"temperature type", `{"model":"m","max_tokens":5,"temperature":"hot",` + msgs + `}`, "temperature", "must be a number"},
		{"top_p range", `{"model":"m","max_tokens":5,"top_p":-0.1,` + msgs + `}`, "top_p", "between 0 and 1"},
		{"stop_sequences type", `{"model":"m","max_tokens":5,"stop_sequences":"END",` + msgs + `}`, "stop_sequences", "array of strings"},
		{"stream type", `{"model":"m","max_tokens":5,"stream":"yes",` + msgs + `}`, "stream", "must be a boolean"},
		{"metadata unknown", `{"model":"m","max_tokens":5,"metadata":{"user_id":"u","tier":"gold"},` + msgs + `}`, "metadata.tier", "unknown field"},
		{"metadata type", `{"model":"m","max_tokens":5,"metadata":"u",` + msgs + `}`, "metadata", "must be a JSON object"},
		{"system type", `{"model":"m","max_tokens":5,"system":5,` + msgs + `}`, "system", "string or an array of text blocks"},
		{"system image block", `{"model":"m","max_tokens":5,"system":[{"type":"image"}],` + msgs + `}`, "system[0].type", "text blocks"},
		{"message not object", `{"model":"m","max_tokens":5,"messages":["hi"]}`, "messages[0]", "must be a JSON object"},
		{"bad role", `{"model":"m","max_tokens":5,"messages":[{"role":"system","content":"x"}]}`, "messages[0].role", `"user" or "assistant"`},
		{"missing content", `{"model":"m","max_tokens":5,"messages":[{"role":"user"}]}`, "messages[0].content", "is required"},
		{"content type", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":5}]}`, "messages[0].content", "string or an array"},
		{"empty content array", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[]}]}`, "messages[0].content", "must not be empty"},
		{"message unknown field", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x","name":"bob"}]}`, "messages[0].name", "unknown field"},
		{"block without type", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"text":"x"}]}]}`, "messages[0].content[0].type", "is required"},
		{"text block missing text", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text"}]}]}`, "messages[0].content[0].text", "is required"},
		{"text block unknown field", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"x","colour":"red"}]}]}`, "messages[0].content[0].colour", "unknown field"},
		{"document block", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"document","source":{}}]}]}`, "messages[0].content[0].type", `"document" is not supported`},
		{"thinking block in assistant", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"},{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"}]}]}`, "messages[1].content[0].type", `"thinking" is not supported`},
		{"tool_use in user", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_use","id":"a","name":"f","input":{}}]}]}`, "messages[0].content[0].type", "not supported in user messages"},
		{"tool_result in assistant", `{"model":"m","max_tokens":5,"messages":[{"role":"assistant","content":[{"type":"tool_result","tool_use_id":"a"}]}]}`, "messages[0].content[0].type", "not supported in assistant messages"},
		{"image media type", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/bmp","data":"x"}}]}]}`, "messages[0].content[0].source.media_type", "must be one of"},
		{"image no data", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png"}}]}]}`, "messages[0].content[0].source.data", "is required"},
		{"image file source", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"f"}}]}]}`, "messages[0].content[0].source.type", "not supported"},
		{"image url scheme", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"file:///etc/passwd"}}]}]}`, "messages[0].content[0].source.url", "http or https"},
		{"image url data", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"data:image/png;base64,AA"}}]}]}`, "messages[0].content[0].source.url", "http or https"},
		{"image missing source", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image"}]}]}`, "messages[0].content[0].source", "is required"},
		{"tool_use input not object", `{"model":"m","max_tokens":5,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"f","input":"{}"}]}]}`, "messages[0].content[0].input", "JSON object"},
		{"tool_use missing input", `{"model":"m","max_tokens":5,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"f"}]}]}`, "messages[0].content[0].input", "is required"},
		{"tool_use missing id", `{"model":"m","max_tokens":5,"messages":[{"role":"assistant","content":[{"type":"tool_use","name":"f","input":{}}]}]}`, "messages[0].content[0].id", "is required"},
		{"tool_result missing id", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]}`, "messages[0].content[0].tool_use_id", "is required"},
		{"tool_result is_error type", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"a","is_error":"no"}]}]}`, "messages[0].content[0].is_error", "boolean"},
		{"tool_result content type", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":5}]}]}`, "messages[0].content[0].content", "string or an array"},
		{"tool_result nested tool_result", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":[{"type":"tool_result","tool_use_id":"b"}]}]}]}`, "messages[0].content[0].content[0].type", "not supported in tool results"},
		{"tools not array", `{"model":"m","max_tokens":5,"tools":{},` + msgs + `}`, "tools", "must be an array"},
		{"tool missing schema", `{"model":"m","max_tokens":5,"tools":[{"name":"f"}],` + msgs + `}`, "tools[0].input_schema", "is required"},
		{"tool schema not object", `{"model":"m","max_tokens":5,"tools":[{"name":"f","input_schema":"x"}],` + msgs + `}`, "tools[0].input_schema", "JSON object"},
		{"tool missing name", `{"model":"m","max_tokens":5,"tools":[{"input_schema":{}}],` + msgs + `}`, "tools[0].name", "is required"},
		{"server tool", `{"model":"m","max_tokens":5,"tools":[{"type":"web_search_20250305","name":"web_search"}],` + msgs + `}`, "tools[0].type", "not supported"},
		{"tool unknown field", `{"model":"m","max_tokens":5,"tools":[{"name":"f","input_schema":{},"parameters":{}}],` + msgs + `}`, "tools[0].parameters", "unknown field"},
		{"tool_choice type", `{"model":"m","max_tokens":5,"tool_choice":{"type":"required"},` + msgs + `}`, "tool_choice.type", "one of auto, any, tool, none"},
		{"tool_choice string", `{"model":"m","max_tokens":5,"tool_choice":"auto",` + msgs + `}`, "tool_choice", "JSON object"},
		{"tool_choice tool without name", `{"model":"m","max_tokens":5,"tool_choice":{"type":"tool"},` + msgs + `}`, "tool_choice.name", "required"},
		{"tool_choice name with auto", `{"model":"m","max_tokens":5,"tool_choice":{"type":"auto","name":"f"},` + msgs + `}`, "tool_choice.name", "only with type"},
		{"tool_choice none parallel", `{"model":"m","max_tokens":5,"tool_choice":{"type":"none","disable_parallel_tool_use":true},` + msgs + `}`, "tool_choice.disable_parallel_tool_use", "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeRequest([]byte(tt.body))
			if err == nil {
				t.Fatalf("DecodeRequest = %+v, want an error", got)
			}
			var oe *octomesh.Error
			if !errors.As(err, &oe) {
				t.Fatalf("error %v (%T) is not an *octomesh.Error", err, err)
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

// TestDecodeRequestDoesNotEchoContent checks that error messages never carry
// free-text values of the request (only field names and short identifiers).
func TestDecodeRequestDoesNotEchoContent(t *testing.T) {
	bodies := []string{
		`{"model":"m","max_tokens":5,"messages":[{"role":"SECRET CANARY text","content":"x"}]}`,
		`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"SECRET CANARY text"}]}]}`,
		`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"ftp://SECRET CANARY text"}}]}]}`,
		`{"model":"SECRET CANARY text","max_tokens":"SECRET CANARY text","messages":[]}`,
		`{"model":"m","max_tokens":5,"tools":[{"type":"SECRET CANARY text","name":"f"}],"messages":[{"role":"user","content":"x"}]}`,
	}
	for _, b := range bodies {
		_, err := DecodeRequest([]byte(b))
		if err == nil {
			t.Fatalf("DecodeRequest(%s) succeeded, want an error", b)
		}
		if msg := octomesh.ErrorMessage(err); strings.Contains(msg, "CANARY") {
			t.Errorf("message %q echoes request content", msg)
		}
	}
}
