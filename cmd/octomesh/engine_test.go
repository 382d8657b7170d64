package main

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// server.engine picks the inbound server, and both serve the API: the
// gateway's own answers a malformed request in the API's JSON error
// format, net/http's in plain text.
func TestBothServerEnginesServe(t *testing.T) {
	for engine, want := range map[string]string{
		"octomesh": `"code":"malformed_request"`,
		"net/http": "400 Bad Request: missing required Host header",
	} {
		t.Run(strings.ReplaceAll(engine, "/", "_"), func(t *testing.T) {
			ts := startServer(t, serverOptions{engine: engine})
			body := `{"model":"sim/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
			if status, _, b := ts.rawRequest(t, "POST", "/v1/chat/completions", "application/json", []byte(body)); status != 200 {
				t.Fatalf("chat: %d %s", status, b)
			}
			c, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, "GET /health HTTP/1.1\r\n\r\n")
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			got, _ := io.ReadAll(c)
			if !strings.HasPrefix(string(got), "HTTP/1.1 400 ") || !strings.Contains(string(got), want) {
				t.Fatalf("a request without Host got %q, want a 400 with %q", got, want)
			}
		})
	}
}
