package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh/internal/fakeupstream"
)

// TestAStreamWaitsUnderFewFrames: a stream waiting for its upstream's next
// token waits in the relay that h1server runs after the handler returned
// (httpapi's chatRelay, through WaitData), not under the API's router,
// middleware and handler: the goroutine's stack can then shrink to 4 KiB
// (see h1server.Continuation), and 2,000 waiting streams hold 8 MB less.
func TestAStreamWaitsUnderFewFrames(t *testing.T) {
	rs := startRS(t, []rsModel{{name: "pool/a", kind: fakeupstream.OpenAI, groups: "[pool]", input: "0.10", output: "0.40"}}, rsRouting{})
	for _, tc := range []struct {
		path, relay, content string
		body                 map[string]any
	}{
		{"/v1/chat/completions", "(*chatRelay).Continue", `"content":`, chatBody("pool/a", question, true)},
		{"/v1/messages", "(*messagesRelay).Continue", "content_block_delta", map[string]any{
			"model": "pool/a", "max_tokens": 100, "stream": true,
			"messages": []map[string]any{{"role": "user", "content": question}}}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			rs.fake("pool/a").PauseStreamAfter(3, time.Minute) // mid-answer
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b, _ := json.Marshal(tc.body)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, rs.URL+tc.path, bytes.NewReader(b))
			req.Header.Set("Authorization", "Bearer "+rs.AdminKey)
			req.Header.Set("Anthropic-Version", "2023-06-01")
			resp, err := rs.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			// Content arrived: the stream now waits for the paused upstream.
			br := bufio.NewReader(resp.Body)
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("reading the stream: %v", err)
				}
				if strings.Contains(line, tc.content) {
					break
				}
			}
			var waiting string
			for deadline := time.Now().Add(5 * time.Second); waiting == "" && time.Now().Before(deadline); {
				var dump bytes.Buffer
				pprof.Lookup("goroutine").WriteTo(&dump, 2)
				for _, g := range strings.Split(dump.String(), "\n\n") {
					if strings.Contains(g, tc.relay) && strings.Contains(g, "(*failoverStream).WaitData") {
						waiting = g
					}
				}
				if waiting == "" {
					time.Sleep(10 * time.Millisecond)
				}
			}
			if waiting == "" {
				t.Fatalf("no %s waits in WaitData for the paused stream", tc.relay)
			}
			for _, deep := range []string{"httpapi.(*Server).ServeHTTP", "(*Server).handleChat", "(*Server).handleMessages", "(*failoverStream).Next", "(*SSEReader).Next"} {
				if strings.Contains(waiting, deep) {
					t.Errorf("the waiting stream's goroutine has %s on its stack:\n%s", deep, waiting)
				}
			}
		})
	}
}
