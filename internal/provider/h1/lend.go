package h1

import (
	"bufio"
	"sync"
)

// An upstream connection holds a read buffer only while it has unread
// bytes. Waiting for a stream's next event (WaitData) and sitting idle in
// the pool, it holds none: with 2,000 streams open, 4 KiB per connection
// was a quarter of the gateway's live heap. Plain TCP connections wait
// for readability through their syscall.RawConn and read into a stash
// lent at that moment (wait_unix.go); the read buffer, lent again when
// the body is read, takes the stash's bytes. TLS connections, and other
// platforms, wait in the read buffer as before.

// readers lends connections' 4 KiB read buffers.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}

// Stashes are lent to a wait for its read, and held only until the read
// buffer has taken their bytes, so thousands of waiting streams hold none.
// A wait for more of a body reads into a small one, as large as a read
// buffer. A wait for a response's head reads into a large one, which the
// read buffer takes in parts: a fast upstream's whole short answer (head
// and every event) then comes in one read, and the relay, which sees the
// stash as buffered bytes (topUp), sends it on in one write instead of one
// per 4 KiB.
var (
	stashes    = sync.Pool{New: func() any { b := make([]byte, smallStash); return &b }}
	bigStashes = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}
)

const smallStash = 4 << 10

// getStash lends a stash for a wait for the head or for more of the body.
func getStash(head bool) *[]byte {
	if head {
		return bigStashes.Get().(*[]byte)
	}
	return stashes.Get().(*[]byte)
}

// putStash returns p to its pool.
func putStash(p *[]byte) {
	if cap(*p) > smallStash {
		bigStashes.Put(p)
		return
	}
	stashes.Put(p)
}

// reader returns the connection's read buffer, taking one from the pool
// if it gave its own back.
func (pc *persistConn) reader() *bufio.Reader {
	if pc.br == nil {
		pc.br = readers.Get().(*bufio.Reader)
		pc.br.Reset(connSource{pc})
	}
	return pc.br
}

// parkReader gives the read buffer back when it holds nothing.
func (pc *persistConn) parkReader() {
	if pc.br != nil && pc.br.Buffered() == 0 {
		pc.br.Reset(nil)
		readers.Put(pc.br)
		pc.br = nil
	}
}

// buffered is how many received bytes the connection holds unread.
func (pc *persistConn) buffered() int {
	n := len(pc.stashed)
	if pc.br != nil {
		n += pc.br.Buffered()
	}
	return n
}

// connSource is what the read buffer reads from: the stash first, then
// the connection.
type connSource struct{ pc *persistConn }

func (s connSource) Read(p []byte) (int, error) {
	pc := s.pc
	if len(pc.stashed) > 0 {
		n := copy(p, pc.stashed)
		pc.stashed = pc.stashed[n:]
		if len(pc.stashed) == 0 {
			pc.dropStash()
		}
		return n, nil
	}
	if err := pc.stashErr; err != nil {
		pc.stashErr = nil
		return 0, err
	}
	return pc.conn.Read(p)
}

// topUp moves stashed bytes into the read buffer, as far as it has room,
// without blocking (the stash is read, not the socket), so that chunks a
// wait took in one read are all seen as buffered. It returns true, for use
// in a loop condition.
func (pc *persistConn) topUp() bool {
	if len(pc.stashed) > 0 && pc.br != nil {
		pc.br.Peek(min(pc.br.Size(), pc.br.Buffered()+len(pc.stashed)))
	}
	return true
}

// dropStash returns the stash to its pool.
func (pc *persistConn) dropStash() {
	if pc.stash != nil {
		putStash(pc.stash)
		pc.stash, pc.stashed = nil, nil
	}
}
