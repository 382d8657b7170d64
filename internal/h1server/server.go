// Package h1server is OctoMesh's inbound HTTP/1.1 server: a drop-in for
// net/http's Server for the one protocol the gateway speaks in cleartext.
//
// Why not net/http's server? On the gateway's request path it is about a
// fifth of the CPU. Per request it starts a goroutine to watch the
// connection (one more read system call and two goroutine switches),
// parses each header into its own strings, clones the header map when the
// handler writes, and keeps 10 KiB of buffers per connection for the
// whole request. This server runs each connection in one goroutine,
// parses the head into one string, snapshots headers by serialising them,
// and watches for clients that went away from one goroutine for all
// connections, and only for requests that are still running after a
// quarter of a second.
//
// Handlers are ordinary http.Handlers and see an ordinary *http.Request.
// What it does not do: TLS, HTTP/2, Hijack, CloseNotify.
//
// A request's parts (its URL, body, header values) are allocated with its
// response, and a handler that knows this server can spare a few more
// allocations through the ResponseWriter's extra methods: SetHeaderValue
// and SetTrailerValue (Header().Set without a slice per value, or without
// growing the map), and RequestWithContext (WithContext without a copy of
// the request).
package h1server

import (
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Server serves HTTP/1.x on listeners. Its fields mean what they mean on
// net/http.Server; set them before Serve.
type Server struct {
	Handler           http.Handler
	ReadHeaderTimeout time.Duration // 0: ReadTimeout
	ReadTimeout       time.Duration // the head and the body of a request; 0: none
	WriteTimeout      time.Duration // from the end of the head to the end of the response; 0: none
	IdleTimeout       time.Duration // between requests on a connection; 0: ReadTimeout
	MaxHeaderBytes    int           // the request line and headers; 0: 1 MiB
	ErrorLog          *log.Logger   // panics in handlers; nil: the log package's logger

	// BaseContext returns the context requests derive from; nil means
	// context.Background().
	BaseContext func(net.Listener) context.Context

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	watching  bool
	shutdown  atomic.Bool
	done      chan struct{} // closed by Shutdown and Close: stops the watcher
	doneOnce  sync.Once

	// onWait, when set (by tests), runs on a connection's goroutine each
	// time it is about to wait for a request without a buffer.
	onWait func(c *conn)

	// continuing counts the continuations in flight; up to
	// inlineContinuations of them run on their handler's goroutine, the
	// rest on goroutines of their own (see conn.serveFrom).
	continuing          atomic.Int64
	inlineContinuations int // 0: defaultInlineContinuations; negative: none (tests)
}

// defaultInlineContinuations is how many continuations may run on their
// handler's goroutine at once: a continuation runs inline when no more
// than this many are in flight, handed-over ones included. Each may keep
// the 8 KiB stack its handler grew (until a collection shrinks it), 4 KiB
// more than on a goroutine of its own: 256 KiB at most, which is nothing
// to a server with few streams, and 0.13 KB a stream at 2,000.
const defaultInlineContinuations = 64

func (s *Server) inlineLimit() int64 {
	if s.inlineContinuations == 0 {
		return defaultInlineContinuations
	}
	return int64(max(0, s.inlineContinuations))
}

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = http.ErrServerClosed

const defaultMaxHeaderBytes = 1 << 20

// Serve accepts connections on ln and serves each in its own goroutine. It
// always returns a non-nil error; after Shutdown or Close, ErrServerClosed.
// Serve closes ln when it returns.
func (s *Server) Serve(ln net.Listener) error {
	if s.Handler == nil {
		return errors.New("h1server: no handler")
	}
	s.mu.Lock()
	if s.shutdown.Load() {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	if s.listeners == nil {
		s.listeners = map[net.Listener]struct{}{}
		s.conns = map[*conn]struct{}{}
		s.done = make(chan struct{})
	}
	s.listeners[ln] = struct{}{}
	if !s.watching {
		s.watching = true
		go s.watch(s.done)
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()

	base := context.Background()
	if s.BaseContext != nil {
		base = s.BaseContext(ln)
		if base == nil {
			panic("h1server: BaseContext returned a nil context")
		}
	}
	var backoff time.Duration
	for {
		rw, err := ln.Accept()
		if err != nil {
			if s.shutdown.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				// Out of file descriptors and the like: wait, as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.logf("h1server: accept error: %v; retrying in %v", err, backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		c := newConn(s, rw, base)
		if !s.track(c) {
			rw.Close()
			return ErrServerClosed
		}
		go c.serve()
	}
}

func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

// track adds c to the live connections, unless the server is shutting down.
func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown.Load() {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Shutdown stops accepting, closes idle connections, and waits until every
// request in flight has been answered (each connection closes after its
// answer) or ctx ends, whichever is first. A connection accepted but
// without a request yet has 5 s to send one, as with net/http.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stop()
	wait := time.Millisecond
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		if s.closeIdle() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			wait = min(2*wait, 100*time.Millisecond)
			t.Reset(wait)
		}
	}
}

// Close closes the listeners and every connection at once, and cancels
// the contexts of the requests still running on them (as net/http, whose
// connection reader sees its connection closed): their answers can no
// longer be sent.
func (s *Server) Close() error {
	s.stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.rwc.Close()
		c.cancelRequest()
	}
	return nil
}

func (s *Server) stop() {
	s.mu.Lock()
	s.shutdown.Store(true)
	for ln := range s.listeners {
		ln.Close()
	}
	if s.done != nil {
		s.doneOnce.Do(func() { close(s.done) })
	}
	s.mu.Unlock()
}

// closeIdle closes the connections waiting for a request (new ones once
// newConnGrace has passed) and reports whether none is left.
func (s *Server) closeIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for c := range s.conns {
		if c.state.CompareAndSwap(stateIdle, stateClosed) ||
			now.Sub(c.born) > newConnGrace && c.state.CompareAndSwap(stateNew, stateClosed) {
			c.rwc.Close()
		}
	}
	return len(s.conns) == 0
}

func (s *Server) logf(format string, args ...any) {
	if s.ErrorLog != nil {
		s.ErrorLog.Printf(format, args...)
		return
	}
	log.Printf(format, args...)
}

func (s *Server) maxHeaderBytes() int {
	if s.MaxHeaderBytes > 0 {
		return s.MaxHeaderBytes
	}
	return defaultMaxHeaderBytes
}

func (s *Server) idleTimeout() time.Duration {
	if s.IdleTimeout != 0 {
		return s.IdleTimeout
	}
	return s.ReadTimeout
}

func (s *Server) readHeaderTimeout() time.Duration {
	if s.ReadHeaderTimeout != 0 {
		return s.ReadHeaderTimeout
	}
	return s.ReadTimeout
}
