package h1

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkRoundTrip compares h1 with net/http's Transport over loopback:
// a small JSON POST and its answer, from 32 goroutines (as a gateway under
// load calls), so ns/op is the machine's time per request, the server's
// work included.
func BenchmarkRoundTrip(b *testing.B) {
	answer := strings.Repeat("x", 400)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, answer)
	}))
	defer srv.Close()
	body := strings.Repeat("y", 600)
	for name, tr := range map[string]http.RoundTripper{
		"h1":       &Transport{},
		"net-http": &http.Transport{MaxIdleConnsPerHost: 64},
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(16)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL, strings.NewReader(body))
					resp, err := tr.RoundTrip(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		})
	}
}
