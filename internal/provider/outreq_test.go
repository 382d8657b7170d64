package provider

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"reflect"
	"testing"
)

// The request PostBytesURL sends is the one http.NewRequestWithContext
// builds, field for field, and its GetBody reads the whole body again.
func TestOutRequestIsNewRequests(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, 1)
	for _, raw := range []string{"http://h:8080/v1/chat/completions?api-version=2", "https://h:/v1", "http://[::1]:80/x%2Fy"} {
		for _, body := range [][]byte{[]byte(`{"model":"m"}`), nil} {
			want, err := http.NewRequestWithContext(ctx, http.MethodPost, raw, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			u, err := ParseURL(raw)
			if err != nil {
				t.Fatal(err)
			}
			got := newOutRequest(ctx, u, body, nil, http.Header{})
			if !reflect.DeepEqual(got.URL, want.URL) || got.URL == u || got.Host != want.Host || got.Method != want.Method ||
				got.Proto != want.Proto || got.ProtoMajor != want.ProtoMajor || got.ProtoMinor != want.ProtoMinor ||
				got.ContentLength != want.ContentLength || got.Context() != ctx || (got.Body == http.NoBody) != (want.Body == http.NoBody) {
				t.Fatalf("%s %q: got %+v, want %+v", raw, body, got, want)
			}
			for range 2 {
				gb, _ := got.GetBody()
				b, _ := io.ReadAll(gb)
				if !bytes.Equal(b, body) {
					t.Fatalf("GetBody read %q, want %q", b, body)
				}
			}
			b, _ := io.ReadAll(got.Body)
			if !bytes.Equal(b, body) || got.Body.Close() != nil {
				t.Fatalf("Body read %q, want %q", b, body)
			}
		}
	}
}
