package h1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// body reads a response body off its connection and, at its end, gives
// the connection back to the pool. Close may run concurrently with Read
// (a timer giving up on a stream): it then interrupts the read.
type body struct {
	pc        *persistConn
	w         *watch
	ctx       context.Context
	keepAlive bool

	framing   framing
	remaining int64 // bytes left in the body (length) or the chunk (chunked)
	inChunk   bool  // chunked: inside a chunk's data (its CRLF still due)

	mu       sync.Mutex
	reading  bool
	closed   bool // Close was called
	finished bool // the connection was given back or closed
	eof      bool
	err      error // the first read error: every later Read returns it
}

// BodyRoom is room for a response body's state. A request body with a
// method BodyRoom() *BodyRoom lends it to the round trip it is sent with
// (to that one only), and the response's body then lives in it rather
// than in an allocation of its own. An adapter's request body lives as
// long as a stream does anyway (the room keeps it alive), and the
// response's head and the request itself are not kept alive by the body:
// 2,000 waiting streams held 2 MB of heads and requests, and as much
// again of pooled request bodies they pinned.
type BodyRoom struct{ b body }

// roomer is a request body that lends a BodyRoom.
type roomer interface{ BodyRoom() *BodyRoom }

// roomOf returns the room req's body lends, or nil.
func roomOf(req *http.Request) *BodyRoom {
	if r, ok := req.Body.(roomer); ok {
		return r.BodyRoom()
	}
	return nil
}

// newBody returns the body of the response whose head is h, in room when
// it is not nil. A response without a body gives the connection back at
// once.
func newBody(pc *persistConn, w *watch, h *head, keepAlive bool, room *BodyRoom) io.ReadCloser {
	if h.framing == frameNone {
		giveBack(pc, w, keepAlive)
		return http.NoBody
	}
	var b *body
	if room != nil {
		b = &room.b
	} else {
		b = new(body)
	}
	*b = body{pc: pc, w: w, ctx: h.resp.Request.Context(), keepAlive: keepAlive, framing: h.framing, remaining: h.length}
	return b
}

func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	switch {
	case b.closed:
		b.mu.Unlock()
		return 0, http.ErrBodyReadAfterClose
	case b.eof:
		b.mu.Unlock()
		return 0, io.EOF
	case b.err != nil:
		// The connection is closed; what is still buffered must not read
		// as more of the body (a malformed chunk followed by a clean end).
		err := b.err
		b.mu.Unlock()
		return 0, err
	}
	b.reading = true
	b.mu.Unlock()

	n, err := b.read(p)
	return n, b.endRead(err)
}

// endRead settles a read (or a wait) that returned err: io.EOF ends the
// body and gives the connection back; another error, or a Close that came
// meanwhile, closes the connection. An error other than io.EOF becomes the
// body's, which every later Read returns; endRead returns it.
func (b *body) endRead(err error) error {
	b.mu.Lock()
	b.reading = false
	closed := b.closed
	switch {
	case err == io.EOF:
		b.eof = true
		b.releaseLocked(!closed)
	case err != nil, closed:
		// Close came during this read and moved the deadline: the read
		// may still have returned data, but the connection is done.
		b.releaseLocked(false)
	}
	b.mu.Unlock()
	if err != nil && err != io.EOF {
		switch {
		case b.ctx.Err() != nil:
			err = b.ctx.Err()
		case closed:
			err = http.ErrBodyReadAfterClose
		}
		b.mu.Lock()
		if b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
	}
	return err
}

// Buffered is how many bytes of the connection are received and unread
// (framing included), for a reader choosing its buffer's size. It is for
// the goroutine that reads the body.
func (b *body) Buffered() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished || b.closed || b.err != nil {
		return 0 // the connection may already carry another request
	}
	return b.pc.buffered()
}

// WaitData blocks until the connection holds bytes for this body, or its
// read fails, without a caller's buffer: an SSE reader parks its read
// buffer between events and takes it back only once the next event's
// bytes are here, and on plain TCP the connection waits without its own
// (lend.go), so 2,000 streams waiting for their next token hold no read
// buffers at all. A failure becomes the body's, for
// the next Read to report: the connection's reader hands an error out only
// once, and a socket reports a reset only once (its next read is a clean
// EOF, which would end a body delimited by the connection's close).
func (b *body) WaitData() {
	b.mu.Lock()
	if b.closed || b.eof || b.err != nil || b.finished || b.pc.buffered() > 0 {
		b.mu.Unlock()
		return
	}
	b.reading = true // Close interrupts the wait as it does a read
	b.mu.Unlock()
	err := b.pc.waitData()
	if err == io.EOF && b.framing != frameClose {
		err = io.ErrUnexpectedEOF // the connection ended inside the body
	}
	b.endRead(err) // also when Close came during the wait: the connection is done
}

// Close ends the body. A body not read to its end is drained briefly in the
// background when its connection could carry another request (the common
// case: a stream's reader stops at its last event, just before the
// chunked terminator), and otherwise closes the connection.
func (b *body) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	switch {
	case b.finished:
	case b.reading:
		b.pc.conn.SetDeadline(aLongTimeAgo) // the reader sees the error and closes
	case !b.keepAlive:
		b.finished = true
		b.w.stop() // nothing left to cancel: unregister from the context
		b.pc.conn.Close()
	case !b.w.release():
		b.finished = true
		b.pc.conn.Close()
	default:
		b.finished = true
		b.drain()
	}
	return nil
}

// Drain bounds: a body this far from its end, or this slow to finish, is
// not worth saving the connection for (a stream abandoned mid-way must not
// keep the upstream generating).
const (
	drainMax     = 64 << 10
	drainTimeout = 50 * time.Millisecond
)

// drain reads what is left of the body and pools the connection. Bytes
// already buffered are consumed at once; the rest is awaited on a
// goroutine so Close never blocks. b.mu is held.
func (b *body) drain() {
	pc := b.pc
	pc.conn.SetReadDeadline(aLongTimeAgo) // only what is already buffered
	switch err := b.discard(); {
	case err == nil:
		pc.conn.SetReadDeadline(time.Time{})
		pc.pool.put(pc)
		return
	case errors.Is(err, errTornLine):
		// The buffer ended inside a chunk-size or trailer line, and that
		// part of it is gone: parsing on would misframe what follows.
		pc.conn.Close()
		return
	}
	pc.conn.SetReadDeadline(time.Now().Add(drainTimeout))
	go func() {
		if b.discard() == nil {
			pc.conn.SetReadDeadline(time.Time{})
			pc.pool.put(pc)
			return
		}
		pc.conn.Close()
	}()
}

// discard reads the body to its end, at most drainMax bytes; nil means the
// end was reached.
func (b *body) discard() error {
	var buf [512]byte
	total := 0
	for total < drainMax {
		n, err := b.read(buf[:])
		total += n
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return errors.New("h1: body too long to drain")
}

// releaseLocked gives the connection back (ok and reusable) or closes it.
func (b *body) releaseLocked(ok bool) {
	if b.finished {
		return
	}
	b.finished = true
	giveBack(b.pc, b.w, ok && b.keepAlive)
}

// giveBack pools pc, when reuse is true and the watch w can be released,
// and otherwise closes it.
func giveBack(pc *persistConn, w *watch, reuse bool) {
	if reuse && w.release() {
		pc.pool.put(pc)
		return
	}
	w.stop()
	pc.conn.Close()
}

// read reads body bytes per the framing; io.EOF marks the body's end (and
// may come with the last bytes).
func (b *body) read(p []byte) (int, error) {
	br := b.pc.reader()
	switch b.framing {
	case frameLength:
		if b.remaining == 0 {
			return 0, io.EOF
		}
		if int64(len(p)) > b.remaining {
			p = p[:b.remaining]
		}
		n, err := br.Read(p)
		b.remaining -= int64(n)
		if b.remaining == 0 {
			return n, io.EOF
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return n, err
	case frameChunked:
		return b.readChunked(br, p)
	case frameClose:
		return br.Read(p)
	}
	return 0, io.EOF
}

// maxChunkLine bounds a chunk-size line (size plus extensions).
const maxChunkLine = 4 << 10

// readChunked reads chunk data into p. When a chunk ends and the next ones
// have already arrived, it goes on with them, without blocking: a stream
// relay then sees every event that came in one read of the socket, and
// sends them on in one write instead of one per upstream chunk.
func (b *body) readChunked(br *bufio.Reader, p []byte) (int, error) {
	n, err := b.readChunk(br, p)
	for err == nil && n < len(p) && !b.inChunk && b.pc.topUp() && nextChunkBuffered(br) {
		var m int
		m, err = b.readChunk(br, p[n:])
		n += m
	}
	return n, err
}

// nextChunkBuffered reports whether br holds a whole chunk-size line of a
// non-empty chunk and at least one byte of its data, so that reading it
// cannot block. (A size starting with 0, the last chunk or a rarely padded
// size, is left to the next call.)
func nextChunkBuffered(br *bufio.Reader) bool {
	k := br.Buffered()
	if k < 4 {
		return false
	}
	buf, _ := br.Peek(k) // never blocks: k bytes are buffered
	if buf[0] == '0' {
		return false
	}
	i := indexByte(buf, '\n')
	return i > 0 && i+1 < k
}

// readChunk reads from the current chunk, starting the next one first when
// the current one is done.
func (b *body) readChunk(br *bufio.Reader, p []byte) (int, error) {
	if b.inChunk && b.remaining == 0 {
		if err := readCRLF(br); err != nil { // the last chunk's end arrives late
			return 0, err
		}
		b.inChunk = false
	}
	if !b.inChunk {
		size, err := readChunkSize(br)
		if err != nil {
			return 0, err
		}
		if size == 0 {
			if err := skipTrailers(br); err != nil {
				return 0, err
			}
			return 0, io.EOF
		}
		b.remaining, b.inChunk = size, true
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := br.Read(p)
	b.remaining -= int64(n)
	if err == io.EOF {
		return n, io.ErrUnexpectedEOF
	}
	if err != nil || b.remaining > 0 {
		return n, err
	}
	// The chunk is complete: take its CRLF now if it has arrived, and the
	// terminating chunk too, so the caller sees io.EOF with the last bytes
	// and the connection goes back to the pool without another read.
	if br.Buffered() >= 2 {
		if err := readCRLF(br); err != nil {
			return n, err
		}
		b.inChunk = false
		if br.Buffered() >= 5 {
			if end, _ := br.Peek(5); string(end) == "0\r\n\r\n" {
				br.Discard(5)
				return n, io.EOF
			}
		}
		return n, nil
	}
	b.inChunk = true // only the CRLF is left of this chunk
	return n, nil
}

// readChunkSize reads a chunk-size line, ignoring chunk extensions.
func readChunkSize(br *bufio.Reader) (int64, error) {
	budget := maxChunkLine
	line, err := readLineBytes(br, &budget)
	if err != nil {
		return 0, err
	}
	if i := indexByte(line, ';'); i >= 0 {
		line = line[:i] // chunk extensions carry nothing we use
	}
	line = trimOWS(line)
	if len(line) == 0 || len(line) > 15 {
		return 0, malformed("chunk size %q", clip(string(line)))
	}
	var n int64
	for _, c := range line {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, malformed("chunk size %q", clip(string(line)))
		}
		n = n<<4 | int64(d)
	}
	return n, nil
}

func readCRLF(br *bufio.Reader) error {
	c, err := br.ReadByte()
	if err == nil && c == '\r' {
		c, err = br.ReadByte()
	}
	if err != nil {
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	if c != '\n' {
		return malformed("chunk not followed by CRLF")
	}
	return nil
}

// skipTrailers reads the trailer section after the last chunk.
func skipTrailers(br *bufio.Reader) error {
	budget := maxChunkLine * 4
	for {
		line, err := readLineBytes(br, &budget)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
	}
}
