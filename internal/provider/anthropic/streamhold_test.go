package anthropic

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/provider"
)

// markResponses marks each response its transport returns, so that a test
// learns when nothing keeps it any more.
type markResponses struct {
	rt   http.RoundTripper
	gone chan struct{}
}

func (m markResponses) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := m.rt.RoundTrip(r)
	if err == nil {
		runtime.AddCleanup(resp, func(ch chan struct{}) { close(ch) }, m.gone)
	}
	return resp, err
}

// A running stream keeps its response's body, not the response: its head
// (and, through it, the request) is not held while the stream waits.
func TestAStreamHoldsNoResponseHead(t *testing.T) {
	hold := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"claude\",\"usage\":{\"input_tokens\":1,\"output_tokens\":0}}}\n\n")
		w.(http.Flusher).Flush()
		<-hold
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(hold) })
	hc := provider.NewHTTPClient(provider.HTTPOptions{}, false)
	gone := make(chan struct{})
	hc.Transport = markResponses{rt: hc.Transport, gone: gone}
	c, err := New(Config{BaseURL: srv.URL, APIKey: "k", Now: fixedNow}, hc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.ChatStream(context.Background(), &octomesh.ChatRequest{Model: "claude",
		Messages: []octomesh.Message{{Role: octomesh.RoleUser, Content: octomesh.TextContent("hi")}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for done := false; !done; {
		runtime.GC()
		select {
		case <-gone:
			done = true
		case <-time.After(5 * time.Second):
			t.Fatal("the response is still alive while its stream is")
		}
	}
	runtime.KeepAlive(s)
}
