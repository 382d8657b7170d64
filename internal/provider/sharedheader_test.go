package provider

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/octomesh/octomesh"
)

// A post whose header is complete (JSONHeader) sends it as it is, and no
// post changes an adapter's header: not with forwarded headers merged in,
// not through a client whose cookie jar adds to the request's header.
func TestAJSONHeaderIsSentUnchanged(t *testing.T) {
	got := make(chan http.Header, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		got <- r.Header.Clone()
		http.SetCookie(w, &http.Cookie{Name: "c", Value: "v"})
		io.WriteString(w, "{}")
	}))
	defer srv.Close()
	u, _ := ParseURL(srv.URL + "/v1")
	h := JSONHeader(http.Header{"Authorization": {"Bearer k"}})
	before := h.Clone()
	jar, _ := cookiejar.New(nil)
	withJar := NewHTTPClient(HTTPOptions{}, false)
	withJar.Jar = jar

	for _, tc := range []struct {
		name    string
		ctx     context.Context
		c       *http.Client
		forward string
	}{
		{"shared", context.Background(), NewHTTPClient(HTTPOptions{}, false), ""},
		{"forwarded", octomesh.WithForwardHeaders(context.Background(), [][2]string{{"x-trace", "t1"}, {"Authorization", "no"}}), NewHTTPClient(HTTPOptions{}, false), "t1"},
		{"jar", context.Background(), withJar, ""},
		{"jar again", context.Background(), withJar, ""}, // now with a cookie to add
	} {
		resp, err := PostBytesURL(tc.ctx, tc.c, "p", u, h, []byte(`{}`), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		r := <-got
		if r.Get("Authorization") != "Bearer k" || r.Get("Content-Type") != "application/json" || r.Get("X-Trace") != tc.forward {
			t.Errorf("%s: upstream got %v", tc.name, r)
		}
		if !reflect.DeepEqual(h, before) {
			t.Fatalf("%s: the post changed the adapter's header: %v, was %v", tc.name, h, before)
		}
	}
}
