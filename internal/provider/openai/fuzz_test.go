package openai

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/octomesh/octomesh"
)

// addGoldenSeeds adds every upstream_response under testdata whose name
// matches the case prefix as a fuzz seed.
func addGoldenSeeds(f *testing.F, prefix string) {
	f.Helper()
	paths, _ := filepath.Glob(filepath.Join("testdata", "golden*", prefix+"*", "upstream_response"))
	if len(paths) == 0 {
		f.Fatalf("no %s* seeds found", prefix)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzStreamBody feeds arbitrary bytes to the stream parser as the SSE body.
// It must never panic, never yield a chunk outside the canonical shape, and
// never end cleanly without [DONE].
func FuzzStreamBody(f *testing.F) {
	addGoldenSeeds(f, "stream_")
	f.Add([]byte(roleEvt + doneEvt))
	f.Add([]byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"function\":{}}]}}]}\n\ndata: [DONE]\n\n"))
	f.Add([]byte("event: error\ndata: {\"error\":{\"code\":503}}\n\n"))
	f.Add([]byte("data: {\"object\":\"error\",\"code\":\"x\"}\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		s := newStream(context.Background(), func() {}, "fuzz", io.NopCloser(bytes.NewReader(body)))
		sawUsage := false
		for s.Next() {
			c := s.Chunk()
			if sawUsage {
				t.Fatal("a chunk followed the usage chunk")
			}
			if c.Object != octomesh.ObjectChatCompletionChunk {
				t.Fatalf("chunk object %q", c.Object)
			}
			switch {
			case c.Usage != nil:
				if len(c.Choices) != 0 {
					t.Fatal("usage chunk with choices")
				}
				sawUsage = true
			case len(c.Choices) == 0:
				t.Fatal("chunk with neither choices nor usage")
			}
			for _, ch := range c.Choices {
				for _, tc := range ch.Delta.ToolCalls {
					if tc.Index == nil {
						t.Fatal("tool call delta without index")
					}
				}
			}
		}
		if s.Next() {
			t.Fatal("Next returned true after the end")
		}
		err := s.Err()
		if err == nil {
			if !bytes.Contains(body, []byte(doneMarker)) {
				t.Fatal("stream ended cleanly without [DONE]")
			}
			return
		}
		var oe *octomesh.Error
		if !errors.As(err, &oe) {
			t.Fatalf("error %T %v is not an *octomesh.Error", err, err)
		}
		if oe.Message == "" || !oe.Code.Retryable() && oe.Code != octomesh.EINVALID && oe.Code != octomesh.ECONTEXTLENGTH &&
			oe.Code != octomesh.ECONTENTFILTER && oe.Code != octomesh.ETOOLARGE {
			t.Fatalf("unexpected error %v", err)
		}
		s.Close()
	})
}

// FuzzDecodeChatResponse feeds arbitrary bytes as a non-streaming body.
func FuzzDecodeChatResponse(f *testing.F) {
	addGoldenSeeds(f, "chat_")
	f.Add([]byte(`{"error":{"code":429}}`))
	f.Add([]byte(`{"object":"error"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := decodeChatResponse("fuzz", body)
		if err != nil {
			var oe *octomesh.Error
			if !errors.As(err, &oe) || oe.Message == "" {
				t.Fatalf("error %T %v is not a client-safe *octomesh.Error", err, err)
			}
			return
		}
		if len(r.Choices) == 0 || r.Object != octomesh.ObjectChatCompletion {
			t.Fatalf("accepted a response without choices or with object %q", r.Object)
		}
	})
}
