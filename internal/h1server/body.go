package h1server

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxDiscard is how much of a body the handler left unread the server
// reads past to keep the connection (net/http's figure); beyond it the
// connection closes.
const maxDiscard = 256 << 10

// prepareBody decides the request body's framing (RFC 9112 §6) and sets
// r.Body, r.ContentLength and r.TransferEncoding.
func (c *conn) prepareBody(w *response) error {
	r := &w.tmpl
	h := r.Header
	te, cl := h["Transfer-Encoding"], h["Content-Length"]
	b := &w.bodyVal
	*b = body{c: c, w: w}
	switch {
	case len(te) > 0:
		if r.ProtoMinor == 0 {
			return badRequest("Transfer-Encoding in an HTTP/1.0 request")
		}
		if len(cl) > 0 {
			return badRequest("both Content-Length and Transfer-Encoding") // a smuggling attempt or a broken client
		}
		if len(te) != 1 || !strings.EqualFold(strings.Trim(te[0], " \t"), "chunked") {
			return &requestError{status: http.StatusNotImplemented, code: "unsupported_transfer_encoding", msg: "only the chunked transfer coding is supported"}
		}
		delete(h, "Transfer-Encoding")
		r.TransferEncoding = []string{"chunked"}
		r.ContentLength = -1
		b.chunked = httputil.NewChunkedReader(c.br)
	case len(cl) > 0:
		n, ok := parseLength(cl[0])
		for _, v := range cl[1:] {
			if m, ok2 := parseLength(v); !ok2 || m != n {
				ok = false
			}
		}
		if !ok {
			return badRequest("malformed or conflicting Content-Length")
		}
		r.ContentLength = n
		b.remaining = n
	}
	if r.ContentLength == 0 {
		r.Body = http.NoBody
		w.body = nil
	} else {
		r.Body = b
		w.body = b
	}
	if exp := h["Expect"]; len(exp) > 0 {
		if len(exp) != 1 || !strings.EqualFold(exp[0], "100-continue") {
			return &requestError{status: http.StatusExpectationFailed, code: "expectation_failed", msg: "unsupported Expect header"}
		}
		b.expectContinue = w.body != nil && r.ProtoMinor >= 1
	}
	return nil
}

// parseLength parses a Content-Length value: digits only, at most 18 of them.
func parseLength(s string) (int64, bool) {
	s = strings.Trim(s, " \t")
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// body is a request body: Content-Length bytes or chunks from the
// connection's reader. It is safe for concurrent use, though a handler
// reading its body from two goroutines gets the bytes in no useful order.
type body struct {
	c         *conn
	w         *response
	remaining int64     // with Content-Length: bytes left
	chunked   io.Reader // with chunked framing

	// abandoned is set, before the connection closes, when the handler
	// panicked: a read that starts after it fails at once, without waiting
	// for mu (a read in progress holds mu until the close ends it).
	abandoned atomic.Bool

	mu             sync.Mutex
	sawEOF         bool
	closed         bool  // the handler returned: reads fail
	err            error // a framing or network error: the connection closes
	expectContinue bool  // the client waits for 100 Continue before sending (set before the handler runs)
	continued      bool  // 100 Continue was sent, or it is too late for it

	// contMu orders a 100 Continue (sent by a body read) and the answer's
	// head (sent by the handler's writes, maybe from another goroutine):
	// once the head has gone, a 100 would land inside the answer.
	contMu   sync.Mutex
	answered bool // the answer's head has gone
}

func (b *body) Read(p []byte) (int, error) {
	if b.abandoned.Load() {
		return 0, http.ErrBodyReadAfterClose
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.abandoned.Load() {
		return 0, http.ErrBodyReadAfterClose
	}
	return b.readLocked(p)
}

func (b *body) readLocked(p []byte) (int, error) {
	if b.sawEOF {
		return 0, io.EOF
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.expectContinue && !b.continued {
		b.continued = true
		if err := b.sendContinue(); err != nil {
			b.err = err
			return 0, err
		}
	}
	if len(p) == 0 {
		return 0, nil
	}
	if b.chunked != nil {
		n, err := b.chunked.Read(p)
		if err == io.EOF {
			if terr := skipTrailers(b.c.br); terr != nil {
				b.err = terr
				return n, terr
			}
			b.sawEOF = true
			b.c.parkReader()
		} else if err != nil {
			b.err = unexpected(err)
			return n, b.err
		}
		return n, err
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.c.br.Read(p)
	b.remaining -= int64(n)
	if b.remaining == 0 {
		b.sawEOF = true
		b.c.parkReader() // read: the handler may run for minutes (a stream)
		return n, io.EOF
	}
	if err != nil {
		b.err = unexpected(err)
		return n, b.err
	}
	return n, nil
}

// sendContinue sends 100 Continue, unless the answer's head has gone (then
// net/http does not send it either: the client sends the body anyway, or
// gives up on it).
func (b *body) sendContinue() error {
	b.contMu.Lock()
	defer b.contMu.Unlock()
	if b.answered {
		return nil
	}
	_, err := io.WriteString(b.c.rwc, "HTTP/1.1 100 Continue\r\n\r\n")
	return err
}

// noContinue is called before the answer's head goes: no 100 Continue may
// follow it.
func (b *body) noContinue() {
	b.contMu.Lock()
	b.answered = true
	b.contMu.Unlock()
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Close is a no-op for the handler (net/http's semantics: the server reads
// or discards what is left when the handler returns).
func (b *body) Close() error { return nil }

// abandon ends the body of a handler that panicked: later reads fail
// without touching the connection's reader.
func (b *body) abandon() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
}

// discardWait bounds how long finish waits for body bytes still on their
// way: long enough for the rest of a body already in flight on a LAN.
const discardWait = 100 * time.Millisecond

// bufferedToEnd reports whether the read buffer holds the rest of a body
// of known length.
func (b *body) bufferedToEnd() bool {
	return b.chunked == nil && int64(b.c.buffered()) >= b.remaining
}

// finish ends the body when the handler returns, and reports whether the
// connection can carry another request: what the handler left unread is
// read past, up to maxDiscard.
func (b *body) finish() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	if b.sawEOF {
		return true
	}
	if b.err != nil || b.expectContinue && !b.continued {
		return false // the client may or may not send the body: close
	}
	if b.chunked == nil && b.remaining > maxDiscard {
		return false
	}
	// The answer waits for this, so wait only briefly for bytes not yet
	// here: a client whose body has stopped coming (the handler refused
	// it unread) gets its answer now, and the connection closes after it,
	// instead of at the read timeout. The next request, or the linger,
	// sets its own deadline.
	if !b.bufferedToEnd() {
		b.c.rwc.SetReadDeadline(time.Now().Add(discardWait))
	}
	var scratch [512]byte
	budget := maxDiscard
	for budget > 0 {
		n, err := b.readLocked(scratch[:min(len(scratch), budget)])
		budget -= n
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
	}
	return false
}

// skipTrailers reads the trailer section after the last chunk, up to and
// including its blank line. Request trailers carry nothing the gateway uses.
func skipTrailers(br *bufio.Reader) error {
	budget := 64 << 10
	midLine := false // the last read ended inside a line longer than the buffer
	for {
		line, err := br.ReadSlice('\n')
		budget -= len(line)
		if budget < 0 {
			return badRequest("request trailers too large")
		}
		if err == bufio.ErrBufferFull {
			midLine = true
			continue
		}
		if err != nil {
			return unexpected(err)
		}
		if !midLine && (len(line) == 1 || len(line) == 2 && line[0] == '\r') {
			return nil
		}
		midLine = false
	}
}
