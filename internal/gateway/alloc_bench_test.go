package gateway

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/cancelctx"
	"github.com/octomesh/octomesh/internal/limit"
	"github.com/octomesh/octomesh/internal/meter"
	"github.com/octomesh/octomesh/internal/router"
	"github.com/octomesh/octomesh/internal/sqlite"
)

// The benchmarks here run the gateway as the default configuration does
// (router, meter with in-memory counters, logging at info) against a
// provider that allocates as little as it can, so that allocs/op is the
// gateway's own per-request cost (plus the meter's and router's).

// benchProvider answers with a copy of resp, or streams chunks.
type benchProvider struct {
	resp   octomesh.ChatResponse
	usage  octomesh.Usage
	chunks []octomesh.Chunk
}

func (p *benchProvider) ID() string { return "p" }

func (p *benchProvider) Chat(context.Context, *octomesh.ChatRequest) (*octomesh.ChatResponse, error) {
	r := &benchResp{resp: p.resp, usage: p.usage}
	r.resp.Usage = &r.usage
	return &r.resp, nil
}

type benchResp struct {
	resp  octomesh.ChatResponse
	usage octomesh.Usage
}

func (p *benchProvider) ChatStream(context.Context, *octomesh.ChatRequest) (octomesh.ChatStream, error) {
	return &benchStream{chunks: p.chunks}, nil
}

// benchStream reuses one chunk, as the real decoders do.
type benchStream struct {
	chunks []octomesh.Chunk
	i      int
	cur    octomesh.Chunk
}

func (s *benchStream) Next() bool {
	if s.i >= len(s.chunks) {
		return false
	}
	s.cur = s.chunks[s.i]
	s.i++
	return true
}
func (s *benchStream) Chunk() *octomesh.Chunk { return &s.cur }
func (s *benchStream) Err() error             { return nil }
func (s *benchStream) Close() error           { return nil }

// nopHandler is enabled at every level and drops records: the cost of
// building a log record stays in the measurement.
type nopHandler struct{}

func (nopHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (nopHandler) Handle(context.Context, slog.Record) error { return nil }
func (h nopHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h nopHandler) WithGroup(string) slog.Handler           { return h }

type nopLedger struct{}

func (nopLedger) Write(context.Context, ...octomesh.LedgerEntry) error { return nil }

func benchService(b *testing.B, p *benchProvider) (*Service, context.Context) {
	b.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "m.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.CreateOrg(ctx, &octomesh.Org{ID: rigOrg, Name: rigOrg}, &octomesh.User{ID: "usr_rev", Name: "Owner"}, nil); err != nil {
		b.Fatal(err)
	}
	m := meter.New(meter.Options{Counters: limit.NewMemory(nil), Ledger: nopLedger{}, Store: db})
	deps := []octomesh.Deployment{
		{Name: "mock/gpt", Provider: "p", UpstreamModel: "gpt-4o-mini", ContextWindow: 128000, MaxOutputTokens: 16384,
			Capabilities: octomesh.Capabilities{Tools: true, JSONSchema: true, Streaming: true}, Price: rigPrice},
		{Name: "mock/claude", Provider: "p", UpstreamModel: "claude", ContextWindow: 200000, MaxOutputTokens: 64000,
			Capabilities: octomesh.Capabilities{Tools: true, JSONSchema: true, Streaming: true}, Price: rigPrice},
	}
	rt, err := router.New(router.Config{Deployments: deps})
	if err != nil {
		b.Fatal(err)
	}
	cat, err := NewCatalog(deps, nil)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := New(Options{Catalog: cat, Providers: map[string]octomesh.Provider{"p": p},
		Router: rt, Meter: m, Logger: slog.New(nopHandler{})})
	if err != nil {
		b.Fatal(err)
	}
	pr := &octomesh.Principal{OrgID: rigOrg, KeyID: "key_rev", Role: octomesh.RoleMember}
	return svc, octomesh.WithPrincipal(ctx, pr)
}

func benchChatRequest() *octomesh.ChatRequest {
	return &octomesh.ChatRequest{Model: "mock/gpt", Messages: []octomesh.Message{
		{Role: octomesh.RoleUser, Content: octomesh.TextContent("Say hello.")}}}
}

// BenchmarkChatRouted is one non-streaming request through the whole
// gateway pipeline.
func BenchmarkChatRouted(b *testing.B) {
	p := &benchProvider{resp: octomesh.ChatResponse{ID: "r", Object: "chat.completion", Model: "gpt-4o-mini",
		Choices: []octomesh.Choice{{Message: octomesh.Message{Role: "assistant", Content: octomesh.TextContent("hello")}, FinishReason: "stop"}}},
		usage: octomesh.Usage{PromptTokens: 10, CompletionTokens: 2, TotalTokens: 12}}
	svc, base := benchService(b, p)
	req := benchChatRequest()
	b.ReportAllocs()
	for b.Loop() {
		ctx := cancelctx.New(base) // as h1server gives a request
		_, _, err := svc.Chat(ctx, req)
		ctx.Cancel(nil)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChatStreamRouted is one streaming request of 20 content
// chunks through the whole gateway pipeline.
func BenchmarkChatStreamRouted(b *testing.B) {
	chunks := []octomesh.Chunk{{ID: "s", Model: "up", Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Role: "assistant"}}}}}
	for range 20 {
		chunks = append(chunks, octomesh.Chunk{ID: "s", Model: "up", Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Content: "word "}}}})
	}
	chunks = append(chunks, octomesh.Chunk{ID: "s", Model: "up", Choices: []octomesh.ChunkChoice{{FinishReason: "stop"}}},
		octomesh.Chunk{ID: "s", Model: "up", Choices: []octomesh.ChunkChoice{}, Usage: &octomesh.Usage{PromptTokens: 10, CompletionTokens: 20}})
	svc, base := benchService(b, &benchProvider{chunks: chunks})
	req := benchChatRequest()
	req.Stream = true
	b.ReportAllocs()
	for b.Loop() {
		ctx := cancelctx.New(base) // as h1server gives a request
		st, _, err := svc.ChatStream(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for st.Next() {
			n++
		}
		if err := st.Err(); err != nil || n != 23 {
			b.Fatalf("relayed %d chunks, err %v; want 23", n, err)
		}
		st.Close()
		ctx.Cancel(nil)
	}
}
