package octomesh_test

import (
	"encoding/json"
	"testing"

	"github.com/octomesh/octomesh"
)

func TestChatRequestValidate(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantParam string // "" = valid
	}{
		{"minimal", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, ""},
		{"tools", `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],"tool_choice":{"type":"function","function":{"name":"get_weather"}}}`, ""},
		{"tool round trip", `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"42"}]}`, ""},
		{"no model", `{"messages":[{"role":"user","content":"hi"}]}`, "model"},
		{"no messages", `{"model":"m","messages":[]}`, "messages"},
		{"bad role", `{"model":"m","messages":[{"role":"robot","content":"hi"}]}`, "messages[0].role"},
		{"null user content", `{"model":"m","messages":[{"role":"user","content":null}]}`, "messages[0].content"},
		{"tool without id", `{"model":"m","messages":[{"role":"tool","content":"x"}]}`, "messages[0].tool_call_id"},
		{"image in system", `{"model":"m","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x"}}]}]}`, "messages[0].content[0]"},
		{"image bad scheme", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"file:///etc/passwd"}}]}]}`, "messages[0].content[0].image_url"},
		{"unknown part", `{"model":"m","messages":[{"role":"user","content":[{"type":"video"}]}]}`, "messages[0].content[0].type"},
		{"temperature", `{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":3}`, "temperature"},
		{"top_p", `{"model":"m","messages":[{"role":"user","content":"hi"}],"top_p":-0.1}`, "top_p"},
		{"max_tokens zero", `{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":0}`, "max_tokens"},
		{"n too big", `{"model":"m","messages":[{"role":"user","content":"hi"}],"n":1000}`, "n"},
		{"too many stops", `{"model":"m","messages":[{"role":"user","content":"hi"}],"stop":["a","b","c","d","e"]}`, "stop"},
		{"tool bad name", `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"has space"}}]}`, "tools[0].function.name"},
		{"tool dup", `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":"a"}}]}`, "tools[1].function.name"},
		{"tool_choice without tools", `{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":"required"}`, "tool_choice"},
		{"tool_choice unknown fn", `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"a"}}],"tool_choice":{"type":"function","function":{"name":"b"}}}`, "tool_choice"},
		{"json_schema without name", `{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"schema":{}}}}`, "response_format.json_schema"},
		{"bad format", `{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"xml"}}`, "response_format.type"},
		{"stream_options without stream", `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}`, "stream_options"},
		{"assistant empty", `{"model":"m","messages":[{"role":"assistant","content":null}]}`, "messages[0].content"},
		{"user with tool_calls", `{"model":"m","messages":[{"role":"user","content":"x","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}]}]}`, "messages[0].tool_calls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r octomesh.ChatRequest
			if err := json.Unmarshal([]byte(tt.body), &r); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			err := r.Validate()
			if tt.wantParam == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			e := octomesh.AsError(err)
			if err == nil || e.Code != octomesh.EINVALID {
				t.Fatalf("Validate() = %v, want EINVALID", err)
			}
			if e.Param != tt.wantParam {
				t.Errorf("param = %q, want %q (message %q)", e.Param, tt.wantParam, e.Message)
			}
		})
	}
}

func TestEmbeddingRequestValidate(t *testing.T) {
	ok := octomesh.EmbeddingRequest{Model: "e", Input: octomesh.EmbeddingInput{"x"}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []octomesh.EmbeddingRequest{
		{Input: octomesh.EmbeddingInput{"x"}},
		{Model: "e"},
		{Model: "e", Input: octomesh.EmbeddingInput{""}},
		{Model: "e", Input: octomesh.EmbeddingInput{"x"}, EncodingFormat: "hex"},
	}
	for i, r := range bad {
		if octomesh.ErrorCodeOf(r.Validate()) != octomesh.EINVALID {
			t.Errorf("case %d: want EINVALID", i)
		}
	}
}

func TestErrorCodeOf(t *testing.T) {
	if got := octomesh.ErrorCodeOf(nil); got != "" {
		t.Errorf("nil: %q", got)
	}
	e := octomesh.Errorf(octomesh.ENOTFOUND, "x")
	if got := octomesh.ErrorCodeOf(e); got != octomesh.ENOTFOUND {
		t.Errorf("got %q", got)
	}
	internal := octomesh.AsError(json.Unmarshal([]byte("{"), new(any)))
	if internal.Code != octomesh.EINTERNAL || internal.Message != "internal error" {
		t.Errorf("foreign error = %+v, want generic internal error", internal)
	}
}

func TestSecretRedacts(t *testing.T) {
	s := octomesh.Secret("sk-live-123")
	for _, got := range []string{s.String(), s.GoString(), s.LogValue().String()} {
		if got != "[REDACTED]" {
			t.Errorf("got %q", got)
		}
	}
	if s.Reveal() != "sk-live-123" {
		t.Error("Reveal")
	}
}
