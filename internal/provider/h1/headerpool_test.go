package h1

import (
	"context"
	"io"
	"net/http"
	"testing"
)

// A released header map is reused by a later response with nothing of the
// earlier one's in it; the released response's Header is nil, not the
// later one's; a second release does nothing.
func TestAReleasedHeaderCarriesNothingOver(t *testing.T) {
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Only-"+r.URL.Path[1:], "secret-"+r.URL.Path[1:])
		io.WriteString(w, "body")
	})
	tr := &Transport{}
	var released []*http.Response
	for i, name := range []string{"first", "second", "third", "fourth"} {
		resp, err := post(t, tr, context.Background(), srv.URL+"/"+name, "{}")
		if err != nil {
			t.Fatal(err)
		}
		for k := range resp.Header {
			if k != "Content-Length" && k != "Content-Type" && k != "Date" && k != http.CanonicalHeaderKey("X-Only-"+name) {
				t.Fatalf("response %d (%s) has a header of an earlier one: %s", i, name, k)
			}
		}
		if resp.Header.Get("X-Only-"+name) != "secret-"+name {
			t.Fatalf("response %d: %v", i, resp.Header)
		}
		readAll(t, resp)
		ReleaseHeader(resp)
		ReleaseHeader(resp)
		if resp.Header != nil {
			t.Fatalf("released response %d still has a header", i)
		}
		released = append(released, resp)
	}
	for i, resp := range released {
		if resp.Header != nil {
			t.Fatalf("released response %d has a header again: %v", i, resp.Header)
		}
	}
}
