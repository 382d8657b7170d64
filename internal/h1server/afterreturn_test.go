package h1server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// A goroutine a handler left behind cannot write into the connection's
// buffers once the handler returned: they are lent to the next answer by
// then (here, the next request's on the same connection).
func TestWritesAfterTheHandlerReturnedAreRefused(t *testing.T) {
	late := make(chan http.ResponseWriter, 1)
	errs := make(chan error, 1)
	base, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/first" {
			late <- w // kept past the handler's return, as a leaked goroutine would
			io.WriteString(w, "first")
			return
		}
		io.WriteString(w, "second")
	}))
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	get := func(path string) string {
		io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := get("/first"); got != "first" {
		t.Fatalf("first answer %q", got)
	}
	w := <-late
	go func() {
		_, err := io.WriteString(w, "LEAK")
		if err == nil {
			err = http.NewResponseController(w).Flush()
		}
		errs <- err
	}()
	if err := <-errs; err != errAfterReturn {
		t.Fatalf("a write after the handler returned: %v, want errAfterReturn", err)
	}
	if got := get("/second"); got != "second" {
		t.Fatalf("second answer %q, want it untouched", got)
	}
}
