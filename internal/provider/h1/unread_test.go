package h1

import (
	"context"
	"testing"
)

// TestUnreadBytesAreNotPooled: bytes a server sent past the end of a
// response (a wrong Content-Length, a body after a 204) must not be read
// as the next request's response: that request may be another tenant's.
func TestUnreadBytesAreNotPooled(t *testing.T) {
	for name, first := range map[string]string{
		"past content-length": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"body after 204":      "HTTP/1.1 204 No Content\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			u, conns := rawServer(t, func(ci, ri int) (string, bool) {
				if ci == 1 && ri == 1 {
					return first + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale", false
				}
				return "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh", false
			})
			tr := &Transport{}
			resp, err := post(t, tr, context.Background(), u, "{}")
			if err != nil {
				t.Fatal(err)
			}
			readAll(t, resp)
			resp, err = post(t, tr, context.Background(), u, "{}")
			if err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, resp); got != "fresh" {
				t.Errorf("second response body %q, want %q (read from the first response's leftovers)", got, "fresh")
			}
			if n := conns.Load(); n != 2 {
				t.Errorf("%d connections, want 2 (the first one had unread bytes)", n)
			}
		})
	}
}
