package provider

import (
	"bytes"
	"io"
	"testing"
)

// benchStream is an OpenAI stream of 100 content chunks, as a provider
// sends it.
func benchStream() []byte {
	var b bytes.Buffer
	for i := 0; i < 100; i++ {
		b.WriteString(`data: {"id":"chatcmpl-AbCdEf0123456789","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini-2024-07-18",` +
			`"service_tier":"default","system_fingerprint":"fp_0123456789","choices":[{"index":0,"delta":{"content":" token"},"logprobs":null,"finish_reason":null}]}` + "\n\n")
	}
	b.WriteString("data: [DONE]\n\n")
	return b.Bytes()
}

// BenchmarkSSEReader measures reading events from an upstream stream; one
// op is one event.
func BenchmarkSSEReader(b *testing.B) {
	data := benchStream()
	r := bytes.NewReader(data)
	b.SetBytes(int64(len(data)) / 101)
	b.ReportAllocs()
	var s *SSEReader
	for b.Loop() {
		if s == nil {
			r.Reset(data)
			s = NewSSEReader(r, 1<<20)
		}
		if _, err := s.Next(); err == io.EOF {
			s = nil
		} else if err != nil {
			b.Fatal(err)
		}
	}
}
