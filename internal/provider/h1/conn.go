package h1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/octomesh/octomesh/internal/cancelctx"
)

// persistConn is one keep-alive connection. It carries one request at a
// time: the pool hands it out, the response body gives it back at its end.
type persistConn struct {
	pool      *hostPool
	conn      net.Conn
	raw       syscall.RawConn // for waiting without a buffer; nil on TLS (lend.go)
	br        *bufio.Reader   // lent while bytes are unread: use reader()
	stash     *[]byte         // lent by a wait that read bytes (wait_unix.go)
	stashed   []byte          // the stash's unread bytes
	stashErr  error           // a wait's read error, for the next read
	idleSince time.Time
	written   int64 // bytes the kernel accepted for the current request
	writeErr  error // the connection's write error for the current request

	// The current request's watch, and its fire method as a func, made
	// once per connection rather than per request: a connection goes back
	// to the pool only after its watch was stopped before firing, so the
	// next request finds it idle (see roundTrip).
	w    watch
	fire func()

	// waitRead is wait's callback for RawConn.Read, made once per
	// connection (a closure per wait cost two allocations), with the
	// state it reads and leaves in waitHeadNext and waitErr.
	waitRead     func(fd uintptr) bool
	waitHeadNext bool
	waitErr      error
}

// connWriter counts what reaches the connection, so a failed write can
// tell whether any of the request left.
type connWriter struct{ pc *persistConn }

func (w connWriter) Write(b []byte) (int, error) {
	n, err := w.pc.conn.Write(b)
	w.pc.written += int64(n)
	if err != nil {
		w.pc.writeErr = err
	}
	return n, err
}

// errNothingWritten marks a failure before any byte of the request reached
// the connection, the one case in which a request may be sent again.
var errNothingWritten = errors.New("h1: connection failed before the request was written")

// aLongTimeAgo is a deadline in the past, to unblock a read or a write.
var aLongTimeAgo = time.Unix(1, 0)

// roundTrip writes req and reads the response's head. On success the
// connection belongs to the response body; on failure it is closed.
// room, when not nil, is where the response's body is to live (BodyRoom).
func (pc *persistConn) roundTrip(req *http.Request, reused bool, room *BodyRoom) (*http.Response, error) {
	ctx := req.Context()
	// Cancellation interrupts whatever I/O is in flight by moving the
	// connection's deadline into the past; the body stops this watch once
	// the response has been read or closed. The watch is the connection's
	// own: a connection is reused only after its previous watch was stopped
	// before it fired (body.releaseLocked, body.Close), so no earlier
	// request's fire can reach this one, and every stop of a finished
	// body is skipped (body.finished).
	if pc.fire == nil {
		pc.w.pc = pc
		pc.fire = pc.w.fire
	}
	w := &pc.w
	w.done.Store(false)
	w.start(ctx, pc.fire)

	pc.written, pc.writeErr = 0, nil
	if err := pc.writeRequest(req); err != nil {
		w.stop()
		pc.conn.Close()
		// Only the connection's own failure (a server that closed it while
		// idle) makes a resend safe and useful: not a cancelled context,
		// whose watch failed the write, nor a bad request body.
		if reused && pc.written == 0 && pc.writeErr != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("%w: %w", errNothingWritten, err)
		}
		return nil, err
	}
	if d := pc.pool.t.ResponseHeaderTimeout; d > 0 {
		pc.conn.SetReadDeadline(time.Now().Add(d))
	}
	pc.waitHead()
	h, err := readResponse(pc.reader(), req, pc.pool.t.maxHeaderBytes())
	if err != nil {
		w.stop()
		pc.conn.Close()
		return nil, err
	}
	if pc.pool.t.ResponseHeaderTimeout > 0 && !w.fired() {
		pc.conn.SetReadDeadline(time.Time{})
		if w.fired() {
			// Cancelled meanwhile: the clear above may have undone it.
			pc.conn.SetDeadline(aLongTimeAgo)
		}
	}
	resp := h.resp
	resp.Body = newBody(pc, w, h, !resp.Close && !closeRequested(req), room)
	return resp, nil
}

// watch ties a request's context to its connection: through node when
// the context ends with a cancelctx.Ctx (the request's, behind h1server
// and the gateway), which costs no allocation, or else context.AfterFunc;
// a context that never ends needs neither.
type watch struct {
	pc   *persistConn
	node cancelctx.Node // its Ctx is the request's, or nil
	// after stops the context.AfterFunc, if there is one.
	after func() bool
	done  atomic.Bool // fire started
}

// start watches ctx for the request; fire is w.fire, made once.
func (w *watch) start(ctx context.Context, fire func()) {
	w.after = nil
	if c := cancelctx.From(ctx); c != nil {
		c.Watch(&w.node, w) // fires at once if ctx has ended
		return
	}
	w.node = cancelctx.Node{} // the last request's Ctx is not this one's
	if ctx.Done() != nil {
		w.after = context.AfterFunc(ctx, fire)
	}
}

// ContextDone is fire, for the cancelctx.Ctx: it runs in the goroutine
// that ends the Ctx, which moving a deadline does not hold up.
func (w *watch) ContextDone() { w.fire() }

// stop stops the watch, and reports whether it did (as context.AfterFunc's
// stop): false when it fired, or was stopped before. A watch of a context
// that never ends reports true.
func (w *watch) stop() bool {
	if c := w.node.Ctx(); c != nil {
		return c.Unwatch(&w.node)
	}
	if w.after != nil {
		return w.after()
	}
	return true
}

func (w *watch) fire() {
	w.done.Store(true)
	w.pc.conn.SetDeadline(aLongTimeAgo)
}

func (w *watch) fired() bool { return w.done.Load() }

// release stops the watch, once, and reports whether the connection is
// still usable: false when cancellation reached it first (fire may be
// running, about to poison the deadline).
func (w *watch) release() bool { return w.stop() }

// writers buffer a request on its way out. A connection holds one only
// while it writes: thousands of streams waiting on their upstreams would
// otherwise each keep a write buffer they no longer use.
var writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4<<10) }}

func (pc *persistConn) writeRequest(req *http.Request) error {
	bw := writers.Get().(*bufio.Writer)
	bw.Reset(connWriter{pc})
	defer func() {
		bw.Reset(nil)
		writers.Put(bw)
	}()
	hasBody := req.Body != nil && req.Body != http.NoBody
	if hasBody {
		defer req.Body.Close()
	}
	if err := writeHead(bw, req, pc.pool.hostHeader); err != nil {
		return err
	}
	if hasBody {
		n, err := copyBody(bw, req.Body, req.ContentLength)
		if err != nil {
			return err
		}
		if n != req.ContentLength {
			return fmt.Errorf("h1: request body was %d bytes, ContentLength %d", n, req.ContentLength)
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if s, ok := req.Body.(sentNotifier); ok {
		s.Sent()
	}
	return nil
}

// sentNotifier is a request body told when its request has been written
// whole (a method Sent): the transport reads neither it nor a copy of it
// (GetBody, for a resend) from then on, so the buffer under it can go
// while the request waits for its response, which can take long.
type sentNotifier interface{ Sent() }

// copyBody is io.CopyN(bw, r, n), reading straight into bw's buffer:
// io.CopyN allocates the io.LimitedReader it reads through.
func copyBody(bw *bufio.Writer, r io.Reader, n int64) (int64, error) {
	var written int64
	for written < n {
		if bw.Available() == 0 {
			if err := bw.Flush(); err != nil {
				return written, err
			}
		}
		buf := bw.AvailableBuffer()
		buf = buf[:min(int64(cap(buf)), n-written)]
		m, rerr := r.Read(buf)
		if m > 0 {
			// Into the buffer it already is in; only an earlier write's
			// error, which bw keeps, can fail it.
			if _, err := bw.Write(buf[:m]); err != nil {
				return written, err
			}
			written += int64(m)
		}
		if rerr != nil {
			if rerr == io.EOF && written == n {
				break
			}
			return written, rerr // io.EOF too: as CopyN reports a short source
		}
	}
	return written, nil
}

// writeHead writes the request line and headers. Header names and values
// come from operators and adapters; a CR or LF in one would split the
// request, so it is refused rather than sent.
func writeHead(bw *bufio.Writer, req *http.Request, hostHeader string) error {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	host := req.Host
	if host == "" {
		host = hostHeader
	}
	if !validToken(method) || !validValue(host) {
		return fmt.Errorf("h1: invalid method or host %q", method+" "+host)
	}
	bw.WriteString(method)
	bw.WriteByte(' ')
	path := req.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	if !validValue(path) || !validValue(req.URL.RawQuery) {
		return errors.New("h1: invalid request path")
	}
	bw.WriteString(path)
	if req.URL.RawQuery != "" || req.URL.ForceQuery {
		bw.WriteByte('?')
		bw.WriteString(req.URL.RawQuery)
	}
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host)
	bw.WriteString("\r\n")
	hasUA := false
	for k, vs := range req.Header {
		switch k {
		case "Host", "Content-Length", "Transfer-Encoding", "Connection":
			continue // framing is ours to write
		case "User-Agent":
			hasUA = true
		}
		if !validToken(k) {
			return fmt.Errorf("h1: invalid header name %q", k)
		}
		for _, v := range vs {
			if !validValue(v) {
				return fmt.Errorf("h1: invalid value for header %s", k)
			}
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	if !hasUA {
		bw.WriteString("User-Agent: Go-http-client/1.1\r\n")
	}
	if closeRequested(req) {
		bw.WriteString("Connection: close\r\n")
	}
	if req.Body != nil && req.Body != http.NoBody || method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		bw.WriteString("Content-Length: ")
		writeInt(bw, max(req.ContentLength, 0))
		bw.WriteString("\r\n")
	}
	_, err := bw.WriteString("\r\n")
	return err
}

// writeInt writes n in decimal. Byte by byte: a slice of a local array
// handed to bw.Write would escape (Write may pass it to the connection),
// costing an allocation per request.
func writeInt(bw *bufio.Writer, n int64) {
	var num [20]byte
	for _, c := range strconv.AppendInt(num[:0], n, 10) {
		bw.WriteByte(c)
	}
}

// validToken reports whether s is a non-empty RFC 9110 token.
func validToken[T string | []byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == ':' || c == '(' || c == ')' || c == '<' || c == '>' || c == '@' ||
			c == ',' || c == ';' || c == '\\' || c == '"' || c == '/' || c == '[' || c == ']' || c == '?' ||
			c == '=' || c == '{' || c == '}' {
			return false
		}
	}
	return true
}

// validValue reports whether s can be sent as a header value or request
// target: no control characters other than horizontal tab.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// closeRequested reports whether the caller asked for the connection to be
// closed after this request.
func closeRequested(req *http.Request) bool {
	if req.Close {
		return true
	}
	for _, v := range req.Header["Connection"] {
		if asciiEqualFold(v, "close") {
			return true
		}
	}
	return false
}
