package openai

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/provider"
)

// What a stream keeps while it waits for its next token is what a gateway
// pays per concurrent stream (2,000 streams of 100 tokens at 50 a second
// are waiting nearly all the time). This counts the live heap the
// provider packages allocated for streams blocked in Next after some
// tokens, by allocation site, the upstream connection included, and
// bounds it.
func TestAWaitingStreamsFootprint(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("heap accounting: not under the race detector")
	}
	const streams, tokens = 200, 40
	per, sites := waitingFootprint(t, streams, tokens)
	t.Logf("%d bytes per waiting stream", per)
	for _, s := range sites {
		t.Logf("%7d  %s", s.bytes/streams, s.name)
	}
	if per > maxWaitingFootprint {
		t.Errorf("a waiting stream holds %d bytes, want at most %d", per, maxWaitingFootprint)
	}
}

// maxWaitingFootprint is what a waiting stream may hold: the stream, its
// current blocks, its event buffer, the request (whose room its response
// body lives in), its connection (net's file descriptor and addresses,
// the pool's persistConn), and its context's watch. (It held 5,566 bytes
// when the body lived in the response's head; 2,564 before it held its
// blocks through the wait weakly, whose two weak pointers' handles are
// 32 bytes; 2,596 before it kept its last token chunk's shape, 160 bytes
// that spare every later token's parse: tokenshape.go; 2,660 before its
// choices were lent, which took the stream from the 1536-byte class to
// the 1408-byte one: 2,516.)
const maxWaitingFootprint = 2600

type site struct {
	name  string
	bytes int64
}

// waitingFootprint opens n streams, reads the role and k tokens of each,
// leaves each blocked in Next, and returns the live bytes per stream that
// the provider packages allocated, and their sites.
func waitingFootprint(t *testing.T, n, k int) (int64, []site) {
	hold := make(chan struct{})
	u := holdingUpstream(t, k, hold)
	waiting := make(chan struct{}, n)
	hc := provider.NewHTTPClient(provider.HTTPOptions{}, false)
	hc.Transport = waitSignal{rt: hc.Transport, waiting: waiting}
	c, err := New(Config{ID: "p", BaseURL: u, APIKey: "sk"}, hc)
	if err != nil {
		t.Fatal(err)
	}
	rate := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	defer func() { runtime.MemProfileRate = rate }()
	ctx := context.Background()
	ss := make([]octomesh.ChatStream, n)
	ended := make(chan struct{}, n)
	for i := range ss {
		s, err := c.ChatStream(ctx, benchRequest())
		if err != nil {
			t.Fatal(err)
		}
		ss[i] = s
		for range 1 + k {
			if !s.Next() {
				t.Fatalf("stream ended early: %v", s.Err())
			}
		}
		go func() {
			s.Next()
			ended <- struct{}{}
		}()
		<-waiting
	}
	for range 3 { // a heap profile is as of two cycles ago
		runtime.GC()
	}
	var recs []runtime.MemProfileRecord
	for {
		m, _ := runtime.MemProfile(nil, false)
		recs = make([]runtime.MemProfileRecord, m+50)
		if m, ok := runtime.MemProfile(recs, false); ok {
			recs = recs[:m]
			break
		}
	}
	bySite := map[string]int64{}
	var total int64
	for _, r := range recs {
		if b := r.InUseBytes(); b > 0 {
			if name, ok := providerSite(r.Stack()); ok {
				bySite[name] += b
				total += b
			}
		}
	}
	close(hold)
	for range ss {
		<-ended
	}
	for _, s := range ss {
		s.Close()
	}
	var sites []site
	for name, b := range bySite {
		if b >= int64(n) {
			sites = append(sites, site{name, b})
		}
	}
	slices.SortFunc(sites, func(a, b site) int { return int(b.bytes - a.bytes) })
	return total / int64(n), sites
}

// providerSite names the allocation whose stack is pcs when the provider
// packages made it, not this test, its upstream or its transport wrapper:
// the first frame of the module, and the function below it that
// allocated, when another.
func providerSite(pcs []uintptr) (string, bool) {
	frames := runtime.CallersFrames(pcs)
	var first, mod string
	for {
		f, more := frames.Next()
		if strings.Contains(f.Function, "holdingUpstream") {
			return "", false
		}
		if first == "" && !strings.HasPrefix(f.Function, "runtime.") {
			first = f.Function
		}
		if mod == "" && strings.Contains(f.Function, "octomesh/internal/provider") {
			mod = f.Function
		}
		if !more {
			break
		}
	}
	switch {
	case mod == "" || strings.Contains(mod, "waitingFootprint") || strings.Contains(first, "waitSignal"):
		return "", false // the test's own
	case first == mod:
		return mod, true
	}
	return mod + " > " + first, true
}

// waitSignal tells, once for every wait of a body for more data, that a
// stream is about to block: what it holds then is what it holds waiting.
type waitSignal struct {
	rt      http.RoundTripper
	waiting chan<- struct{}
}

func (w waitSignal) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := w.rt.RoundTrip(r)
	if err == nil {
		resp.Body = &waitSignalBody{resp.Body, w.waiting}
	}
	return resp, err
}

type waitSignalBody struct {
	io.ReadCloser
	waiting chan<- struct{}
}

func (b *waitSignalBody) Buffered() int {
	return b.ReadCloser.(interface{ Buffered() int }).Buffered()
}

func (b *waitSignalBody) WaitData() {
	if b.Buffered() == 0 {
		b.waiting <- struct{}{}
	}
	b.ReadCloser.(interface{ WaitData() }).WaitData()
}

// holdingUpstream answers each request with a role chunk and k tokens,
// each in a chunk of its own, and then holds the stream open until hold
// is closed, when it ends it.
func holdingUpstream(t *testing.T, k int, hold chan struct{}) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var resp bytes.Buffer
	resp.WriteString(benchHead + "Content-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
	events := bytes.SplitAfter(benchStreamBody(k), []byte("\n\n"))
	for _, ev := range events[:1+k] {
		fmt.Fprintf(&resp, "%x\r\n%s\r\n", len(ev), ev)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				n := 0
				for {
					l, err := br.ReadSlice('\n')
					if err != nil {
						return
					}
					if len(l) <= 2 {
						break
					}
					if k, v, ok := bytes.Cut(l, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
						n, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
					}
				}
				br.Discard(n)
				c.Write(resp.Bytes())
				<-hold
				io.WriteString(c, "0\r\n\r\n")
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/v1"
}
