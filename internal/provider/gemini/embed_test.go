package gemini

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/octomesh/octomesh"
)

// fakeEmbedder answers batchEmbedContents with one vector per request whose
// single value is the request's position in the whole input, and records
// the batch sizes it saw. drop removes that many vectors from each answer.
func fakeEmbedder(t *testing.T, drop int) (*Client, func() []int) {
	t.Helper()
	var mu sync.Mutex
	var sizes []int
	seen := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req batchEmbedRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		sizes = append(sizes, len(req.Requests))
		var resp batchEmbedResponse
		for range req.Requests[:len(req.Requests)-drop] {
			resp.Embeddings = append(resp.Embeddings, struct {
				Values []float32 `json:"values"`
			}{Values: []float32{float32(seen)}})
			seen++
		}
		mu.Unlock()
		json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(srv.Close)
	c := newTestProvider(t, srv.URL).(*Client)
	return c, func() []int { mu.Lock(); defer mu.Unlock(); return append([]int(nil), sizes...) }
}

func TestEmbedBatches(t *testing.T) {
	c, sizes := fakeEmbedder(t, 0)
	in := make(octomesh.EmbeddingInput, 150)
	for i := range in {
		in[i] = fmt.Sprintf("text %d", i)
	}
	resp, err := c.Embed(context.Background(), &octomesh.EmbeddingRequest{Model: "gemini-embedding-001", Input: in})
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	if got, want := fmt.Sprint(sizes()), "[100 50]"; got != want {
		t.Errorf("batch sizes = %s, want %s", got, want)
	}
	if len(resp.Data) != len(in) {
		t.Fatalf("got %d embeddings, want %d", len(resp.Data), len(in))
	}
	for i, e := range resp.Data {
		if e.Index != i || e.Embedding[0] != float32(i) {
			t.Fatalf("data[%d] = index %d value %v, want index and value %d", i, e.Index, e.Embedding[0], i)
		}
	}
	// "text N": 6 characters below 10, 7 below 100, 8 after: 2 tokens each.
	if got, want := resp.Usage.PromptTokens, 300; got != want {
		t.Errorf("estimated prompt tokens = %d, want %d", got, want)
	}
}

func TestEmbedCountMismatch(t *testing.T) {
	c, _ := fakeEmbedder(t, 1)
	_, err := c.Embed(context.Background(), &octomesh.EmbeddingRequest{Model: "m", Input: octomesh.EmbeddingInput{"a", "b"}})
	if got := octomesh.ErrorCodeOf(err); got != octomesh.EUPSTREAM {
		t.Errorf("error code = %q (err %v), want %q", got, err, octomesh.EUPSTREAM)
	}
}

func TestEmbedRejects(t *testing.T) {
	c, sizes := fakeEmbedder(t, 0)
	zero := 0
	tests := []struct {
		name      string
		req       octomesh.EmbeddingRequest
		wantParam string
	}{
		{"no input", octomesh.EmbeddingRequest{Model: "m"}, "input"},
		{"empty string", octomesh.EmbeddingRequest{Model: "m", Input: octomesh.EmbeddingInput{"a", ""}}, "input[1]"},
		{"zero dimensions", octomesh.EmbeddingRequest{Model: "m", Input: octomesh.EmbeddingInput{"a"}, Dimensions: &zero}, "dimensions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Embed(context.Background(), &tt.req)
			oe := octomesh.AsError(err)
			if oe.Code != octomesh.EINVALID || oe.Param != tt.wantParam {
				t.Errorf("got code %q param %q, want %q %q", oe.Code, oe.Param, octomesh.EINVALID, tt.wantParam)
			}
		})
	}
	if n := len(sizes()); n != 0 {
		t.Errorf("rejected requests made %d upstream calls, want 0", n)
	}
}
