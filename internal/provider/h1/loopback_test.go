package h1

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
)

// serveRequests serves loopback connections, each on a goroutine of its
// own: it reads their requests one after another, discards each body and
// lets answer write the response. It returns the server's base URL; the
// listener closes when the test ends.
func serveRequests(t *testing.T, answer func(c net.Conn, req *http.Request)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					answer(c, req)
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}
