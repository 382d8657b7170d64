package main

import (
	"bytes"
	"fmt"
	"testing"
)

// The default log batching (log.flush_interval) holds lines back while the
// server runs, and shutdown writes every one of them out.
func TestBatchedLogLinesAllReachTheLogAtShutdown(t *testing.T) {
	ts := startServer(t, serverOptions{logFlush: "10s"})
	const n = 5
	for i := range n {
		body := fmt.Sprintf(`{"model":"sim/gpt-4o-mini","messages":[{"role":"user","content":"hello %d"}]}`, i)
		if status, _, b := ts.rawRequest(t, "POST", "/v1/chat/completions", "application/json", []byte(body)); status != 200 {
			t.Fatalf("request %d: %d %s", i, status, b)
		}
	}
	if got := bytes.Count(ts.Stderr.Bytes(), []byte("msg=request")); got != 0 {
		t.Fatalf("%d request lines reached the log while batching for 10s; want them held back", got)
	}
	ts.stop()
	if got := bytes.Count(ts.Stderr.Bytes(), []byte("msg=request")); got != n {
		t.Fatalf("%d request lines after shutdown, want %d:\n%s", got, n, ts.Stderr.Bytes())
	}
}
