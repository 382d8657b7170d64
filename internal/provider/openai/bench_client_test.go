package openai

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/provider"
)

// rawUpstream answers every request on its connections with one canned
// response, parsing only what framing needs: it allocates next to nothing,
// so a benchmark's allocs/op are the client's.
func rawUpstream(tb testing.TB, response []byte) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReaderSize(c, 16<<10)
				for {
					n := 0
					for {
						l, err := br.ReadSlice('\n')
						if err != nil {
							return
						}
						if len(l) <= 2 {
							break
						}
						if k, v, ok := bytes.Cut(l, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
							n, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
						}
					}
					if _, err := br.Discard(n); err != nil {
						return
					}
					if _, err := c.Write(response); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/v1"
}

// benchHead is a response head as OpenAI sends one, framing aside.
const benchHead = "HTTP/1.1 200 OK\r\nDate: Fri, 27 Nov 2026 12:00:00 GMT\r\nConnection: keep-alive\r\n" +
	"access-control-expose-headers: X-Request-ID\r\nopenai-organization: user-abc\r\nopenai-processing-ms: 412\r\n" +
	"openai-version: 2020-10-01\r\nx-ratelimit-remaining-requests: 9999\r\nx-request-id: req_0123456789abcdef\r\n" +
	"strict-transport-security: max-age=31536000; includeSubDomains; preload\r\n"

func benchClient(b testing.TB, response []byte) *Client {
	c, err := New(Config{ID: "bench", BaseURL: rawUpstream(b, response), APIKey: "sk-bench"}, provider.NewHTTPClient(provider.HTTPOptions{}, false))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func benchRequest() *octomesh.ChatRequest {
	n := 256
	return &octomesh.ChatRequest{Model: "gpt-4o-mini", MaxTokens: &n, Messages: []octomesh.Message{
		{Role: octomesh.RoleUser, Content: octomesh.TextContent("Explain in two sentences why a reverse proxy adds latency.")},
	}}
}

// BenchmarkClientChat measures one non-streaming call through the client,
// transport included, against a loopback upstream: allocs/op is what the
// provider packages allocate per request.
func BenchmarkClientChat(b *testing.B) {
	c := benchClient(b, chatAnswer())
	req := benchRequest()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Chat(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// chatAnswer is a whole non-streaming answer, head and body.
func chatAnswer() []byte {
	body := `{"id":"chatcmpl-AbCdEf0123456789","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini-2024-07-18",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":"` + strings.Repeat("token ", 50) + `","refusal":null,"annotations":[]},` +
		`"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":24,"completion_tokens":50,"total_tokens":74,` +
		`"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}},` +
		`"service_tier":"default","system_fingerprint":"fp_0123456789"}`
	return fmt.Appendf(nil, "%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", benchHead, len(body), body)
}

// BenchmarkClientStream is BenchmarkClientChat for a stream of 20 tokens.
func BenchmarkClientStream(b *testing.B) {
	c := benchClient(b, streamAnswer())
	req := benchRequest()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		readStream(b, c, ctx, req)
	}
}

func readStream(tb testing.TB, c *Client, ctx context.Context, req *octomesh.ChatRequest) {
	s, err := c.ChatStream(ctx, req)
	if err != nil {
		tb.Fatal(err)
	}
	for s.Next() {
	}
	if err := s.Err(); err != nil {
		tb.Fatal(err)
	}
	s.Close()
}

// streamAnswer is a whole answer of 20 streamed tokens, each event in a
// chunk of its own.
func streamAnswer() []byte {
	var r bytes.Buffer
	r.WriteString(benchHead + "Content-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
	events := bytes.SplitAfter(benchStreamBody(20), []byte("\n\n"))
	for _, ev := range events {
		if len(ev) > 0 {
			fmt.Fprintf(&r, "%x\r\n%s\r\n", len(ev), ev)
		}
	}
	r.WriteString("0\r\n\r\n")
	return r.Bytes()
}

// A request through the client, transport included, allocates a handful
// of objects, and a streamed token next to none: a guard against the
// allocations this package was rid of coming back.
func TestClientAllocations(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("allocation counts: not under the race detector")
	}
	ctx := context.Background()
	req := benchRequest()
	chat, stream := benchClient(t, chatAnswer()), benchClient(t, streamAnswer())
	if n := testing.AllocsPerRun(200, func() {
		if _, err := chat.Chat(ctx, req); err != nil {
			t.Fatal(err)
		}
	}); n > 10 {
		t.Errorf("chat: %v allocations per request, want at most 10", n)
	}
	// A stream's choices are lent, in the stream (13 allocations when
	// they came in blocks: 20 tokens took three); its strings (with
	// OpenAI's long ids and model names) take one block past the room; and
	// the stream's token shape (tokenshape.go) one. (8 allocations.)
	if n := testing.AllocsPerRun(200, func() { readStream(t, stream, ctx, req) }); n > 8 {
		t.Errorf("stream of 20 tokens: %v allocations per request, want at most 8", n)
	}
}
