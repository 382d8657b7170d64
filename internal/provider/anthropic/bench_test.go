package anthropic

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/octomesh/octomesh/internal/anthropicwire"
	"github.com/octomesh/octomesh/internal/provider"
)

// benchStreamBody is an Anthropic Messages stream of n text deltas, shaped
// as Anthropic sends it.
func benchStreamBody(n int) []byte {
	var b bytes.Buffer
	ev := func(name, data string) { b.WriteString("event: " + name + "\ndata: " + data + "\n\n") }
	ev("message_start", `{"type":"message_start","message":{"id":"msg_01AbCdEf0123456789","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001",`+
		`"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":24,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1,"service_tier":"standard"}}}`)
	ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
	ev("ping", `{"type": "ping"}`)
	for i := 0; i < n; i++ {
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" token"}}`)
	}
	ev("content_block_stop", `{"type":"content_block_stop","index":0}`)
	ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":100}}`)
	ev("message_stop", `{"type":"message_stop"}`)
	return b.Bytes()
}

// BenchmarkStreamDecode measures the Anthropic adapter's reading side of a
// 100-token stream (SSE parsing, event decoding, chunk building), without
// any network: what the relay pays per token.
func BenchmarkStreamDecode(b *testing.B) {
	body := benchStreamBody(100)
	r := bytes.NewReader(body)
	chunks := 0
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(body)
		rc := io.NopCloser(r)
		s := &stream{ctx: context.Background(), cancel: func() {}, id: "bench", body: rc,
			sse: provider.NewSSEReader(rc, 0), dec: anthropicwire.NewStreamDecoder("")}
		for s.Next() {
			chunks++
		}
		if err := s.Err(); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(chunks), "ns/chunk")
}
