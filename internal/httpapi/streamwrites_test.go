package httpapi

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/octomesh/octomesh"
)

// bufferedStream is a sliceStream whose remaining chunks are all "already
// received", as when an upstream's events arrive in one read.
type bufferedStream struct{ sliceStream }

func (b *bufferedStream) Buffered() int { return len(b.chunks) - b.i }

// writeCounter counts the Write calls, each one system call, on the
// connections of a listener.
type writeCounter struct {
	net.Listener
	writes atomic.Int64
}

func (l *writeCounter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	return countedConn{c, &l.writes}, err
}

type countedConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countedConn) Write(p []byte) (int, error) { c.n.Add(1); return c.Conn.Write(p) }

// A stream whose events are all in hand goes out in one write: the head,
// every event, the end of the body and the cost trailer. Each further flush
// would be one more system call on the gateway's hottest path.
func TestStreamEndsWithoutAnExtraFlush(t *testing.T) {
	chunks := []octomesh.Chunk{
		{ID: "c", Model: "fake/m", Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Role: "assistant"}}}},
		{ID: "c", Model: "fake/m", Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Content: "Hel"}}}},
		{ID: "c", Model: "fake/m", Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Content: "lo"}}}},
		{ID: "c", Model: "fake/m", Choices: []octomesh.ChunkChoice{{FinishReason: "stop"}}},
		{ID: "c", Model: "fake/m", Choices: []octomesh.ChunkChoice{}, Usage: &octomesh.Usage{PromptTokens: 5, CompletionTokens: 2}},
	}
	svc := &fakeService{open: func() octomesh.ChatStream { return &bufferedStream{sliceStream{chunks: chunks}} }}
	ts := httptest.NewUnstartedServer(newTestServer(t, svc))
	lc := &writeCounter{Listener: ts.Listener}
	ts.Listener = lc
	ts.Start()
	defer ts.Close()

	for _, c := range []struct{ path, body, end string }{
		{"/v1/chat/completions", `{"model":"fake/m","messages":[{"role":"user","content":"hi"}],"stream":true}`, "data: [DONE]"},
		{"/v1/messages", okMessages + `,"stream":true}`, "event: message_stop"},
	} {
		lc.writes.Store(0)
		req, _ := http.NewRequest("POST", ts.URL+c.path, strings.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer "+testKey)
		req.Header.Set("X-Api-Key", testKey)
		req.Close = true
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), c.end) || !strings.Contains(string(body), "lo") {
			t.Fatalf("%s: %d %s", c.path, resp.StatusCode, body)
		}
		if resp.Trailer.Get("X-Octomesh-Cost-Usd") == "" {
			t.Errorf("%s: no cost trailer", c.path)
		}
		if n := lc.writes.Load(); n != 1 {
			t.Errorf("%s: %d writes to the connection, want 1", c.path, n)
		}
	}
}
