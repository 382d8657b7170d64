package httpapi

import (
	"bytes"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/h1server"
)

// panickyStream yields one chunk, then panics in Next.
type panickyStream struct {
	sliceStream
	closed atomic.Bool // set by the server's goroutine, read by the test's
}

func (p *panickyStream) Close() error { p.closed.Store(true); return nil }

func (p *panickyStream) Next() bool {
	if p.i == 1 {
		panic("relay boom")
	}
	return p.sliceStream.Next()
}

// syncWriter is a buffer safe for a logger's concurrent writes.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestARelaysPanicIsTheAPIs: behind h1server a stream's relay runs after
// ServeHTTP returned (h1server.Continuation), out of its recovery. Its
// panic is still logged by the API, at ERROR with the request id, and
// the answer is cut, never ended as if complete; the stream is closed.
func TestARelaysPanicIsTheAPIs(t *testing.T) {
	for _, c := range []struct{ path, body string }{
		{"/v1/chat/completions", `{"model":"fake/m","messages":[{"role":"user","content":"hi"}],"stream":true}`},
		{"/v1/messages", okMessages + `,"stream":true}`},
	} {
		t.Run(c.path, func(t *testing.T) {
			var logged syncWriter
			var st *panickyStream
			svc := &fakeService{open: func() octomesh.ChatStream {
				st = &panickyStream{sliceStream: sliceStream{chunks: []octomesh.Chunk{
					{ID: "c", Model: "fake/m", Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Role: "assistant", Content: "Hel"}}}},
					{ID: "c", Model: "fake/m", Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Content: "lo"}}}},
				}}}
				return st
			}}
			s := New(Options{Service: svc, Auth: fakeAuth{}, MaxBodyBytes: 4096, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			h1 := &h1server.Server{Handler: s, ReadTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
			go h1.Serve(ln)
			defer h1.Close()
			req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+c.path, strings.NewReader(c.body))
			req.Header.Set("Authorization", "Bearer "+testKey)
			req.Header.Set("X-Api-Key", testKey)
			req.Header.Set("X-Request-Id", "req-boom")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil || strings.Contains(string(body), "[DONE]") || strings.Contains(string(body), "message_stop") {
				t.Errorf("body %q, read error %v; want the answer cut", body, rerr)
			}
			out := logged.String()
			if !strings.Contains(out, "level=ERROR msg=panic") || !strings.Contains(out, "req-boom") || !strings.Contains(out, "relay boom") {
				t.Errorf("API log %q; want an ERROR panic record with the request id and the stack", out)
			}
			if st == nil || !st.closed.Load() {
				t.Error("the panicking stream was not closed")
			}
		})
	}
}
