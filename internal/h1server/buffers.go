package h1server

import (
	"bufio"
	"sync"
)

// Buffers are lent per use, not kept per connection: a connection holds
// one only while a request is being read or an answer written. 2,000
// streams waiting for their next token then hold next to nothing (with
// net/http they hold 10 KiB each).

// bufPool lends the scratch buffers for heads and answers.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1<<10); return &b }}

// getBuf lends an empty buffer. It is a pointer so that lending and
// returning it costs no allocation.
func getBuf() *[]byte {
	p := bufPool.Get().(*[]byte)
	*p = (*p)[:0]
	return p
}

// putBuf returns p to the pool, unless an unusual answer grew it.
func putBuf(p *[]byte) {
	if p == nil || cap(*p) > maxKeptBuffer {
		return
	}
	bufPool.Put(p)
}

// readerPool lends connections' 4 KiB read buffers.
var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}

// reader returns the connection's read buffer, taking one from the pool
// if it gave its own back.
func (c *conn) reader() *bufio.Reader {
	if c.br == nil {
		c.br = readerPool.Get().(*bufio.Reader)
		c.br.Reset(c)
	}
	return c.br
}

// stashPool lends the buffers awaitBytes reads a request's first bytes
// into, as large as the read buffer that takes them.
var stashPool = sync.Pool{New: func() any { b := make([]byte, 4<<10); return &b }}

// Read is the read buffer's source: what awaitBytes stashed, then the
// connection. The stash goes back to its pool once taken.
func (c *conn) Read(p []byte) (int, error) {
	if len(c.stashed) == 0 {
		return c.rwc.Read(p)
	}
	n := copy(p, c.stashed)
	c.stashed = c.stashed[n:]
	if len(c.stashed) == 0 {
		c.putStash()
	}
	return n, nil
}

func (c *conn) putStash() {
	if c.stash != nil {
		stashPool.Put(c.stash)
		c.stash, c.stashed = nil, nil
	}
}

// buffered is how many bytes the connection has read and not yet
// consumed: in its read buffer and its stash.
func (c *conn) buffered() int {
	n := len(c.stashed)
	if c.br != nil {
		n += c.br.Buffered()
	}
	return n
}

// parkReader gives the read buffer back when it holds nothing: the request
// has been read, and the next one will take a buffer when it comes.
func (c *conn) parkReader() {
	if c.br != nil && c.br.Buffered() == 0 {
		c.br.Reset(nil)
		readerPool.Put(c.br)
		c.br = nil
	}
}
