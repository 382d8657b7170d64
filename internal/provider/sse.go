package provider

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Event is one server-sent event. Data is valid until the next call to
// SSEReader.Next.
type Event struct {
	Name string // the "event:" field; "" when absent
	Data []byte // the "data:" lines joined by "\n"
}

// ErrEventTooLarge is returned when an event exceeds the reader's limit.
var ErrEventTooLarge = errors.New("sse: event too large")

// SSEReader parses a text/event-stream (WHATWG server-sent events) from r,
// one event at a time, without goroutines. It is not safe for concurrent use.
type SSEReader struct {
	buf      *sseBuffers   // lent while an event is read and used; nil while parked (see park)
	src      stickyReader  // the stream; read through &src
	r        *bufio.Reader // reads src; nil while parked
	max      int           // 0 once released (Init sets it)
	lastName string        // the previous event's name, reused while names repeat
}

// sseBuffers are the buffers an event is parsed into, lent to a reader from
// when it starts reading an event until its next Next finds it has to wait
// (a gateway opens thousands of streams a second, and keeps thousands
// waiting for their next token).
type sseBuffers struct {
	data []byte // the "data:" lines joined
	name []byte // the "event:" field
}

// maxPooledEvent bounds the event buffer kept for reuse.
const maxPooledEvent = 64 << 10

// ssePool holds buffers not lent. A sync.Pool is the one kind of
// package-level state kept here: it holds no meaning, only spare memory.
var ssePool = sync.Pool{New: func() any { return &sseBuffers{} }}

// readerPool holds 4 KiB read buffers. A reader holds one only while it has
// unparsed bytes or is reading: between events, which is most of a slow
// stream's life, it parks it here, so that 2,000 streams waiting for their
// next token do not hold 8 MB of empty buffers.
var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, smallReader) }}

// bigReaderPool holds 16 KiB read buffers, taken instead when the body
// already holds more than a small one takes: a burst (a fast upstream's
// whole answer, read at once) is then parsed in one go, and a relay that
// asks Buffered between events sends it on in one write, not one per 4 KiB.
var bigReaderPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 16<<10) }}

const smallReader = 4 << 10

// getReader lends a read buffer sized for what src holds.
func getReader(src *stickyReader) *bufio.Reader {
	if src.buffered() > smallReader {
		return bigReaderPool.Get().(*bufio.Reader)
	}
	return readerPool.Get().(*bufio.Reader)
}

// putReader returns br to its pool.
func putReader(br *bufio.Reader) {
	br.Reset(nil) // do not pin the response body
	if br.Size() > smallReader {
		bigReaderPool.Put(br)
		return
	}
	readerPool.Put(br)
}

// errReleased is returned by Next after Release.
var errReleased = errors.New("sse: reader released")

// NewSSEReader returns a reader that fails with ErrEventTooLarge on events
// whose data exceeds maxEvent bytes (0 means 8 MiB). Release gives its
// buffers back for reuse when the stream is done.
func NewSSEReader(r io.Reader, maxEvent int) *SSEReader {
	s := new(SSEReader)
	s.Init(r, maxEvent)
	return s
}

// Init makes s read r as NewSSEReader(r, maxEvent) would, for a reader
// kept inside another value (which spares its allocation). s must be zero
// or released.
func (s *SSEReader) Init(r io.Reader, maxEvent int) {
	if maxEvent <= 0 {
		maxEvent = 8 << 20
	}
	// Parked: the first Next waits for the first event holding no buffer
	// (a model may think for many seconds before its first token), and
	// sizes its read buffer to what has arrived by then.
	*s = SSEReader{src: stickyReader{r: r}, max: maxEvent}
}

// stickyReader remembers the first error of its reader and returns it from
// then on. A bufio.Reader keeps an error that came with data until that
// data is parsed; parking the bufio.Reader must not forget it (a stream cut
// by a reset would otherwise read on to a clean io.EOF).
type stickyReader struct {
	r   io.Reader
	err error
}

func (s *stickyReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	if err != nil {
		s.err = err
	}
	return n, err
}

// buffered is how many bytes r holds received and unread, when it can say
// (the h1 transport's bodies); 0 otherwise.
func (s *stickyReader) buffered() int {
	if b, ok := s.r.(interface{ Buffered() int }); ok && s.err == nil {
		return b.Buffered()
	}
	return 0
}

// dataWaiter is a body that can wait for its next bytes without a buffer
// (the h1 transport's bodies).
type dataWaiter interface{ WaitData() }

// waitData blocks, holding no read buffer, until r has bytes to read (see
// h1's body.WaitData), when r can.
func (s *stickyReader) waitData() {
	if w, ok := s.r.(dataWaiter); ok && s.err == nil {
		w.WaitData()
	}
}

// park gives the read buffer back while it holds nothing unparsed; the
// next read takes one again. The event buffers go back at that next read,
// once the event parsed into them is no longer valid.
func (s *SSEReader) park() {
	if s.r != nil && s.r.Buffered() == 0 {
		putReader(s.r)
		s.r = nil
	}
}

// putBuffers gives the event buffers back.
func (s *SSEReader) putBuffers() {
	b := s.buf
	if b == nil {
		return
	}
	s.buf = nil
	if cap(b.data) > maxPooledEvent {
		b.data = nil
	}
	if cap(b.name) > maxPooledEvent {
		b.name = nil
	}
	ssePool.Put(b)
}

// WillWait reports whether the next Next will wait for more of the stream
// to arrive, as far as the reader can tell: it holds no unparsed bytes,
// and its source (when it can say) holds none either. A caller about to
// wait can let go of what it would hold through the wait.
func (s *SSEReader) WillWait() bool {
	return s.max > 0 && s.r == nil && s.src.buffered() == 0
}

// WaitData waits, holding no buffer, for the next event's bytes when the
// reader is parked (see WillWait), as Next would first: the last event's
// data is invalid from then on. Otherwise it returns at once.
func (s *SSEReader) WaitData() {
	if s.max == 0 || s.r != nil {
		return
	}
	s.putBuffers()
	s.src.waitData()
}

// Release returns the reader's buffers for reuse; the data of the last
// event is invalid from then on. After it Next fails and Buffered reports
// 0. Calling it again does nothing; not calling it only forgoes the reuse.
func (s *SSEReader) Release() {
	if s.max == 0 {
		return
	}
	if s.r != nil {
		putReader(s.r)
	}
	s.putBuffers()
	*s = SSEReader{}
}

// Next returns the next event. It returns io.EOF when the stream ends on an
// event boundary, and io.ErrUnexpectedEOF when it ends inside an event that
// was never terminated by a blank line (the pending event is discarded: a
// half-received event is not trusted).
func (s *SSEReader) Next() (Event, error) {
	if s.max == 0 {
		return Event{}, errReleased
	}
	if s.r == nil {
		// Parked: the last event's data is invalid now, and the wait for
		// the next one may be long; wait holding no buffer at all.
		s.putBuffers()
		s.src.waitData()
		s.r = getReader(&s.src)
		s.r.Reset(&s.src)
	}
	if s.buf == nil {
		s.buf = ssePool.Get().(*sseBuffers)
	}
	b := s.buf
	b.name = b.name[:0]
	b.data = b.data[:0]
	hasData := false
	pending := false
	for {
		line, err := s.readLine()
		if err != nil {
			if err == io.EOF && pending {
				return Event{}, io.ErrUnexpectedEOF
			}
			return Event{}, err
		}
		if len(line) == 0 {
			if hasData {
				s.park()
				return Event{Name: s.eventName(), Data: b.data}, nil
			}
			// A blank line after only comments or an event name: nothing to dispatch.
			b.name = b.name[:0]
			pending = false
			continue
		}
		pending = true
		if line[0] == ':' {
			continue // comment / keep-alive
		}
		field, value, found := bytes.Cut(line, []byte{':'})
		if found && len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
		switch string(field) {
		case "data":
			if hasData {
				b.data = append(b.data, '\n')
			}
			if len(b.data)+len(value) > s.max {
				return Event{}, ErrEventTooLarge
			}
			b.data = append(b.data, value...)
			hasData = true
		case "event":
			b.name = append(b.name[:0], value...)
		}
		// "id", "retry" and unknown fields are ignored.
	}
}

// eventName returns the pending event's name as a string, without
// allocating when it repeats the previous one (Anthropic names every event,
// and sends a run of content_block_delta events for each answer).
func (s *SSEReader) eventName() string {
	if name := s.buf.name; string(name) != s.lastName {
		s.lastName = string(name)
	}
	return s.lastName
}

// readLine returns one line without its terminator (\n, \r\n or \r is
// accepted; a lone \r is treated as a line end only when followed by \n or
// data, which is what every real provider sends).
func (s *SSEReader) readLine() ([]byte, error) {
	line, err := s.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		// A very long line: accumulate it up to the limit.
		buf := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			if len(buf) > s.max+64 {
				return nil, ErrEventTooLarge
			}
			line, err = s.r.ReadSlice('\n')
			buf = append(buf, line...)
		}
		line = buf
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			// The last line had no terminator: it is incomplete.
			return nil, io.ErrUnexpectedEOF
		}
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("read event stream: %w", err)
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// Buffered returns how many bytes have been received but not yet parsed,
// counting only when they include a whole event (a blank line), so that the
// next Next cannot block. A relay uses it to coalesce flushes: when the next
// event is already here, one write can carry both.
func (s *SSEReader) Buffered() int {
	if s.r == nil {
		return 0
	}
	n := s.r.Buffered()
	if n == 0 {
		return 0
	}
	b, _ := s.r.Peek(n) // never blocks: n bytes are buffered
	if bytes.Contains(b, []byte("\n\n")) || bytes.Contains(b, []byte("\r\n\r\n")) {
		return n
	}
	return 0
}
