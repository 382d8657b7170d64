package httpapi

import (
	"testing"

	"github.com/octomesh/octomesh"
)

// benchChatBody is a typical chat request as SDKs send it: a system and a
// user message, an output cap, a temperature, streaming with usage.
const benchChatBody = `{"model":"openai/gpt-4o-mini","messages":[{"role":"system","content":"You are a concise assistant. Answer in one paragraph."},` +
	`{"role":"user","content":"Explain in two sentences why a reverse proxy adds latency, and how connection reuse reduces it."}],` +
	`"max_tokens":256,"temperature":0.2,"stream":true,"stream_options":{"include_usage":true}}`

// BenchmarkDecodeStrict measures decoding a typical request body into the
// canonical request (the first cost of every chat request).
func BenchmarkDecodeStrict(b *testing.B) {
	body := []byte(benchChatBody)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var req octomesh.ChatRequest
		if err := decodeStrict(body, &req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChunkEncode measures encoding one streamed content chunk as
// OpenAI's SSE data (paid once per token relayed).
func BenchmarkChunkEncode(b *testing.B) {
	c := &octomesh.Chunk{ID: "chatcmpl-AbCdEf0123456789", Object: octomesh.ObjectChatCompletionChunk, Created: 1_700_000_000,
		Model: "openai/gpt-4o-mini", SystemFingerprint: "fp_0123456789",
		Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Content: " latency"}}}}
	enc := chunkEncoder{includeUsage: true}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = append(buf[:0], "data: "...)
		buf = enc.append(buf, c)
		buf = append(buf, "\n\n"...)
	}
	b.SetBytes(int64(len(buf)))
}
