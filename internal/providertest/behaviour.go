package providertest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
)

// RunStreamBehaviour checks what every streaming adapter must do, using the
// successful streaming case in caseDir (its request.json and upstream_response):
//
//   - a stream cut before the provider's terminating event ends with an
//     EUPSTREAM error, never as a complete answer;
//   - cancelling the context mid-stream ends the stream promptly and closes
//     the upstream connection;
//   - Close mid-stream closes the upstream connection, and a second Close is harmless.
func RunStreamBehaviour(t *testing.T, caseDir string, newProvider Factory) {
	t.Helper()
	var req octomesh.ChatRequest
	readJSON(t, filepath.Join(caseDir, "request.json"), &req)
	if !req.Stream {
		t.Fatalf("%s is not a streaming case", caseDir)
	}
	full := mustRead(t, filepath.Join(caseDir, "upstream_response"))
	events := splitEvents(full)
	if len(events) < 3 {
		t.Fatalf("%s: need at least 3 SSE events, have %d", caseDir, len(events))
	}

	t.Run("truncated", func(t *testing.T) {
		// Everything but the last two events: the terminator never arrives.
		cut := bytes.Join(events[:len(events)-2], nil)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write(cut)
		}))
		defer srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := collect(ctx, newProvider(t, srv.URL), &req)
		if got := octomesh.ErrorCodeOf(err); got != octomesh.EUPSTREAM {
			t.Fatalf("truncated stream: error code %q (err %v), want %q", got, err, octomesh.EUPSTREAM)
		}
	})

	for _, how := range []string{"cancel", "close"} {
		t.Run(how, func(t *testing.T) {
			gone := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				w.Write(events[0])
				if len(events) > 2 {
					w.Write(events[1])
				}
				w.(http.Flusher).Flush()
				<-r.Context().Done() // hold the stream open until the client leaves
				close(gone)
			}))
			defer srv.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s, err := newProvider(t, srv.URL).ChatStream(ctx, &req)
			if err != nil {
				t.Fatalf("ChatStream: %v", err)
			}
			if !s.Next() {
				t.Fatalf("no first chunk: %v", s.Err())
			}
			done := make(chan bool, 1)
			switch how {
			case "cancel":
				go func() {
					for s.Next() {
					}
					done <- true
				}()
				cancel()
				select {
				case <-done:
				case <-time.After(time.Second):
					t.Fatal("Next did not return within 1s of cancellation")
				}
				s.Close()
			case "close":
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
				s.Close()
			}
			select {
			case <-gone:
			case <-time.After(time.Second):
				t.Fatal("upstream connection still open 1s after the stream was abandoned")
			}
		})
	}
}

// splitEvents splits an SSE body into events, each keeping its trailing blank line.
func splitEvents(b []byte) [][]byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	var out [][]byte
	for len(b) > 0 {
		i := bytes.Index(b, []byte("\n\n"))
		if i < 0 {
			out = append(out, b)
			break
		}
		out = append(out, b[:i+2])
		b = b[i+2:]
	}
	return out
}
