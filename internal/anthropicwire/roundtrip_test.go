package anthropicwire

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
)

// TestRoundTripAnthropic checks Anthropic → canonical → Anthropic: a body
// using only what the canonical format carries comes back unchanged.
func TestRoundTripAnthropic(t *testing.T) {
	bodies := map[string]string{
		"text": `{"model":"claude-sonnet-4-5","max_tokens":100,"system":"Be brief.","temperature":0.3,"top_p":0.8,
			"stop_sequences":["END"],"metadata":{"user_id":"u-9"},"stream":true,
			"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"},{"role":"user","content":"Bye"}]}`,
		"blocks and images": `{"model":"m","max_tokens":10,"system":[{"type":"text","text":"A"},{"type":"text","text":"B"}],
			"messages":[{"role":"user","content":[{"type":"text","text":"Look"},
				{"type":"image","source":{"type":"base64","media_type":"image/webp","data":"UklGRg=="}},
				{"type":"image","source":{"type":"url","url":"https://example.com/x.png"}}]},
				{"role":"assistant","content":[{"type":"text","text":"A cat."}]}]}`,
		"tools": `{"model":"m","max_tokens":300,
			"tools":[{"name":"get_weather","description":"Weather.","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]},"strict":true}],
			"tool_choice":{"type":"any","disable_parallel_tool_use":true},
			"messages":[{"role":"user","content":"Paris and Rome?"},
				{"role":"assistant","content":[{"type":"text","text":"Checking."},
					{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}},
					{"type":"tool_use","id":"toolu_2","name":"get_weather","input":{"city":"Rome"}}]},
				{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"18C"},
					{"type":"tool_result","tool_use_id":"toolu_2","content":[{"type":"text","text":"21C"}]},
					{"type":"text","text":"Compare."}]}]}`,
		"tool choice tool": `{"model":"m","max_tokens":5,"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"f"},
			"messages":[{"role":"user","content":"go"}]}`,
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			req, err := DecodeRequest([]byte(body))
			if err != nil {
				t.Fatalf("DecodeRequest: %v", err)
			}
			out, err := EncodeRequest(req, EncodeOptions{})
			if err != nil {
				t.Fatalf("EncodeRequest: %v", err)
			}
			b, err := json.Marshal(out)
			if err != nil {
				t.Fatal(err)
			}
			var got any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(mustJSON(t, body), got); diff != "" {
				t.Errorf("round trip mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRoundTripCanonical checks canonical → Anthropic → canonical for
// requests already in the shapes the Anthropic format produces.
func TestRoundTripCanonical(t *testing.T) {
	reqs := map[string]*octomesh.ChatRequest{
		"conversation": {
			Model: "m", MaxTokens: ptr(64), Temperature: ptr(0.0), TopP: ptr(1.0), Stop: octomesh.Stop{"\n\n"}, User: "u",
			Messages: []octomesh.Message{
				{Role: octomesh.RoleSystem, Content: octomesh.TextContent("sys")},
				userText("q1"),
				{Role: octomesh.RoleAssistant, Content: octomesh.TextContent("a1")},
				{Role: octomesh.RoleUser, Content: octomesh.Content{Array: true, Parts: []octomesh.Part{
					{Type: octomesh.PartText, Text: "see"},
					{Type: octomesh.PartImageURL, ImageURL: &octomesh.ImageURL{URL: "data:image/gif;base64,R0lGOD=="}},
				}}},
			},
		},
		"tool loop": {
			Model: "m", MaxTokens: ptr(64), Stream: true, StreamOptions: &octomesh.StreamOptions{IncludeUsage: true},
			Tools:      []octomesh.Tool{{Type: "function", Function: octomesh.FunctionDef{Name: "f", Description: "d", Parameters: json.RawMessage(`{"type":"object"}`)}}},
			ToolChoice: &octomesh.ToolChoice{Mode: octomesh.ToolChoiceFunction, Function: "f"}, ParallelToolCalls: ptr(false),
			Messages: []octomesh.Message{
				userText("go"),
				{Role: octomesh.RoleAssistant, ToolCalls: []octomesh.ToolCall{
					{ID: "c1", Type: "function", Function: octomesh.FunctionCall{Name: "f", Arguments: `{"a":1}`}},
					{ID: "c2", Type: "function", Function: octomesh.FunctionCall{Name: "f", Arguments: `{}`}},
				}},
				{Role: octomesh.RoleTool, ToolCallID: "c1", Content: octomesh.TextContent("r1")},
				{Role: octomesh.RoleTool, ToolCallID: "c2", Content: octomesh.TextContent("r2")},
				{Role: octomesh.RoleUser, Content: octomesh.Content{Array: true, Parts: []octomesh.Part{{Type: octomesh.PartText, Text: "thanks"}}}},
			},
		},
	}
	for name, req := range reqs {
		t.Run(name, func(t *testing.T) {
			out, err := EncodeRequest(req, EncodeOptions{})
			if err != nil {
				t.Fatalf("EncodeRequest: %v", err)
			}
			b, err := json.Marshal(out)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeRequest(b)
			if err != nil {
				t.Fatalf("DecodeRequest(%s): %v", b, err)
			}
			if diff := cmp.Diff(req, got); diff != "" {
				t.Errorf("round trip mismatch (-want +got):\n%s\nwire: %s", diff, b)
			}
		})
	}
}

// TestRoundTripResponse checks canonical → Anthropic → canonical responses.
func TestRoundTripResponse(t *testing.T) {
	resp := &octomesh.ChatResponse{
		ID: "msg_01abc", Object: octomesh.ObjectChatCompletion, Model: "claude-x",
		Choices: []octomesh.Choice{{Message: octomesh.Message{
			Role: octomesh.RoleAssistant, Content: octomesh.TextContent("Calling."),
			ToolCalls: []octomesh.ToolCall{{ID: "toolu_1", Type: "function", Function: octomesh.FunctionCall{Name: "f", Arguments: `{"q":"x"}`}}},
		}, FinishReason: octomesh.FinishToolCalls}},
		Usage: &octomesh.Usage{PromptTokens: 150, CompletionTokens: 20, TotalTokens: 170,
			PromptTokensDetails: &octomesh.PromptTokensDetails{CachedTokens: 100}, CacheWriteTokens: 30},
	}
	b, err := EncodeResponse(resp)
	if err != nil {
		t.Fatalf("EncodeResponse: %v", err)
	}
	got, err := DecodeResponse(b, "")
	if err != nil {
		t.Fatalf("DecodeResponse: %v", err)
	}
	if diff := cmp.Diff(resp, got); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s\nwire: %s", diff, b)
	}
}
