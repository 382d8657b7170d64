package httpapi

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/h1server"
)

// preparingService is a fake whose streams come prepared (a
// StreamPreparer, as the gateway is): Start succeeds, fails or panics.
type preparingService struct {
	*fakeService
	mode      string // "ok", "err" or "panic"
	started   atomic.Int32
	abandoned atomic.Int32
}

type preparedFake struct {
	svc    *preparingService
	served *octomesh.Served
}

func (p *preparingService) PrepareStream(context.Context, *octomesh.ChatRequest) (octomesh.PreparedStream, *octomesh.Served, error) {
	sv := &octomesh.Served{Model: "fake/first", Provider: "fake"}
	return &preparedFake{svc: p, served: sv}, sv, nil
}

func (ps *preparedFake) Start() (octomesh.ChatStream, error) {
	ps.svc.started.Add(1)
	switch ps.svc.mode {
	case "panic":
		panic("start failed unexpectedly")
	case "err":
		ps.served.Route = "fake/first:error"
		return nil, octomesh.Errorf(octomesh.EUPSTREAM, "every candidate failed")
	}
	ps.served.Model, ps.served.Route = "fake/m", "fake/m:streaming"
	return &sliceStream{chunks: []octomesh.Chunk{{ID: "c", Model: "fake/m",
		Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Role: "assistant", Content: "Hi"}}}}}}, nil
}

func (ps *preparedFake) Abandon() { ps.svc.abandoned.Add(1) }

// With a StreamPreparer, the relay starts the stream: behind h1server (a
// continuation on a goroutine of its own) and behind net/http (inline),
// in both formats, the answer's head is the stream's when Start succeeds,
// and the error's status and body when it fails or panics; a started
// stream is never abandoned.
func TestTheRelayStartsAPreparedStream(t *testing.T) {
	for _, engine := range []string{"h1server", "net/http"} {
		for _, api := range []struct{ path, body, errShape string }{
			{"/v1/chat/completions", `{"model":"fake/m","messages":[{"role":"user","content":"hi"}],"stream":true}`, `{"error":{`},
			{"/v1/messages", okMessages + `,"stream":true}`, `{"type":"error","error":{`},
		} {
			for _, mode := range []string{"ok", "err", "panic"} {
				t.Run(engine+api.path+"/"+mode, func(t *testing.T) {
					svc := &preparingService{fakeService: &fakeService{}, mode: mode}
					base := serveOn(t, engine, New(Options{Service: svc, Auth: fakeAuth{}, MaxBodyBytes: 4096}))
					status, header, body := post(t, base+api.path, api.body)
					if svc.started.Load() != 1 || svc.abandoned.Load() != 0 {
						t.Errorf("started %d, abandoned %d; want 1 and 0", svc.started.Load(), svc.abandoned.Load())
					}
					switch mode {
					case "ok":
						if status != http.StatusOK || header.Get("Content-Type") != "text/event-stream" || !strings.Contains(body, "Hi") {
							t.Errorf("status %d, content type %q, body %q; want 200, an event stream with the text", status, header.Get("Content-Type"), body)
						}
						if header.Get("X-Octomesh-Model") != "fake/m" || header.Get("X-Octomesh-Route") != "fake/m:streaming" {
							t.Errorf("model %q, route %q; want Start's fake/m and fake/m:streaming", header.Get("X-Octomesh-Model"), header.Get("X-Octomesh-Route"))
						}
					case "err":
						if status != http.StatusBadGateway || !strings.HasPrefix(body, api.errShape) || !strings.Contains(body, "every candidate failed") {
							t.Errorf("status %d, body %q; want 502 and the error in the API's format", status, body)
						}
						if header.Get("X-Octomesh-Model") != "fake/first" || header.Get("X-Octomesh-Route") != "fake/first:error" {
							t.Errorf("model %q, route %q; want fake/first and fake/first:error", header.Get("X-Octomesh-Model"), header.Get("X-Octomesh-Route"))
						}
					case "panic":
						if status != http.StatusInternalServerError || !strings.HasPrefix(body, api.errShape) {
							t.Errorf("status %d, body %q; want 500 and the error in the API's format", status, body)
						}
						// The server goes on serving.
						svc.mode = "ok"
						if status, _, _ := post(t, base+api.path, api.body); status != http.StatusOK {
							t.Errorf("after the panic: status %d, want 200", status)
						}
					}
				})
			}
		}
	}
}

// serveOn serves h on a loopback listener with the named engine.
func serveOn(t *testing.T, engine string, h http.Handler) string {
	t.Helper()
	if engine == "net/http" {
		hs := httptest.NewUnstartedServer(h)
		hs.Config.ErrorLog = log.New(io.Discard, "", 0)
		hs.Start()
		t.Cleanup(hs.Close)
		return hs.URL
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &h1server.Server{Handler: h, ReadTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return "http://" + ln.Addr().String()
}

// post sends body to url with the test key and returns the answer.
func post(t *testing.T, url, body string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Anthropic-Version", "2023-06-01")
	cl := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer cl.CloseIdleConnections()
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}
