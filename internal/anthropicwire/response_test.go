package anthropicwire

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
)

func TestDecodeResponse(t *testing.T) {
	usage := `"usage":{"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":5}`
	tests := []struct {
		name     string
		body     string
		jsonTool string
		want     string // canonical response JSON
	}{
		{
			name: "thinking skipped, text joined",
			body: `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[
				{"type":"thinking","thinking":"hmm","signature":"sig"},{"type":"redacted_thinking","data":"xx"},
				{"type":"text","text":"Hello "},{"type":"text","text":"world"}],"stop_reason":"end_turn","stop_sequence":null,` + usage + `}`,
			want: `{"id":"msg_1","object":"chat.completion","created":0,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hello world"},"finish_reason":"stop"}],
				"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":0}}}`,
		},
		{
			name: "tool use only has null content",
			body: `{"id":"msg_2","type":"message","role":"assistant","model":"m","content":[
				{"type":"tool_use","id":"toolu_1","name":"f","input":{ "a" : [1, 2] }}],"stop_reason":"tool_use","stop_sequence":null,` + usage + `}`,
			want: `{"id":"msg_2","object":"chat.completion","created":0,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,
				"tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"f","arguments":"{\"a\":[1,2]}"}}]},"finish_reason":"tool_calls"}],
				"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":0}}}`,
		},
		{
			name:     "json tool becomes content",
			jsonTool: "report",
			body: `{"id":"msg_3","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"ignored"},
				{"type":"tool_use","id":"toolu_1","name":"report","input":{"x":1}}],"stop_reason":"tool_use","stop_sequence":null,` + usage + `}`,
			want: `{"id":"msg_3","object":"chat.completion","created":0,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"{\"x\":1}"},"finish_reason":"stop"}],
				"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":0}}}`,
		},
		{
			name:     "json tool cut by max_tokens keeps length",
			jsonTool: "report",
			body: `{"id":"msg_4","type":"message","role":"assistant","model":"m","content":[{"type":"tool_use","id":"toolu_1","name":"report","input":{}}],
				"stop_reason":"max_tokens","stop_sequence":null,` + usage + `}`,
			want: `{"id":"msg_4","object":"chat.completion","created":0,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"{}"},"finish_reason":"length"}],
				"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":0}}}`,
		},
		{
			name: "empty content, stop_sequence, minimal usage",
			body: `{"id":"msg_5","type":"message","role":"assistant","model":"m","content":[],"stop_reason":"stop_sequence","stop_sequence":"END","usage":{"input_tokens":3,"output_tokens":0}}`,
			want: `{"id":"msg_5","object":"chat.completion","created":0,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":""},"finish_reason":"stop"}],
				"usage":{"prompt_tokens":3,"completion_tokens":0,"total_tokens":3,"prompt_tokens_details":{"cached_tokens":0}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := DecodeResponse([]byte(tt.body), tt.jsonTool)
			if err != nil {
				t.Fatalf("DecodeResponse: %v", err)
			}
			b, _ := json.Marshal(resp)
			var got any
			json.Unmarshal(b, &got)
			if diff := cmp.Diff(mustJSON(t, tt.want), got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeResponseMalformed(t *testing.T) {
	for name, body := range map[string]string{
		"not json":          `{"id":`,
		"error body":        `{"type":"error","error":{"type":"api_error","message":"x"}}`,
		"no id":             `{"type":"message","content":[]}`,
		"tool input string": `{"id":"msg_1","type":"message","content":[{"type":"tool_use","id":"t","name":"f","input":"x"}]}`,
		"content not array": `{"id":"msg_1","type":"message","content":"hi"}`,
	} {
		t.Run(name, func(t *testing.T) {
			if got, err := DecodeResponse([]byte(body), ""); err == nil {
				t.Errorf("DecodeResponse = %+v, want an error", got)
			}
		})
	}
}

func TestFinishReasonMapping(t *testing.T) {
	tests := []struct{ stop, finish string }{
		{"end_turn", "stop"}, {"stop_sequence", "stop"}, {"pause_turn", "stop"}, {"max_tokens", "length"},
		{"model_context_window_exceeded", "length"}, {"tool_use", "tool_calls"}, {"refusal", "content_filter"}, {"something_new", "stop"},
	}
	for _, tt := range tests {
		if got := FinishReason(tt.stop); got != tt.finish {
			t.Errorf("FinishReason(%q) = %q, want %q", tt.stop, got, tt.finish)
		}
	}
	back := []struct{ finish, stop string }{
		{"stop", "end_turn"}, {"length", "max_tokens"}, {"tool_calls", "tool_use"}, {"content_filter", "refusal"}, {"", "end_turn"},
	}
	for _, tt := range back {
		if got := StopReason(tt.finish); got != tt.stop {
			t.Errorf("StopReason(%q) = %q, want %q", tt.finish, got, tt.stop)
		}
	}
}

func TestEncodeResponse(t *testing.T) {
	tests := []struct {
		name string
		resp *octomesh.ChatResponse
		want string // exact bytes
	}{
		{
			name: "text and tool call, id prefixed, cache usage",
			resp: &octomesh.ChatResponse{
				ID: "chatcmpl-42", Model: "smart",
				Choices: []octomesh.Choice{{Message: octomesh.Message{Role: "assistant", Content: octomesh.TextContent("On it."),
					ToolCalls: []octomesh.ToolCall{{ID: "call_1", Type: "function", Function: octomesh.FunctionCall{Name: "f", Arguments: `{ "a": 1 }`}}}},
					FinishReason: "tool_calls"}},
				Usage: &octomesh.Usage{PromptTokens: 100, CompletionTokens: 7, TotalTokens: 107, PromptTokensDetails: &octomesh.PromptTokensDetails{CachedTokens: 60}, CacheWriteTokens: 15},
			},
			want: `{"id":"msg_chatcmpl-42","type":"message","role":"assistant","model":"smart","content":[{"type":"text","text":"On it."},{"type":"tool_use","id":"call_1","name":"f","input":{"a":1}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":15,"cache_read_input_tokens":60,"output_tokens":7}}`,
		},
		{
			name: "msg_ id kept, refusal text, no usage",
			resp: &octomesh.ChatResponse{
				ID: "msg_01x", Model: "m",
				Choices: []octomesh.Choice{{Message: octomesh.Message{Role: "assistant", Refusal: "I can't."}, FinishReason: "content_filter"}},
			},
			want: `{"id":"msg_01x","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"I can't."}],"stop_reason":"refusal","stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}`,
		},
		{
			name: "length, empty arguments",
			resp: &octomesh.ChatResponse{
				ID: "x", Model: "m",
				Choices: []octomesh.Choice{{Message: octomesh.Message{Role: "assistant", ToolCalls: []octomesh.ToolCall{{ID: "c", Function: octomesh.FunctionCall{Name: "f"}}}}, FinishReason: "length"}},
			},
			want: `{"id":"msg_x","type":"message","role":"assistant","model":"m","content":[{"type":"tool_use","id":"c","name":"f","input":{}}],"stop_reason":"max_tokens","stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}`,
		},
		{
			name: "no choices",
			resp: &octomesh.ChatResponse{ID: "msg_e", Model: "m"},
			want: `{"id":"msg_e","type":"message","role":"assistant","model":"m","content":[],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EncodeResponse(tt.resp)
			if err != nil {
				t.Fatalf("EncodeResponse: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("EncodeResponse =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestEncodeResponseInvalidArguments(t *testing.T) {
	resp := &octomesh.ChatResponse{ID: "x", Choices: []octomesh.Choice{{Message: octomesh.Message{
		ToolCalls: []octomesh.ToolCall{{ID: "c", Function: octomesh.FunctionCall{Name: "f", Arguments: `{"a":`}}}}}}}
	_, err := EncodeResponse(resp)
	if got := octomesh.ErrorCodeOf(err); got != octomesh.EUPSTREAM {
		t.Errorf("code = %q, want %q (err %v)", got, octomesh.EUPSTREAM, err)
	}
}

func TestErrorBodyAndTypes(t *testing.T) {
	if got, want := string(ErrorBody("overloaded_error", "the provider is overloaded")),
		`{"type":"error","error":{"type":"overloaded_error","message":"the provider is overloaded"}}`; got != want {
		t.Errorf("ErrorBody = %s, want %s", got, want)
	}
	codes := map[octomesh.ErrorCode]string{
		octomesh.EINVALID: "invalid_request_error", octomesh.ECONTEXTLENGTH: "invalid_request_error", octomesh.ECONTENTFILTER: "invalid_request_error",
		octomesh.EUNAUTHORIZED: "authentication_error", octomesh.EFORBIDDEN: "permission_error", octomesh.ENOTFOUND: "not_found_error",
		octomesh.ETOOLARGE: "request_too_large", octomesh.ERATELIMITED: "rate_limit_error", octomesh.EBUDGET: "billing_error",
		octomesh.EUPSTREAMAUTH: "api_error", octomesh.EUPSTREAM: "api_error", octomesh.EINTERNAL: "api_error", octomesh.ETIMEOUT: "timeout_error",
		octomesh.EOVERLOADED: "overloaded_error", octomesh.EUNAVAILABLE: "overloaded_error", "": "api_error",
	}
	for code, want := range codes {
		if got := ErrorType(code); got != want {
			t.Errorf("ErrorType(%q) = %q, want %q", code, got, want)
		}
	}
	statuses := map[string]int{"invalid_request_error": 400, "authentication_error": 401, "billing_error": 402, "permission_error": 403,
		"not_found_error": 404, "request_too_large": 413, "rate_limit_error": 429, "api_error": 500, "timeout_error": 504, "overloaded_error": 529, "new_error": 500}
	for typ, want := range statuses {
		if got := ErrorTypeStatus(typ); got != want {
			t.Errorf("ErrorTypeStatus(%q) = %d, want %d", typ, got, want)
		}
	}
	if got := ParseError([]byte(`{"type":"error","error":{"type":"rate_limit_error","message":"slow down"},"request_id":"req_1"}`)); got != (ErrorDetail{"rate_limit_error", "slow down"}) {
		t.Errorf("ParseError = %+v", got)
	}
	if got := ParseError([]byte(`<html>`)); got != (ErrorDetail{}) {
		t.Errorf("ParseError(html) = %+v, want zero", got)
	}
}
