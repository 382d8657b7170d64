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
)

// TestAStreamWaitsUnderFewFrames: a stream waiting for its upstream's next
// token waits in the relay that h1server runs after the handler returned
// (httpapi's chatRelay, through WaitData), not under the API's router,
// middleware and handler: the goroutine's stack can then shrink to 4 KiB
// (see h1server.Continuation), and 2,000 waiting streams hold 8 MB less.
func TestAStreamWaitsUnderFewFrames(t *testing.T) {
	rs := startRS(t, poolFleet(), rsRouting{})
	for _, tc := range []struct {
		path, model, relay, content string
		events                      int // upstream events before the pause: content among them
		body                        map[string]any
	}{
		{"/v1/chat/completions", "pool/a", "(*chatRelay).Continue", `"content":"`, 3, chatBody("pool/a", question, true)},
		{"/v1/chat/completions", "pool/b", "(*chatRelay).Continue", `"content":"`, 5, chatBody("pool/b", question, true)},
		{"/v1/chat/completions", "pool/c", "(*chatRelay).Continue", `"content":"`, 2, chatBody("pool/c", question, true)},
		{"/v1/messages", "pool/a", "(*messagesRelay).Continue", "content_block_delta", 3, map[string]any{
			"model": "pool/a", "max_tokens": 100, "stream": true,
			"messages": []map[string]any{{"role": "user", "content": question}}}},
	} {
		t.Run(tc.path+" "+tc.model, func(t *testing.T) {
			// The last case's stream must be gone, or its goroutine would
			// answer for this one.
			for deadline := time.Now().Add(5 * time.Second); relayStacks() != nil; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("a relay outlived its client:\n%s", relayStacks())
				}
			}
			rs.fake(tc.model).PauseStreamAfter(tc.events, time.Minute) // mid-answer
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
				// Content, not the role chunk's empty string.
				if _, rest, ok := strings.Cut(line, tc.content); ok && !strings.HasPrefix(rest, `"`) {
					break
				}
			}
			var waiting string
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if gs := relayStacks(); len(gs) == 1 && strings.Contains(gs[0], tc.relay) && strings.Contains(gs[0], "WaitData") {
					waiting = gs[0]
					break
				}
			}
			if waiting == "" {
				t.Fatalf("the paused stream's %s does not wait in WaitData; relays:\n%s", tc.relay, relayStacks())
			}
			for _, deep := range []string{"httpapi.(*Server).ServeHTTP", "(*Server).handleChat", "(*Server).handleMessages", "(*failoverStream).Next", "(*SSEReader).Next"} {
				if strings.Contains(waiting, deep) {
					t.Errorf("the waiting stream's goroutine has %s on its stack:\n%s", deep, waiting)
				}
			}
		})
	}
}

// relayStacks returns the stacks of the goroutines running a stream's relay.
func relayStacks() []string {
	var dump bytes.Buffer
	pprof.Lookup("goroutine").WriteTo(&dump, 2)
	var out []string
	for _, g := range strings.Split(dump.String(), "\n\n") {
		if strings.Contains(g, "Relay).Continue") {
			out = append(out, g)
		}
	}
	return out
}

// TestAStreamWaitsForItsFirstTokenUnderFewFrames: the wait for a stream's
// first content is its relay's too. The handler only prepares the stream
// (validation, admission, routing, reservation: the request path's deepest
// frames); the relay, which h1server runs on a goroutine of its own after
// the handler returned, opens the upstream and waits for its first content,
// so the handler's 8 KiB stack is gone by then. Before, 2,000 streams
// waiting for their first tokens held 2,000 such stacks.
func TestAStreamWaitsForItsFirstTokenUnderFewFrames(t *testing.T) {
	rs := startRS(t, poolFleet(), rsRouting{})
	for _, tc := range []struct {
		path, relay string
		body        map[string]any
	}{
		{"/v1/chat/completions", "(*chatRelay).start", chatBody("pool/a", question, true)},
		{"/v1/messages", "(*messagesRelay).start", map[string]any{
			"model": "pool/a", "max_tokens": 100, "stream": true,
			"messages": []map[string]any{{"role": "user", "content": question}}}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			for deadline := time.Now().Add(5 * time.Second); relayStacks() != nil; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("a relay outlived its client:\n%s", relayStacks())
				}
			}
			rs.fake("pool/a").PauseStreamAfter(1, time.Minute) // after the role chunk, before any content
			ctx, cancel := context.WithCancel(context.Background())
			b, _ := json.Marshal(tc.body)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, rs.URL+tc.path, bytes.NewReader(b))
			req.Header.Set("Authorization", "Bearer "+rs.AdminKey)
			req.Header.Set("Anthropic-Version", "2023-06-01")
			done := make(chan struct{})
			go func() {
				defer close(done)
				if resp, err := rs.client.Do(req); err == nil {
					resp.Body.Close()
				}
			}()
			defer func() { cancel(); <-done }()
			var waiting string
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if gs := relayStacks(); len(gs) == 1 && strings.Contains(gs[0], tc.relay) && strings.Contains(gs[0], "runtime_pollWait") {
					waiting = gs[0]
					break
				}
			}
			if waiting == "" {
				t.Fatalf("no relay waits in %s for the paused stream's first content; relays:\n%s", tc.relay, relayStacks())
			}
			for _, deep := range []string{"httpapi.(*Server).ServeHTTP", "(*Server).handleChat", "(*Server).handleMessages", "(*Service).prepareStream", "(*conn).handle"} {
				if strings.Contains(waiting, deep) {
					t.Errorf("the goroutine waiting for the first content has %s on its stack:\n%s", deep, waiting)
				}
			}
		})
	}
}
