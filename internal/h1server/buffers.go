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
		c.br.Reset(c.rwc)
	}
	return c.br
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
