package h1server

import (
	"bufio"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkServe: one keep-alive connection sends a 400-byte JSON POST and
// reads a 300-byte JSON answer, against this server and net/http's, with
// a handler that reads the body and sets two headers as the gateway does.
// The client is a raw connection, so most of the cost is the server's.
//
//	go test -run '^$' -bench Serve -benchmem ./internal/h1server/
func BenchmarkServe(b *testing.B) {
	body := `{"model":"sim/gpt-4o-mini","messages":[{"role":"user","content":"` + strings.Repeat("x", 300) + `"}]}`
	answer := []byte(`{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"` + strings.Repeat("y", 200) + `"}}]}`)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Octomesh-Model", "sim/gpt-4o-mini")
		w.Write(answer)
	})
	req := "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer om_x\r\nContent-Type: application/json\r\n" +
		"User-Agent: bench\r\nAccept: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	for _, engine := range []string{"h1server", "net_http"} {
		b.Run(engine, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			var srv interface{ Close() error }
			if engine == "h1server" {
				s := &Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}
				go s.Serve(ln)
				srv = s
			} else {
				s := &http.Server{Handler: h}
				go s.Serve(ln)
				srv = s
			}
			defer srv.Close()
			exchange(b, ln.Addr().String(), req)
		})
	}
}

// BenchmarkServeContinued is BenchmarkServe's exchange with a handler
// that, as the gateway's streaming handler does, goes 5 KB deep and leaves
// the answer to a continuation (Continue), which goes 2 KB deep, as a
// stream's relay does when it starts the stream. "inline": the
// continuation runs on the handler's goroutine, as the first few in flight
// do; "handed-over": the cost of handing the connection over to a new
// goroutine, with that goroutine's stack growing again under the next
// request's handler, as when many are in flight.
//
//	go test -run '^$' -bench ServeContinued -benchmem ./internal/h1server/
func BenchmarkServeContinued(b *testing.B) {
	b.Run("inline", func(b *testing.B) { benchServeContinued(b, 0) })
	b.Run("handed-over", func(b *testing.B) { benchServeContinued(b, -1) })
}

func benchServeContinued(b *testing.B, inline int) {
	body := `{"model":"sim/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"` + strings.Repeat("x", 300) + `"}]}`
	answer := []byte("data: {\"choices\":[{\"delta\":{\"content\":\"" + strings.Repeat("y", 200) + "\"}}]}\n\ndata: [DONE]\n\n")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		deepFrames(r.URL.Path)
		w.(*response).Continue(continuation(func() {
			relayFrames(r.URL.Path)
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write(answer)
		}))
	})
	req := "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer om_x\r\nContent-Type: application/json\r\n" +
		"User-Agent: bench\r\nAccept: text/event-stream\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := &Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0), inlineContinuations: inline}
	go s.Serve(ln)
	defer s.Close()
	exchange(b, ln.Addr().String(), req)
}

// exchange sends req b.N times on one connection to addr, reading each
// answer to its end: the benchmarks' client.
func exchange(b *testing.B, addr, req string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := io.WriteString(c, req); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

type continuation func()

func (k continuation) Continue() { k() }

// relayFrames uses about 2 KB of stack, as a stream's start does under
// its relay.
//
//go:noinline
func relayFrames(s string) int {
	var room [2 << 10]byte
	for i := range room {
		room[i] = s[i%len(s)]
	}
	n := 0
	for _, c := range room {
		n += int(c)
	}
	return n
}

// deepFrames uses about 5 KB of stack, as the gateway's request path does.
//
//go:noinline
func deepFrames(s string) int {
	var room [5 << 10]byte
	for i := range room {
		room[i] = s[i%len(s)]
	}
	n := 0
	for _, c := range room {
		n += int(c)
	}
	return n
}
