package openai

import (
	"bytes"
	"context"
	"io"
	"testing"
)

// slowBody is a stream body read an event at a time, each after a wait:
// as a body whose tokens come 20 ms apart looks to its reader. It says it
// holds nothing, and waits without blocking.
type slowBody struct{ rest []byte }

func (s *slowBody) Read(p []byte) (int, error) {
	if len(s.rest) == 0 {
		return 0, io.EOF
	}
	n := len(s.rest)
	if i := bytes.Index(s.rest, []byte("\n\n")); i >= 0 {
		n = i + 2
	}
	n = copy(p, s.rest[:n])
	s.rest = s.rest[n:]
	return n, nil
}

func (*slowBody) Close() error  { return nil }
func (*slowBody) Buffered() int { return 0 }
func (*slowBody) WaitData()     {}

// BenchmarkStreamDecodeSlow is BenchmarkStreamDecode for a stream whose
// every event comes after a wait (2,000 streams at 50 tokens a second).
func BenchmarkStreamDecodeSlow(b *testing.B) {
	body := benchStreamBody(100)
	chunks := 0
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		s := newStream(context.Background(), func() {}, "bench", &slowBody{rest: body})
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
