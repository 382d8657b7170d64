package gateway

import (
	"context"
	"testing"

	"github.com/octomesh/octomesh"
)

// bufferedChunks is a provider stream whose chunks have all been received:
// Buffered reports what is left, as an SSE reader does when an upstream's
// events arrived in one read.
type bufferedChunks struct{ chunkStream }

func (b *bufferedChunks) Buffered() int { return len(b.chunks) - b.i }

type bufferedProvider struct{ scripted }

func (p *bufferedProvider) ChatStream(_ context.Context, req *octomesh.ChatRequest) (octomesh.ChatStream, error) {
	return &bufferedChunks{chunkStream{chunks: append([]octomesh.Chunk(nil), p.chunks...)}}, nil
}

// When the upstream's whole answer is in hand, the gateway's stream reports
// a chunk waiting after every chunk but the last, including after the
// final usage chunk it emits itself: a relay flushes only when Buffered is
// 0, and each needless flush is one more write system call per stream.
func TestStreamReportsBufferedUntilTheEnd(t *testing.T) {
	p := &bufferedProvider{scripted{id: "p", chunks: streamChunks(&octomesh.Usage{PromptTokens: 10, CompletionTokens: 5})}}
	cat, err := NewCatalog(testDeployments(), nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Options{Catalog: cat, Providers: map[string]octomesh.Provider{"p": p}})
	if err != nil {
		t.Fatal(err)
	}
	req := userReq("p/big")
	req.Stream = true
	st, _, err := svc.ChatStream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b, ok := st.(octomesh.BufferedStream)
	if !ok {
		t.Fatalf("%T does not report Buffered", st)
	}
	var n int
	for st.Next() {
		n++
		if c := st.Chunk(); c.Usage != nil && len(c.Choices) == 0 {
			if b.Buffered() == 0 {
				t.Errorf("after the final usage chunk (chunk %d): Buffered 0, want > 0: the end of the stream is here", n)
			}
			continue
		}
		if b.Buffered() == 0 {
			t.Errorf("after chunk %d: Buffered 0 with the upstream's answer in hand", n)
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("%d chunks, want 4", n)
	}
}
