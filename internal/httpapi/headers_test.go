package httpapi

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/h1server"
)

// Behind h1server, headers are set through its SetHeaderValue; behind
// net/http, through Header().Set. Clients must see the same answers.
func TestHeadersAreTheSameBehindEitherServer(t *testing.T) {
	svc := &fakeService{chunks: []octomesh.Chunk{{ID: "c", Object: "chat.completion.chunk", Model: "fake/m",
		Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Content: "hi"}}}}}}
	s := newTestServer(t, svc)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h1 := &h1server.Server{Handler: s, ReadTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go h1.Serve(ln)
	defer h1.Close()
	std := httptest.NewServer(s)
	defer std.Close()

	get := func(base, body string) (http.Header, string) {
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testKey)
		req.Header.Set("X-Request-Id", "req-fixed")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		resp.Header.Del("Date")
		for k := range resp.Trailer {
			resp.Header["Trailer:"+k] = resp.Trailer[k]
		}
		return resp.Header, string(b)
	}
	for _, body := range []string{
		`{"model":"fake/m","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"fake/m","messages":[{"role":"user","content":"hi"}],"stream":true}`,
		`{"model":1}`, // refused: the error's headers
	} {
		hOurs, bOurs := get("http://"+ln.Addr().String(), body)
		hStd, bStd := get(std.URL, body)
		if bOurs != bStd {
			t.Errorf("%s: bodies differ:\nh1server %q\nnet/http %q", body, bOurs, bStd)
		}
		keys := func(h http.Header) []string {
			var ks []string
			for k, vs := range h {
				ks = append(ks, k+": "+strings.Join(vs, ", "))
			}
			slices.Sort(ks)
			return ks
		}
		if got, want := keys(hOurs), keys(hStd); !slices.Equal(got, want) {
			t.Errorf("%s: headers differ:\nh1server %q\nnet/http %q", body, got, want)
		}
		if hOurs.Get("X-Request-Id") != "req-fixed" {
			t.Errorf("%s: X-Request-Id = %q", body, hOurs.Get("X-Request-Id"))
		}
	}
}
