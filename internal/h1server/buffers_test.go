package h1server

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
)

// A handler streaming an answer, between two writes, leaves its connection
// holding no buffer: not the read buffer (the request has been read), not
// the head's, not the answer's. 2,000 such streams would otherwise hold
// 10 KiB or more each.
func TestAWaitingStreamHoldsNoBuffers(t *testing.T) {
	flushed := make(chan struct{})
	release := make(chan struct{})
	base, s := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: 1\n\n")
		w.(http.Flusher).Flush()
		flushed <- struct{}{}
		<-release
		io.WriteString(w, "data: 2\n\n")
	}))
	for _, body := range []string{"", `{"stream":true}`} {
		resp, err := http.Post(base+"/s", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(resp.Body)
		if l, _ := br.ReadString('\n'); l != "data: 1\n" {
			t.Fatalf("first event %q", l)
		}
		<-flushed
		s.mu.Lock()
		for c := range s.conns {
			if c.br != nil || c.pend != nil || c.hdr != nil {
				t.Errorf("body %q: between events the connection holds a read buffer %v, a pending one %v, a head one %v",
					body, c.br != nil, c.pend != nil, c.hdr != nil)
			}
		}
		s.mu.Unlock()
		release <- struct{}{}
		rest, _ := io.ReadAll(br)
		resp.Body.Close()
		if !strings.Contains(string(rest), "data: 2") {
			t.Fatalf("rest %q", rest)
		}
	}
}
