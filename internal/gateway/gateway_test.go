package gateway

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
)

// scripted is a fake provider that answers from a script and records requests.
type scripted struct {
	id      string
	resp    *octomesh.ChatResponse
	err     error
	chunks  []octomesh.Chunk
	endErr  error
	gotReqs []*octomesh.ChatRequest
}

func (p *scripted) ID() string { return p.id }

func (p *scripted) Chat(_ context.Context, req *octomesh.ChatRequest) (*octomesh.ChatResponse, error) {
	p.gotReqs = append(p.gotReqs, req)
	if p.err != nil {
		return nil, p.err
	}
	r := *p.resp
	return &r, nil
}

func (p *scripted) ChatStream(_ context.Context, req *octomesh.ChatRequest) (octomesh.ChatStream, error) {
	p.gotReqs = append(p.gotReqs, req)
	if p.err != nil {
		return nil, p.err
	}
	return &chunkStream{chunks: append([]octomesh.Chunk(nil), p.chunks...), err: p.endErr}, nil
}

type chunkStream struct {
	chunks []octomesh.Chunk
	i      int
	err    error
	closes int
}

func (s *chunkStream) Next() bool {
	if s.i >= len(s.chunks) {
		return false
	}
	s.i++
	return true
}
func (s *chunkStream) Chunk() *octomesh.Chunk { return &s.chunks[s.i-1] }
func (s *chunkStream) Err() error {
	if s.i >= len(s.chunks) {
		return s.err
	}
	return nil
}
func (s *chunkStream) Close() error { s.closes++; return nil }

var allCaps = octomesh.Capabilities{Tools: true, JSONSchema: true, Vision: true, Streaming: true}

func testDeployments() []octomesh.Deployment {
	return []octomesh.Deployment{
		{Name: "p/big", Provider: "p", UpstreamModel: "big-001", ContextWindow: 100_000, Capabilities: allCaps,
			Price: octomesh.Price{InputPerMTok: 10 * octomesh.Dollar, OutputPerMTok: 30 * octomesh.Dollar}},
		{Name: "p/small", Provider: "p", UpstreamModel: "small-001", ContextWindow: 1_000, MaxOutputTokens: 500,
			Capabilities: octomesh.Capabilities{Streaming: true},
			Price:        octomesh.Price{InputPerMTok: octomesh.Dollar / 10, OutputPerMTok: octomesh.Dollar / 5}},
		{Name: "p/embed", Provider: "p", UpstreamModel: "embed-001", Capabilities: octomesh.Capabilities{Embeddings: true}},
	}
}

func newService(t *testing.T, p *scripted) *Service {
	t.Helper()
	cat, err := NewCatalog(testDeployments(), map[string]string{"smart": "p/big"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Catalog: cat, Providers: map[string]octomesh.Provider{"p": p}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func userReq(model string) *octomesh.ChatRequest {
	return &octomesh.ChatRequest{Model: model, Messages: []octomesh.Message{{Role: "user", Content: octomesh.TextContent("hello")}}}
}

func okResp() *octomesh.ChatResponse {
	return &octomesh.ChatResponse{ID: "r", Object: "chat.completion", Model: "upstream-name",
		Choices: []octomesh.Choice{{Message: octomesh.Message{Role: "assistant", Content: octomesh.TextContent("hi")}, FinishReason: "stop"}},
		Usage:   &octomesh.Usage{PromptTokens: 1000, CompletionTokens: 100, TotalTokens: 1100}}
}

func TestResolveNames(t *testing.T) {
	tests := []struct {
		model        string
		wantUpstream string
		wantServed   string
	}{
		{"p/big", "big-001", "p/big"},
		{"smart", "big-001", "p/big"},         // explicit alias
		{"small-001", "small-001", "p/small"}, // bare upstream name
		{"auto", "small-001", "p/small"},      // cheapest eligible
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			p := &scripted{id: "p", resp: okResp()}
			resp, served, err := newService(t, p).Chat(context.Background(), userReq(tt.model))
			if err != nil {
				t.Fatal(err)
			}
			if got := p.gotReqs[0].Model; got != tt.wantUpstream {
				t.Errorf("upstream model = %q, want %q", got, tt.wantUpstream)
			}
			if served.Model != tt.wantServed || resp.Model != tt.wantServed {
				t.Errorf("served %q / response model %q, want %q", served.Model, resp.Model, tt.wantServed)
			}
		})
	}
}

func TestCallerRequestNotModified(t *testing.T) {
	p := &scripted{id: "p", resp: okResp()}
	req := userReq("smart")
	if _, _, err := newService(t, p).Chat(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if req.Model != "smart" {
		t.Errorf("caller's request model changed to %q", req.Model)
	}
}

func TestPickErrors(t *testing.T) {
	bigPrompt := userReq("p/small")
	bigPrompt.Messages[0].Content = octomesh.TextContent(string(make([]byte, 8000)))
	tools := userReq("p/small")
	tools.Tools = []octomesh.Tool{{Type: "function", Function: octomesh.FunctionDef{Name: "f"}}}
	img := userReq("p/small")
	img.Messages[0].Content = octomesh.Content{Array: true, Parts: []octomesh.Part{{Type: "image_url", ImageURL: &octomesh.ImageURL{URL: "https://x/y.png"}}}}
	maxOut := userReq("p/small")
	n := 600
	maxOut.MaxTokens = &n
	autoTooBig := userReq("auto")
	autoTooBig.Messages[0].Content = octomesh.TextContent(string(make([]byte, 500_000)))
	tests := []struct {
		name      string
		req       *octomesh.ChatRequest
		wantCode  octomesh.ErrorCode
		wantParam string
	}{
		{"unknown", userReq("nope"), octomesh.ENOTFOUND, "model"},
		{"context", bigPrompt, octomesh.ECONTEXTLENGTH, "messages"},
		{"tools", tools, octomesh.EINVALID, "tools"},
		{"vision", img, octomesh.EINVALID, "messages"},
		{"max output", maxOut, octomesh.EINVALID, "max_tokens"},
		{"embedding model for chat", userReq("p/embed"), octomesh.EINVALID, "model"},
		{"auto with nothing eligible", autoTooBig, octomesh.EINVALID, "model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &scripted{id: "p", resp: okResp()}
			_, _, err := newService(t, p).Chat(context.Background(), tt.req)
			e := octomesh.AsError(err)
			if err == nil || e.Code != tt.wantCode || e.Param != tt.wantParam {
				t.Fatalf("err = %v (param %q), want %s on %q", err, e.Param, tt.wantCode, tt.wantParam)
			}
			if len(p.gotReqs) != 0 {
				t.Errorf("the provider was called for an ineligible request")
			}
		})
	}
}

func TestChatCost(t *testing.T) {
	p := &scripted{id: "p", resp: okResp()}
	_, served, err := newService(t, p).Chat(context.Background(), userReq("p/big"))
	if err != nil {
		t.Fatal(err)
	}
	// 1000 × $10/M + 100 × $30/M = $0.01 + $0.003
	if want := octomesh.Money(13_000_000); served.Cost != want {
		t.Errorf("cost = %d, want %d", served.Cost, want)
	}
}

func TestChatEstimatesMissingUsage(t *testing.T) {
	r := okResp()
	r.Usage = nil
	p := &scripted{id: "p", resp: r}
	resp, served, err := newService(t, p).Chat(context.Background(), userReq("p/big"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Usage == nil || resp.Usage.PromptTokens == 0 || resp.Usage.CompletionTokens != 1 || served.Cost == 0 {
		t.Errorf("usage = %+v cost %d, want an estimate", resp.Usage, served.Cost)
	}
}

func TestChatUpstreamErrorPassesThrough(t *testing.T) {
	p := &scripted{id: "p", err: &octomesh.Error{Code: octomesh.ERATELIMITED, Message: "slow"}}
	_, served, err := newService(t, p).Chat(context.Background(), userReq("p/big"))
	if octomesh.ErrorCodeOf(err) != octomesh.ERATELIMITED || served == nil || served.Model != "p/big" {
		t.Errorf("err = %v served = %+v", err, served)
	}
}

func streamChunks(usage *octomesh.Usage) []octomesh.Chunk {
	c := []octomesh.Chunk{
		{ID: "s", Model: "up", Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Role: "assistant"}}}},
		{ID: "s", Model: "up", Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Content: "12345678"}}}},
		{ID: "s", Model: "up", Choices: []octomesh.ChunkChoice{{FinishReason: "stop"}}},
	}
	if usage != nil {
		c = append(c, octomesh.Chunk{ID: "s", Model: "up", Choices: []octomesh.ChunkChoice{}, Usage: usage})
	}
	return c
}

func TestStream(t *testing.T) {
	p := &scripted{id: "p", chunks: streamChunks(&octomesh.Usage{PromptTokens: 1000, CompletionTokens: 100})}
	req := userReq("p/big")
	req.Stream = true
	st, served, err := newService(t, p).ChatStream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for st.Next() {
		if st.Chunk().Model != "p/big" {
			t.Errorf("chunk model %q, want the deployment name", st.Chunk().Model)
		}
		n++
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if n != 4 {
		t.Errorf("got %d chunks, want 4", n)
	}
	if served.Cost != 13_000_000 {
		t.Errorf("cost = %d", served.Cost)
	}
}

func TestStreamCutIsBilledForWhatWasRelayed(t *testing.T) {
	chunks := streamChunks(nil)[:2] // role + 8 bytes of content, then the cut
	p := &scripted{id: "p", chunks: chunks, endErr: &octomesh.Error{Code: octomesh.EUPSTREAM, Message: "cut"}}
	req := userReq("p/big")
	req.Stream = true
	st, served, err := newService(t, p).ChatStream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for st.Next() {
	}
	if octomesh.ErrorCodeOf(st.Err()) != octomesh.EUPSTREAM {
		t.Errorf("Err = %v", st.Err())
	}
	st.Close()
	// Estimate: prompt tokens from the request, 2 output tokens for 8 bytes.
	want := octomesh.Price{InputPerMTok: 10 * octomesh.Dollar, OutputPerMTok: 30 * octomesh.Dollar}.Cost(
		octomesh.Usage{PromptTokens: req.EstimateTokens(), CompletionTokens: 2})
	if served.Cost != want {
		t.Errorf("cost = %d, want %d", served.Cost, want)
	}
}

func TestStreamFailureBeforeFirstChunkIsAnError(t *testing.T) {
	p := &scripted{id: "p", endErr: &octomesh.Error{Code: octomesh.EOVERLOADED, Message: "busy"}}
	req := userReq("p/big")
	req.Stream = true
	_, _, err := newService(t, p).ChatStream(context.Background(), req)
	if octomesh.ErrorCodeOf(err) != octomesh.EOVERLOADED {
		t.Errorf("err = %v, want EOVERLOADED", err)
	}
}

func TestCatalogErrors(t *testing.T) {
	d := testDeployments()
	if _, err := NewCatalog(append(d, d[0]), nil); err == nil {
		t.Error("duplicate names: want error")
	}
	if _, err := NewCatalog(d, map[string]string{"x": "missing"}); err == nil {
		t.Error("dangling alias: want error")
	}
	if _, err := NewCatalog([]octomesh.Deployment{{Name: "auto"}}, nil); err == nil {
		t.Error("reserved name: want error")
	}
	cat, _ := NewCatalog(d, nil)
	if _, err := New(Options{Catalog: cat, Providers: map[string]octomesh.Provider{}}); err == nil {
		t.Error("missing provider: want error")
	}
}

// hanging is a provider that never answers, like a silent upstream.
type hanging struct{ scripted }

func (h *hanging) Chat(ctx context.Context, req *octomesh.ChatRequest) (*octomesh.ChatResponse, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestUpstreamTimeout(t *testing.T) {
	cat, _ := NewCatalog(testDeployments(), nil)
	s, err := New(Options{Catalog: cat, Providers: map[string]octomesh.Provider{"p": &hanging{scripted{id: "p"}}}, UpstreamTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, _, err = s.Chat(context.Background(), userReq("p/big"))
	if octomesh.ErrorCodeOf(err) != octomesh.ETIMEOUT || octomesh.AsError(err).Provider != "p" {
		t.Errorf("err = %v, want a provider ETIMEOUT", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v", el)
	}
	// A caller that goes away is not a provider timeout.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err = s.Chat(ctx, userReq("p/big"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: err = %v", err)
	}
}
