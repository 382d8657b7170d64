package anthropicwire

import (
	"bytes"
	"testing"

	"github.com/octomesh/octomesh"
)

// checkAppendResponse checks AppendResponse against encoding/json's
// encoding (encodeResponseJSON), byte for byte, errors included.
func checkAppendResponse(t *testing.T, resp *octomesh.ChatResponse) {
	t.Helper()
	want, werr := encodeResponseJSON(resp)
	got, gerr := AppendResponse([]byte("prefix"), resp)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("%+v: error %v, want %v", resp, gerr, werr)
	}
	if werr != nil {
		return
	}
	if !bytes.Equal(got, append([]byte("prefix"), want...)) {
		t.Fatalf("AppendResponse:\n got %s\nwant prefix%s", got, want)
	}
}

func responseWith(id, model, text, refusal, finish string, args ...string) *octomesh.ChatResponse {
	m := octomesh.Message{Role: octomesh.RoleAssistant, Content: octomesh.TextContent(text), Refusal: refusal}
	for i, a := range args {
		m.ToolCalls = append(m.ToolCalls, octomesh.ToolCall{ID: "call_" + string(rune('a'+i)) + id, Type: "function",
			Function: octomesh.FunctionCall{Name: "f<" + model, Arguments: a}})
	}
	return &octomesh.ChatResponse{ID: id, Model: model, Choices: []octomesh.Choice{{Message: m, FinishReason: finish}},
		Usage: &octomesh.Usage{PromptTokens: 30, CompletionTokens: 7, TotalTokens: 37, CacheWriteTokens: 3,
			PromptTokensDetails: &octomesh.PromptTokensDetails{CachedTokens: 5}}}
}

var responseEncSeeds = [][6]string{
	{"chatcmpl-1", "gpt", "hello", "", "stop", ""},
	{"msg_01", "m<&>", "a\u2028b\"\\\n\x01" + string([]byte{0xff}), "", "length", ""},
	{"", "", "", "I can't", "content_filter", ""},
	{"x\u00e9\"", "m", "", "", "tool_calls", `{"a": "b <c>", "d": [1, 2]}`},
	{"y", "m", "t", "", "tool_calls", `{"a":1}`},
	{"z", "m", "", "", "tool_calls", `[1]`},
	{"w", "m", "", "", "tool_calls", `   `},
}

func TestAppendResponseMatchesJSON(t *testing.T) {
	for _, s := range responseEncSeeds {
		checkAppendResponse(t, responseWith(s[0], s[1], s[2], s[3], s[4], s[5]))
		checkAppendResponse(t, responseWith(s[0], s[1], s[2], s[3], s[4]))
		checkAppendResponse(t, responseWith(s[0], s[1], s[2], s[3], s[4], s[5], `{"k":"v"}`))
	}
	checkAppendResponse(t, &octomesh.ChatResponse{ID: "e"}) // no choices, no usage
	multi := responseWith("p", "m", "", "", "stop")
	multi.Choices[0].Message.Content = octomesh.Content{Parts: []octomesh.Part{{Type: octomesh.PartText, Text: "a"}, {Type: octomesh.PartText, Text: "b"}}, Array: true}
	checkAppendResponse(t, multi)
}

func FuzzAppendResponse(f *testing.F) {
	for _, s := range responseEncSeeds {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5])
	}
	f.Fuzz(func(t *testing.T, id, model, text, refusal, finish, args string) {
		checkAppendResponse(t, responseWith(id, model, text, refusal, finish))
		checkAppendResponse(t, responseWith(id, model, text, refusal, finish, args))
	})
}

// TestAppendResponseAllocs: the harness's answer is written without an
// allocation into a buffer with room (encodeResponseJSON takes 7).
func TestAppendResponseAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	resp := responseWith("chatcmpl-1", "claude-haiku-4-5", "The sky is blue because of Rayleigh scattering.", "", "stop")
	buf := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() {
		if _, err := AppendResponse(buf[:0], resp); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("AppendResponse: %v allocations, want 0", n)
	}
}
