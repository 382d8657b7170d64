package h1

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// lateConn is a connection on which moving the deadline comes too late for
// a read already under way: its data arrived just before. (On a real
// connection that is a race; here it is made certain.)
type lateConn struct {
	net.Conn
	mu     sync.Mutex
	closed bool
}

func (c *lateConn) SetDeadline(time.Time) error     { return nil }
func (c *lateConn) SetReadDeadline(time.Time) error { return nil }
func (c *lateConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return c.Conn.Close()
}
func (c *lateConn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// TestCloseDuringASuccessfulRead: Close while a Read is under way, when
// that Read still returns data, must close the connection all the same
// (else the upstream keeps generating for nobody and the socket leaks).
func TestCloseDuringASuccessfulRead(t *testing.T) {
	client, server := net.Pipe()
	defer server.Close()
	lc := &lateConn{Conn: client}
	tr := &Transport{}
	pc := &persistConn{pool: newHostPool(tr, poolKey{host: "x"}, mustURL(t, "http://x/")), conn: lc, br: bufio.NewReader(lc)}

	more := make(chan struct{})
	go func() {
		br := bufio.NewReader(server)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		io.WriteString(server, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
		<-more
		io.WriteString(server, "5\r\nhello\r\n")
		io.Copy(io.Discard, server)
	}()
	req, _ := http.NewRequest(http.MethodPost, "http://x/", strings.NewReader("{}"))
	resp, err := pc.roundTrip(req, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := resp.Body.(*body)
	got := make(chan error, 1)
	go func() {
		_, err := b.Read(make([]byte, 64))
		got <- err
	}()
	waitUntilReading(b)
	b.Close()
	close(more)
	if err := <-got; err != nil {
		t.Logf("read: %v", err)
	}
	if !lc.isClosed() {
		t.Error("the connection stays open after Close")
	}
	if _, err := b.Read(make([]byte, 1)); !errors.Is(err, http.ErrBodyReadAfterClose) {
		t.Errorf("Read after Close: %v", err)
	}
}

// waitUntilReading returns once a Read (or WaitData) on b is under way.
func waitUntilReading(b *body) {
	for {
		b.mu.Lock()
		reading := b.reading
		b.mu.Unlock()
		if reading {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
