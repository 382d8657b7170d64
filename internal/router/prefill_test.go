package router

import (
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
)

// The first-byte bound learned from a deployment's usual prompts grows
// with the request's prompt: a prompt of tens of thousands of tokens, which takes seconds to
// prefill, is not cut at the 2 s learned from short ones.
func TestFirstByteBoundGrowsWithThePrompt(t *testing.T) {
	r, _ := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a")}})
	succeed(r, "a", 100, 100*time.Millisecond) // p99 100 ms: 3 × p99 is under the 2 s floor
	short := chat("a")
	long := chat("a")
	long.Messages[0].Content = octomesh.TextContent(strings.Repeat("lorem ipsum dolor sit amet ", 10_000))
	bound := func(req *octomesh.ChatRequest) time.Duration {
		p, err := r.Decide(req, octomesh.RouteOptions{}, KeyScope{})
		if err != nil {
			t.Fatalf("Decide: %v", err)
		}
		return p.Attempts[0].Timeouts.FirstByte
	}
	if got := bound(short); got < 2*time.Second || got > 2100*time.Millisecond {
		t.Errorf("short prompt: first-byte bound %v, want about the 2 s floor", got)
	}
	n := long.EstimateTokens()
	want := 2*time.Second + 200*time.Millisecond*time.Duration(n)/1000
	if got := bound(long); got != min(want, 30*time.Second) || got < 10*time.Second {
		t.Errorf("%d-token prompt: first-byte bound %v, want %v (the floor plus 200 ms per 1,000 tokens)", n, got, min(want, 30*time.Second))
	}
}
