package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/octomesh/octomesh"
)

// fakeService is a scriptable ChatService for transport tests.
type fakeService struct {
	chat    func(*octomesh.ChatRequest) (*octomesh.ChatResponse, error)
	chunks  []octomesh.Chunk
	endErr  error // error after the chunks
	openErr error
	open    func() octomesh.ChatStream // when set, opens every stream
	last    *octomesh.ChatRequest
	fwd     [][2]string
}

func (f *fakeService) Chat(ctx context.Context, req *octomesh.ChatRequest) (*octomesh.ChatResponse, *octomesh.Served, error) {
	f.last = req
	f.fwd = octomesh.ForwardHeadersFrom(ctx)
	sv := &octomesh.Served{Model: "fake/m", Provider: "fake", Cost: 1234}
	if f.chat == nil {
		return &octomesh.ChatResponse{ID: "x", Object: "chat.completion", Model: "fake/m", Choices: []octomesh.Choice{{Message: octomesh.Message{Role: "assistant", Content: octomesh.TextContent("ok")}, FinishReason: "stop"}}}, sv, nil
	}
	resp, err := f.chat(req)
	return resp, sv, err
}

func (f *fakeService) ChatStream(ctx context.Context, req *octomesh.ChatRequest) (octomesh.ChatStream, *octomesh.Served, error) {
	f.last = req
	if f.openErr != nil {
		return nil, nil, f.openErr
	}
	if f.open != nil {
		return f.open(), &octomesh.Served{Model: "fake/m", Provider: "fake"}, nil
	}
	return &sliceStream{chunks: f.chunks, err: f.endErr}, &octomesh.Served{Model: "fake/m", Provider: "fake"}, nil
}

func (f *fakeService) Embed(ctx context.Context, req *octomesh.EmbeddingRequest) (*octomesh.EmbeddingResponse, *octomesh.Served, error) {
	return &octomesh.EmbeddingResponse{Object: "list", Model: "fake/e", Data: []octomesh.Embedding{{Object: "embedding", Embedding: []float32{1, 0.5}}}, Usage: octomesh.Usage{PromptTokens: 2}}, &octomesh.Served{Model: "fake/e", Provider: "fake"}, nil
}

func (f *fakeService) Models(context.Context) []*octomesh.Deployment {
	return []*octomesh.Deployment{{Name: "fake/m", Provider: "fake"}}
}

func (f *fakeService) Model(_ context.Context, name string) (*octomesh.Deployment, error) {
	if name == "fake/m" {
		return &octomesh.Deployment{Name: "fake/m", Provider: "fake"}, nil
	}
	return nil, octomesh.Errorf(octomesh.ENOTFOUND, "no such model").WithParam("model")
}

func (f *fakeService) Decision(_ context.Context, id string) (*octomesh.Decision, error) {
	if id == "req-known" {
		return &octomesh.Decision{RequestID: id, Plan: []string{"fake/m"}}, nil
	}
	return nil, octomesh.Errorf(octomesh.ENOTFOUND, "no routing decision")
}

func (f *fakeService) Explain(_ context.Context, req *octomesh.ChatRequest) (*octomesh.Decision, error) {
	f.last = req
	return &octomesh.Decision{Requested: req.Model, Plan: []string{"fake/m"}}, nil
}

type sliceStream struct {
	chunks []octomesh.Chunk
	i      int
	err    error
	closed bool
}

func (s *sliceStream) Next() bool {
	if s.i >= len(s.chunks) {
		return false
	}
	s.i++
	return true
}
func (s *sliceStream) Chunk() *octomesh.Chunk { return &s.chunks[s.i-1] }
func (s *sliceStream) Err() error {
	if s.i >= len(s.chunks) {
		return s.err
	}
	return nil
}
func (s *sliceStream) Close() error { s.closed = true; return nil }

type fakeAuth struct{}

const testKey = "om_test_key_000000000000000000"

func (fakeAuth) Authenticate(_ context.Context, raw string) (*octomesh.Principal, error) {
	if raw == testKey {
		return &octomesh.Principal{KeyID: "k", OrgID: "o", Role: octomesh.RoleMember}, nil
	}
	return nil, octomesh.Errorf(octomesh.EUNAUTHORIZED, "invalid API key")
}

func newTestServer(t *testing.T, svc *fakeService) *Server {
	t.Helper()
	return New(Options{Service: svc, Auth: fakeAuth{}, MaxBodyBytes: 4096})
}

func do(t *testing.T, s *Server, method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+testKey)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			r.Header.Del(hdr[i])
		} else {
			r.Header.Set(hdr[i], hdr[i+1])
		}
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

var _ http.Handler = (*Server)(nil)
