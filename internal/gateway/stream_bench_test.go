package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
)

// BenchmarkStreamRelay relays a 100-chunk stream through the failover
// stream with first-byte and idle timeouts set, as the default
// configuration has them: the per-chunk cost of the gateway's stream path.
func BenchmarkStreamRelay(b *testing.B) {
	chunks := []octomesh.Chunk{{ID: "s", Model: "up", Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Role: "assistant"}}}}}
	for range 100 {
		chunks = append(chunks, octomesh.Chunk{ID: "s", Model: "up", Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Content: "word "}}}})
	}
	chunks = append(chunks, octomesh.Chunk{ID: "s", Model: "up", Choices: []octomesh.ChunkChoice{{FinishReason: "stop"}}},
		octomesh.Chunk{ID: "s", Model: "up", Choices: []octomesh.ChunkChoice{}, Usage: &octomesh.Usage{PromptTokens: 10, CompletionTokens: 100}})
	p := &scripted{id: "p", chunks: chunks}
	cat, err := NewCatalog(testDeployments(), nil)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := New(Options{Catalog: cat, Providers: map[string]octomesh.Provider{"p": p}})
	if err != nil {
		b.Fatal(err)
	}
	d, _ := cat.Deployment("p/big")
	svc.planner = func(ctx context.Context, req *octomesh.ChatRequest) (*plan, error) {
		return &plan{maxAttempts: 1, decision: &octomesh.Decision{Plan: []string{d.Name}},
			attempts: []planned{{d: d, p: p, timeouts: timeouts{firstByte: 10 * time.Second, idle: 10 * time.Second}}}}, nil
	}
	req := userReq("p/big")
	req.Stream = true
	b.ReportAllocs()
	for range b.N {
		p.gotReqs = p.gotReqs[:0]
		st, _, err := svc.ChatStream(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for st.Next() {
			n++
		}
		if err := st.Err(); err != nil || n != 103 {
			b.Fatalf("relayed %d chunks, err %v; want 103", n, err)
		}
		st.Close()
	}
}
