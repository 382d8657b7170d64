package h1server

import (
	"time"
)

// A request still running after watchAfter has its connection checked for
// a client that went away, then every watchEvery: its context is canceled,
// which stops the upstream call (and its cost) for an answer nobody will
// read. net/http starts a goroutine and a read per request for this; most
// requests end long before the first check.
const (
	watchAfter = 250 * time.Millisecond
	watchEvery = time.Second
)

// watch checks the server's long-running requests until done is closed.
func (s *Server) watch(done <-chan struct{}) {
	t := time.NewTicker(watchAfter)
	defer t.Stop()
	var gone []*conn
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			gone = s.collectGone(now.UnixNano(), gone[:0])
			for _, c := range gone {
				c.cancelRequest()
			}
			clear(gone)
		}
	}
}

// collectGone appends the connections whose running request has lost its
// client.
func (s *Server) collectGone(now int64, gone []*conn) []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.due(now) && !peerOpen(c.rwc) {
			gone = append(gone, c)
		}
	}
	return gone
}

// due reports whether c's request is old enough to check, and notes the
// check.
func (c *conn) due(now int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started == 0 || now-c.started < int64(watchAfter) || now-c.checked < int64(watchEvery) {
		return false
	}
	c.checked = now
	return true
}

func (c *conn) cancelRequest() {
	c.mu.Lock()
	ctx := c.ctx
	c.mu.Unlock()
	if ctx != nil {
		ctx.Cancel(nil)
	}
}
