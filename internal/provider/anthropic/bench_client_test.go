package anthropic

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
	return "http://" + ln.Addr().String() + ""
}

// benchHead is a response head as Anthropic sends one, framing aside.
const benchHead = "HTTP/1.1 200 OK\r\nDate: Fri, 27 Nov 2026 12:00:00 GMT\r\nConnection: keep-alive\r\n" +
	"access-control-expose-headers: X-Request-ID\r\nopenai-organization: user-abc\r\nopenai-processing-ms: 412\r\n" +
	"openai-version: 2020-10-01\r\nx-ratelimit-remaining-requests: 9999\r\nx-request-id: req_0123456789abcdef\r\n" +
	"strict-transport-security: max-age=31536000; includeSubDomains; preload\r\n"

func benchClient(b testing.TB, response []byte) *Client {
	c, err := New(Config{ID: "bench", BaseURL: rawUpstream(b, response), APIKey: "sk-bench", Now: fixedNow}, provider.NewHTTPClient(provider.HTTPOptions{}, false))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func benchRequest() *octomesh.ChatRequest {
	n := 256
	return &octomesh.ChatRequest{Model: "claude-haiku-4-5", MaxTokens: &n, Messages: []octomesh.Message{
		{Role: octomesh.RoleSystem, Content: octomesh.TextContent("You are a concise assistant.")},
		{Role: octomesh.RoleUser, Content: octomesh.TextContent("Explain in two sentences why a reverse proxy adds latency.")},
	}}
}

// chatAnswer is a whole non-streaming answer, head and body.
func chatAnswer() []byte {
	body := `{"id":"msg_01AbCdEf0123456789","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001",` +
		`"content":[{"type":"text","text":"` + strings.Repeat("token ", 50) + `"}],"stop_reason":"end_turn","stop_sequence":null,` +
		`"usage":{"input_tokens":24,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":50,"service_tier":"standard"}}`
	return fmt.Appendf(nil, "%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", benchHead, len(body), body)
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

// TestClientAllocations guards a request through the client, transport
// included: its body is encoded by hand into a pooled buffer and its
// answer decoded in place (31 when encoding/json encoded the body, 26 before the decoded message stayed on the stack, 20 before EncodeRequest allocated its blocks together, 18 before the answer's strings shared a block).
func TestClientAllocations(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("allocation counts: not under the race detector")
	}
	ctx := context.Background()
	req := benchRequest()
	chat := benchClient(t, chatAnswer())
	if n := testing.AllocsPerRun(200, func() {
		if _, err := chat.Chat(ctx, req); err != nil {
			t.Fatal(err)
		}
	}); n > 16 {
		t.Errorf("chat: %v allocations per request, want at most 16", n)
	}
}
