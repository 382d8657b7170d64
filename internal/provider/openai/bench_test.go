package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/octomesh/octomesh"
)

// benchChunkHeader is the part of every chat.completion.chunk before its
// choices, as OpenAI sends it today.
const benchChunkHeader = `{"id":"chatcmpl-AbCdEf0123456789AbCdEf012345","object":"chat.completion.chunk","created":1700000000,` +
	`"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_0123456789",`

// benchStreamBody is a whole OpenAI stream of n content tokens: the role
// chunk, one chunk per token, the finish chunk, the usage chunk and [DONE].
func benchStreamBody(n int) []byte {
	var b bytes.Buffer
	ev := func(rest string) { b.WriteString("data: " + benchChunkHeader + rest + "}\n\n") }
	ev(`"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null`)
	for i := 0; i < n; i++ {
		ev(`"choices":[{"index":0,"delta":{"content":" token"},"logprobs":null,"finish_reason":null}],"usage":null`)
	}
	ev(`"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null`)
	ev(`"choices":[],"usage":{"prompt_tokens":24,"completion_tokens":100,"total_tokens":124,` +
		`"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`)
	b.WriteString("data: [DONE]\n\n")
	return b.Bytes()
}

// benchToolStreamBody is a stream of one tool call whose arguments arrive
// in n fragments (escaped JSON, as every tool-calling stream carries).
func benchToolStreamBody(n int) []byte {
	var b bytes.Buffer
	ev := func(rest string) { b.WriteString("data: " + benchChunkHeader + rest + "}\n\n") }
	ev(`"choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_AbCdEf0123","type":"function","function":{"name":"get_weather","arguments":""}}],"refusal":null},"logprobs":null,"finish_reason":null}]`)
	for i := 0; i < n; i++ {
		ev(`"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":\"Par"}}]},"logprobs":null,"finish_reason":null}]`)
	}
	ev(`"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]`)
	b.WriteString("data: [DONE]\n\n")
	return b.Bytes()
}

// benchDrain measures reading and decoding one stream body per op; it
// reports the cost per chunk yielded.
func benchDrain(b *testing.B, body []byte) {
	r := bytes.NewReader(body)
	chunks := 0
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(body)
		s := newStream(context.Background(), func() {}, "bench", io.NopCloser(r))
		for s.Next() {
			chunks++
		}
		if err := s.Err(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(chunks), "ns/chunk")
}

// BenchmarkStreamDecode measures the OpenAI adapter's reading side of a
// 100-token text stream (SSE parsing plus chunk decoding and
// normalisation), without any network: what the relay pays per token.
func BenchmarkStreamDecode(b *testing.B) { benchDrain(b, benchStreamBody(100)) }

// BenchmarkStreamDecodeToolCall is BenchmarkStreamDecode for a tool call
// whose arguments arrive in 50 fragments.
func BenchmarkStreamDecodeToolCall(b *testing.B) { benchDrain(b, benchToolStreamBody(50)) }

// BenchmarkDecodeChatResponse measures decoding a non-streaming completion.
func BenchmarkDecodeChatResponse(b *testing.B) {
	body := []byte(`{"id":"chatcmpl-AbCdEf0123456789","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini-2024-07-18",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":"` + strings.Repeat("token ", 100) + `","refusal":null,"annotations":[]},` +
		`"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":24,"completion_tokens":100,"total_tokens":124,` +
		`"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}},` +
		`"service_tier":"default","system_fingerprint":"fp_0123456789"}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeChatResponse("bench", body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChatRequestBody measures encoding a typical upstream request
// (the hand encoder; the encoding/json sub-benchmark is what it replaced).
func BenchmarkChatRequestBody(b *testing.B) {
	c := &Client{}
	n, t := 256, 0.2
	req := &octomesh.ChatRequest{Model: "gpt-4o-mini", MaxTokens: &n, Temperature: &t, Messages: []octomesh.Message{
		{Role: octomesh.RoleSystem, Content: octomesh.TextContent("You are a concise assistant. Answer in one paragraph.")},
		{Role: octomesh.RoleUser, Content: octomesh.TextContent("Explain in two sentences why a reverse proxy adds latency, and how connection reuse reduces it.")},
	}}
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.chatRequestBody(req, true); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		r := *req
		r.Stream, r.StreamOptions = true, &octomesh.StreamOptions{IncludeUsage: true}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(&chatBody{ChatRequest: &r, Model: req.Model}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
