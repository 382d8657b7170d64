package httpapi

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
)

func intp(i int) *int { return &i }

func TestChunkEncoderExactOpenAIShape(t *testing.T) {
	tests := []struct {
		name  string
		usage bool
		chunk octomesh.Chunk
		want  string
	}{
		{"role", false, octomesh.Chunk{ID: "c1", Created: 7, Model: "m", Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Role: "assistant"}}}},
			`{"id":"c1","object":"chat.completion.chunk","created":7,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}`},
		{"content with usage null", true, octomesh.Chunk{ID: "c1", Created: 7, Model: "m", Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Content: "Hi \"there\"\n<b>"}}}},
			`{"id":"c1","object":"chat.completion.chunk","created":7,"model":"m","choices":[{"index":0,"delta":{"content":"Hi \"there\"\n<b>"},"logprobs":null,"finish_reason":null}],"usage":null}`},
		{"tool call start", false, octomesh.Chunk{ID: "c1", Created: 7, Model: "m", Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{ToolCalls: []octomesh.ToolCall{{Index: intp(1), ID: "call_1", Type: "function", Function: octomesh.FunctionCall{Name: "f"}}}}}}},
			`{"id":"c1","object":"chat.completion.chunk","created":7,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]},"logprobs":null,"finish_reason":null}]}`},
		{"finish", false, octomesh.Chunk{ID: "c1", Created: 7, Model: "m", SystemFingerprint: "fp", Choices: []octomesh.ChunkChoice{{FinishReason: "stop"}}},
			`{"id":"c1","object":"chat.completion.chunk","created":7,"model":"m","system_fingerprint":"fp","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}`},
		{"usage", true, octomesh.Chunk{ID: "c1", Created: 7, Model: "m", Choices: []octomesh.ChunkChoice{}, Usage: &octomesh.Usage{PromptTokens: 3, CompletionTokens: 4, TotalTokens: 7}},
			`{"id":"c1","object":"chat.completion.chunk","created":7,"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := chunkEncoder{includeUsage: tt.usage}
			got := string(e.append(nil, &tt.chunk))
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			// It must also decode back to the same canonical chunk.
			var back octomesh.Chunk
			if err := json.Unmarshal([]byte(got), &back); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			back.Object = ""
			if tt.chunk.Choices == nil {
				tt.chunk.Choices = []octomesh.ChunkChoice{}
			}
			if tt.chunk.Usage != nil && back.Usage != nil {
				back.Usage.PromptTokensDetails, back.Usage.CompletionTokensDetails = nil, nil
			}
			if diff := cmp.Diff(tt.chunk, back); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}
