package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/octomesh/octomesh"
)

// stdEncode is what writeJSON writes for v.
func stdEncode(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func checkChatResponse(t testing.TB, resp *octomesh.ChatResponse) {
	t.Helper()
	want := stdEncode(t, resp)
	got, ok := appendChatResponse(nil, resp)
	if !ok {
		return // left to encoding/json
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("appendChatResponse:\n got %s\nwant %s", got, want)
	}
}

// chatResponseCases are responses of every shape: tool calls, refusals,
// content parts, null content, usage with and without details, odd
// strings.
func chatResponseCases() []*octomesh.ChatResponse {
	odd := "<b>&amp;</b> \"q\" \\ \b\f\n\r\t\x00\x1f\x7f é ✓ 😀 \u2028\u2029 \xff\xfe bad \xe2\x9c cut"
	return []*octomesh.ChatResponse{
		{},
		{ID: "chatcmpl-1", Object: "chat.completion", Created: 1700000000, Model: "openai/gpt-4o-mini", Choices: []octomesh.Choice{}},
		{ID: "x", Object: "chat.completion", Created: -5, Model: "m",
			Choices: []octomesh.Choice{{Message: octomesh.Message{Role: "assistant", Content: octomesh.TextContent("hi")}, FinishReason: "stop"}},
			Usage:   &octomesh.Usage{PromptTokens: 10, CompletionTokens: 2, TotalTokens: 12}},
		{ID: odd, Object: odd, Model: odd, SystemFingerprint: odd,
			Choices: []octomesh.Choice{
				{Index: 0, Message: octomesh.Message{Role: octomesh.Role(odd), Content: octomesh.TextContent(odd), Name: odd, ToolCallID: odd, Refusal: odd}, FinishReason: odd},
				{Index: 1, Message: octomesh.Message{Role: "assistant", Refusal: "I can't help with that."}, FinishReason: "stop"},
			},
			Usage: &octomesh.Usage{PromptTokens: 1 << 40, CompletionTokens: -1, TotalTokens: 3, CacheWriteTokens: 9,
				PromptTokensDetails: &octomesh.PromptTokensDetails{CachedTokens: 7}, CompletionTokensDetails: &octomesh.CompletionTokensDetails{ReasoningTokens: 5}}},
		{ID: "t", Object: "chat.completion", Model: "m", Choices: []octomesh.Choice{{Index: 0, FinishReason: "tool_calls",
			Message: octomesh.Message{Role: "assistant", ToolCalls: []octomesh.ToolCall{
				{ID: "call_1", Type: "function", Function: octomesh.FunctionCall{Name: "get_weather", Arguments: `{"city":"Paris <FR> & co"}`}},
				{Index: intp(3), Function: octomesh.FunctionCall{Arguments: ""}},
				{Index: intp(0), ID: odd, Type: odd, Function: octomesh.FunctionCall{Name: odd, Arguments: odd}},
			}}}},
			Usage: &octomesh.Usage{PromptTokensDetails: &octomesh.PromptTokensDetails{}}},
		{Choices: []octomesh.Choice{{Message: octomesh.Message{Role: "assistant", Content: octomesh.Content{Parts: []octomesh.Part{
			{Type: octomesh.PartText, Text: "a <b>"}, {Type: octomesh.PartImageURL, ImageURL: &octomesh.ImageURL{URL: "https://x/y?a=1&b=2", Detail: "low"}}}, Array: true}}}},
			Usage: &octomesh.Usage{CompletionTokensDetails: &octomesh.CompletionTokensDetails{}}},
		{Choices: []octomesh.Choice{{Message: octomesh.Message{Content: octomesh.Content{Parts: []octomesh.Part{}, Array: true}}}}},
		{Choices: []octomesh.Choice{{Message: octomesh.Message{Content: octomesh.Content{Parts: []octomesh.Part{{Type: octomesh.PartText, Text: "one"}}, Array: true}}}}},
		{Choices: []octomesh.Choice{{Message: octomesh.Message{Content: octomesh.Content{Parts: []octomesh.Part{{Type: "image_url", ImageURL: &octomesh.ImageURL{URL: "u"}}}}}}}},
		{Choices: []octomesh.Choice{{Message: octomesh.Message{Content: octomesh.Content{Parts: []octomesh.Part{{Type: "text", Text: "a"}, {Type: "text", Text: "b"}}}}}}},
	}
}

// TestChatResponseEncoding checks the hand encoder against encoding/json.
func TestChatResponseEncoding(t *testing.T) {
	for _, resp := range chatResponseCases() {
		if _, ok := appendChatResponse(nil, resp); !ok {
			t.Errorf("appendChatResponse left %+v to encoding/json", resp)
		}
		checkChatResponse(t, resp)
	}
}

// TestChatResponseLogprobsFallBack checks that a response with logprobs
// is written by encoding/json, exactly as writeJSON writes it.
func TestChatResponseLogprobsFallBack(t *testing.T) {
	resp := &octomesh.ChatResponse{ID: "x", Choices: []octomesh.Choice{{Message: octomesh.Message{Role: "assistant", Content: octomesh.TextContent("hi")},
		Logprobs: json.RawMessage(`{ "content" : [ {"token":"hi","logprob":-0.5} ] }`)}}}
	if _, ok := appendChatResponse(nil, resp); ok {
		t.Fatal("appendChatResponse encoded logprobs itself")
	}
	got, want := httptest.NewRecorder(), httptest.NewRecorder()
	writeChatResponse(got, resp)
	writeJSON(want, http.StatusOK, resp)
	if got.Body.String() != want.Body.String() || got.Header().Get("Content-Type") != want.Header().Get("Content-Type") || got.Code != want.Code {
		t.Errorf("writeChatResponse wrote %d %q %s, writeJSON %d %q %s", got.Code, got.Header().Get("Content-Type"), got.Body,
			want.Code, want.Header().Get("Content-Type"), want.Body)
	}
}

// TestWriteChatResponse checks the whole HTTP write: header, status, body.
func TestWriteChatResponse(t *testing.T) {
	for _, resp := range chatResponseCases() {
		got, want := httptest.NewRecorder(), httptest.NewRecorder()
		writeChatResponse(got, resp)
		writeJSON(want, http.StatusOK, resp)
		if got.Body.String() != want.Body.String() || got.Header().Get("Content-Type") != want.Header().Get("Content-Type") || got.Code != want.Code {
			t.Errorf("writeChatResponse wrote %d %s, writeJSON %d %s", got.Code, got.Body, want.Code, want.Body)
		}
	}
}

// FuzzChatResponseEncoding builds responses from fuzzed strings and
// numbers and compares the hand encoder with encoding/json.
func FuzzChatResponseEncoding(f *testing.F) {
	f.Add("chatcmpl-1", "hello", "call_1", `{"a":1}`, "stop", 3, int64(1700000000), uint8(0))
	f.Add("<&>", "\b\f\x00\xff\u2028", "\xe2\x9c", "\\\"", "", -1, int64(-1), uint8(255))
	f.Fuzz(func(t *testing.T, id, text, callID, args, finish string, n int, created int64, flags uint8) {
		resp := &octomesh.ChatResponse{ID: id, Object: finish, Created: created, Model: text}
		if flags&1 != 0 {
			resp.Choices = []octomesh.Choice{}
		}
		if flags&2 != 0 {
			m := octomesh.Message{Role: octomesh.Role(finish), Content: octomesh.TextContent(text), Refusal: args}
			if flags&4 != 0 {
				m.Content = octomesh.Content{}
				m.ToolCalls = []octomesh.ToolCall{{ID: callID, Type: finish, Function: octomesh.FunctionCall{Name: id, Arguments: args}}}
				if flags&8 != 0 {
					m.ToolCalls[0].Index = &n
				}
			}
			if flags&16 != 0 {
				m.Content = octomesh.Content{Parts: []octomesh.Part{{Type: octomesh.PartText, Text: text}, {Type: octomesh.PartImageURL, ImageURL: &octomesh.ImageURL{URL: args, Detail: id}}}, Array: true}
			}
			m.Name, m.ToolCallID = callID, id
			resp.Choices = append(resp.Choices, octomesh.Choice{Index: n, Message: m, FinishReason: finish})
		}
		if flags&32 != 0 {
			resp.Usage = &octomesh.Usage{PromptTokens: n, CompletionTokens: int(created), TotalTokens: n + 1}
			if flags&64 != 0 {
				resp.Usage.PromptTokensDetails = &octomesh.PromptTokensDetails{CachedTokens: n}
			}
			if flags&128 != 0 {
				resp.Usage.CompletionTokensDetails = &octomesh.CompletionTokensDetails{ReasoningTokens: n}
			}
		}
		if flags&64 != 0 {
			resp.SystemFingerprint = callID
		}
		checkChatResponse(t, resp)
	})
}

// benchResponse is a typical non-streaming answer: a few paragraphs and
// usage.
var benchResponse = &octomesh.ChatResponse{ID: "chatcmpl-AbCdEf0123456789", Object: "chat.completion", Created: 1700000000, Model: "openai/gpt-4o-mini",
	Choices: []octomesh.Choice{{Message: octomesh.Message{Role: "assistant", Content: octomesh.TextContent(strings.Repeat("A reverse proxy adds a hop, so latency grows by the time it takes to accept, parse and forward. ", 20))}, FinishReason: "stop"}},
	Usage:   &octomesh.Usage{PromptTokens: 900, CompletionTokens: 400, TotalTokens: 1300, PromptTokensDetails: &octomesh.PromptTokensDetails{}, CompletionTokensDetails: &octomesh.CompletionTokensDetails{}}}

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkWriteChatResponse writes benchResponse with the hand encoder;
// BenchmarkWriteChatResponseStd with encoding/json (writeJSON).
func BenchmarkWriteChatResponse(b *testing.B) {
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		writeChatResponse(w, benchResponse)
	}
}

func BenchmarkWriteChatResponseStd(b *testing.B) {
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		writeJSON(w, http.StatusOK, benchResponse)
	}
}
