package h1server

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/octomesh/octomesh/internal/cancelctx"
)

// Connection states, for Shutdown (which closes idle connections only) and
// the watcher (which checks active ones).
const (
	stateNew    int32 = iota // accepted, waiting for its first request
	stateIdle                // waiting for a request
	stateActive              // reading a request or answering it
	stateClosed              // closed by Shutdown
)

// newConnGrace is how long Shutdown lets a new connection send its first
// request (net/http's figure): the client may have sent it already.
const newConnGrace = 5 * time.Second

// conn is one client connection, served by one goroutine.
type conn struct {
	srv    *Server
	rwc    net.Conn
	br     *bufio.Reader // lent while a request is read (buffers.go); reads from c (Read)
	remote string
	// raw, for a TCP connection, awaits the next request without a
	// buffer (awaitBytes), which then reads into stash: stashed is what
	// of it the read buffer has yet to take.
	raw      syscall.RawConn
	waitRead func(fd uintptr) bool // awaitBytes' callback, made once
	stash    *[]byte
	stashed  []byte
	base     context.Context
	state    atomic.Int32
	born     time.Time // when it was accepted

	// Lent buffers (buffers.go): nil when not in use.
	pend *[]byte // body bytes written by the handler and not yet sent
	hdr  *[]byte // the handler's headers as of WriteHeader, until the head goes

	// linger: the connection closes with request bytes it may not have
	// read (an unread body, a refused request): see lingerClose.
	linger bool
	// waitFailed: awaitBytes' callback met the end or an error.
	waitFailed bool

	// The request in flight, for the watcher: its start (unix nanoseconds,
	// 0 when none), when it was last checked, and its context.
	mu      sync.Mutex
	started int64
	checked int64
	ctx     *cancelctx.Ctx
}

// newConn takes no buffer: the connection waits for its first request
// holding none (awaitBytes), as 2,000 clients connecting at once do.
func newConn(s *Server, rwc net.Conn, base context.Context) *conn {
	c := &conn{srv: s, rwc: rwc, raw: rawConnOf(rwc), remote: rwc.RemoteAddr().String(), base: base, born: time.Now()}
	c.state.Store(stateNew)
	return c
}

func (c *conn) serve() { c.serveFrom(nil) }

// serveFrom serves the connection's requests, starting with the
// continuation of w's handler when w is not nil. Past the first few in
// flight (below), a handler that leaves a continuation (Continue) hands
// the connection over to a new goroutine, which runs the continuation and
// then the connection's next requests, while this one ends: the handler's
// frames (an API's router, middleware and handler go 5-6 KB deep) grew
// this goroutine's stack to 8 KiB, and a continuation, which waits most
// of its life (a stream's relay), then waits on a stack that only its own
// frames grew (4 KiB), not one that the garbage collector must first
// shrink.
//
// That saves memory only when there are many continuations, and costs
// each one a goroutine and a stack copy (about 2% of a streamed request's
// CPU): while no more than Server.inlineContinuations are in flight, a
// continuation runs on its handler's goroutine. That goroutine's stack
// may shrink to 4 KiB while the continuation waits (a collection halves
// a stack a quarter used), so it too grows its stack again, two frames
// deep, before its next handler.
func (c *conn) serveFrom(w *response) {
	handedOver := false
	defer func() {
		if !handedOver {
			c.close()
		}
	}()
	grown := w == nil // a connection's first goroutine grows as it goes
	for {
		ok := true
		if w == nil {
			var t0 time.Time
			if t0, ok = c.waitForRequest(); !ok {
				return
			}
			var err error
			if w, err = c.readRequest(t0); err != nil {
				c.replyError(err)
				return
			}
			if !grown {
				growStack()
				grown = true
			}
			ok = c.handle(w)
			if ok && w.cont != nil {
				if c.srv.continuing.Add(1) > c.srv.inlineLimit() {
					handedOver = true
					go c.serveFrom(w)
					return
				}
				ok = c.continueHandler(w)
				grown = false
			}
		} else if w.cont != nil {
			ok = c.continueHandler(w)
		}
		if !ok {
			// The handler panicked. A goroutine it started may still read
			// the body (a Transport sending it upstream does): close the
			// body before c.close recycles the reader under it, as net/http
			// does. Closing the connection first ends a read in progress;
			// marking the body abandoned before it fails any read that
			// starts once the client has seen the connection close.
			if w.body != nil {
				w.body.abandoned.Store(true)
			}
			c.rwc.Close()
			if w.body != nil {
				w.body.abandon()
			}
			return
		}
		if !w.finish() || w.closeAfter || c.srv.shutdown.Load() {
			return
		}
		w.release()
		w = nil
	}
}

// growStack grows a handed-over goroutine's stack (4 KiB) to 8 KiB before
// it runs its first handler. Grown here, two frames deep, the copy is
// cheap; grown where a handler's frames first pass 4 KiB, the runtime
// copies and walks twenty frames, which cost about 17,000 instructions a
// request (BenchmarkServeContinued under callgrind).
//
//go:noinline
func growStack() {
	var pad [5 << 10]byte
	keep(pad[:])
}

//go:noinline
func keep([]byte) {}

// waitForRequest waits, within the idle timeout, for the first byte of the
// next request, and reports whether there is one to read, and when it
// began: for the first request, at the accept, so that a new connection
// that sends nothing is cut after ReadHeaderTimeout (as with net/http),
// if that ends before IdleTimeout.
func (c *conn) waitForRequest() (start time.Time, ok bool) {
	idle := stateIdle
	if c.state.Load() == stateNew {
		// Even during Shutdown: a new connection's first request is
		// served if it comes within newConnGrace (see closeIdle).
		idle = stateNew
	} else if !c.state.CompareAndSwap(stateActive, stateIdle) || c.srv.shutdown.Load() {
		return time.Time{}, false
	}
	if c.buffered() == 0 {
		var deadline time.Time
		if d := c.srv.idleTimeout(); d > 0 {
			deadline = time.Now().Add(d)
		}
		if d := c.srv.readHeaderTimeout(); idle == stateNew && d > 0 {
			if head := c.born.Add(d); deadline.IsZero() || head.Before(deadline) {
				deadline = head // whichever ends first
			}
		}
		c.rwc.SetReadDeadline(deadline)
		c.parkReader()
		if !c.awaitBytes() {
			return time.Time{}, false
		}
	}
	start = c.born
	if idle != stateNew {
		start = time.Now()
	}
	// Shutdown may have closed the connection meanwhile.
	return start, c.state.CompareAndSwap(idle, stateActive)
}

// handle runs the handler. It reports false when the handler panicked: the
// connection then closes, as with net/http, and the panic is logged unless
// it is http.ErrAbortHandler.
func (c *conn) handle(w *response) (ok bool) {
	// The request's context is a cancelctx.Ctx: the gateway's attempt and
	// the upstream connection's watch link to it without allocating (a
	// context.WithCancel's children cost a map and a Done channel).
	ctx := cancelctx.New(c.base)
	// The context is set in place: WithContext, inlined, makes its copy on
	// the stack, where a request of its own for the handler would cost a
	// heap allocation of the whole Request. (net/http's handlers, too, get
	// the request its response uses.)
	w.tmpl = *w.tmpl.WithContext(ctx)
	r := &w.tmpl
	c.mu.Lock()
	c.started, c.checked, c.ctx = time.Now().UnixNano(), 0, ctx
	c.mu.Unlock()
	defer func() {
		if v := recover(); v != nil {
			ok = false
			c.logPanic(v)
			if a, isA := w.cont.(interface{ Abandon() }); isA {
				a.Abandon()
			}
			w.cont = nil
		}
		if w.cont == nil {
			c.endHandler(w)
		}
	}()
	c.srv.Handler.ServeHTTP(w, r)
	return true
}

// continueHandler runs the continuation the handler left (see Continue),
// counted in Server.continuing, and then ends the request as handle would
// have. Like handle, it reports false when it panicked.
func (c *conn) continueHandler(w *response) (ok bool) {
	defer func() {
		c.srv.continuing.Add(-1)
		w.cont = nil
		if v := recover(); v != nil {
			ok = false
			c.logPanic(v)
		}
		c.endHandler(w)
	}()
	w.cont.Continue()
	return true
}

// endHandler ends the request once the handler, and its continuation, are
// done: the response refuses writes from then on and the request's
// context ends.
func (c *conn) endHandler(w *response) {
	w.returned.Store(true)
	c.mu.Lock()
	ctx := c.ctx
	c.started, c.ctx = 0, nil
	c.mu.Unlock()
	ctx.Cancel(nil)
}

// logPanic logs a handler's panic, unless it is http.ErrAbortHandler.
func (c *conn) logPanic(v any) {
	if v == http.ErrAbortHandler {
		return
	}
	buf := make([]byte, 64<<10)
	buf = buf[:runtime.Stack(buf, false)]
	c.srv.logf("h1server: panic serving %s: %v\n%s", c.remote, v, buf)
}

func (c *conn) close() {
	if c.linger {
		c.lingerClose()
	}
	c.rwc.Close()
	c.srv.forget(c)
	if c.br != nil {
		c.br.Reset(nil)
		readerPool.Put(c.br)
		c.br = nil
	}
	c.putStash()
	putBuf(c.pend)
	putBuf(c.hdr)
	c.pend, c.hdr = nil, nil
}

// lingerTimeout is how long a connection that closes with request bytes
// unread goes on reading them (net/http waits as long).
const lingerTimeout = 500 * time.Millisecond

// lingerClose ends the answer with a FIN and reads what the client still
// sends until it closes its side or lingerTimeout passes. Closing a socket
// with unread bytes resets the connection at once, and a client still
// sending its body (one refused with a 413, say) then gets "connection
// reset" instead of the answer, which was already on its way.
func (c *conn) lingerClose() {
	cw, ok := c.rwc.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	c.rwc.SetReadDeadline(time.Now().Add(lingerTimeout))
	br := c.reader()
	for {
		if _, err := br.Discard(br.Size()); err != nil {
			return
		}
	}
}
