package provider

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"github.com/octomesh/octomesh/internal/provider/h1"
)

// RequestBody is an upstream request's body encoded into a pooled buffer:
// the largest allocation of a relayed request by bytes, made once per
// request otherwise. The buffer goes back to the pool only when nothing
// can read it any more: the poster has released it and every reader a
// transport was given has been closed (a transport may read the body
// after RoundTrip returns, and takes a new reader for a resend). The h1
// transport releases the poster's hold itself once it has written the
// request (bodyReader.Sent), as it takes no new reader after that. A
// reader of an earlier use fails rather than read the next request's
// bytes.
type RequestBody struct {
	B []byte // the body; append to B[:0] before posting

	mu     sync.Mutex
	refs   int    // the poster's hold and each reader not yet closed
	gen    uint64 // counts the buffer's returns to the pool
	poster bool   // the poster's hold is among refs
}

// maxPooledRequest is the largest request buffer kept for reuse.
const maxPooledRequest = 256 << 10

var requestBodies = sync.Pool{New: func() any { return &RequestBody{B: make([]byte, 0, 2<<10)} }}

// errBodyReleased is what a reader of a released body returns.
var errBodyReleased = errors.New("provider: request body read after its release")

// GetRequestBody returns an empty pooled body, held by the caller until
// it posts it (PostRequestBody) or releases it.
func GetRequestBody() *RequestBody {
	b := requestBodies.Get().(*RequestBody)
	b.mu.Lock()
	b.refs, b.poster = 1, true
	b.B = b.B[:0]
	b.mu.Unlock()
	return b
}

// Release drops the caller's hold on a body it did not post. B must not be
// used after it.
func (b *RequestBody) Release() { b.dropPoster(b.use()) }

// dropPoster drops the poster's hold on the use gen of the body, once:
// when the post returns, or earlier, when the transport has sent the
// body and will not read it again (bodyReader.Sent), so that a request
// waiting for its response holds no buffer.
func (b *RequestBody) dropPoster(gen uint64) {
	b.mu.Lock()
	drop := b.poster && b.gen == gen
	b.poster = b.poster && !drop
	b.mu.Unlock()
	if drop {
		b.unref()
	}
}

// unref drops one hold, and returns the buffer to the pool after the last.
func (b *RequestBody) unref() {
	b.mu.Lock()
	b.refs--
	free := b.refs == 0
	if free {
		b.gen++
	}
	b.mu.Unlock()
	if free && cap(b.B) <= maxPooledRequest {
		requestBodies.Put(b)
	}
}

// use returns the current use of a body the caller holds.
func (b *RequestBody) use() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.gen
}

// reader returns a new hold on the body as a reader, or nil when the use
// gen has ended.
func (b *RequestBody) reader(r *bodyReader, gen uint64) *bodyReader {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gen != gen || b.refs == 0 {
		return nil
	}
	if r == nil {
		r = new(bodyReader)
	}
	b.refs++
	r.b.Store(b)
	r.gen = gen
	r.r.Reset(b.B)
	return r
}

// bodyReader reads a RequestBody. Its Close gives up its hold, once, and
// forgets the body: a reader can outlive its request by far (it lends its
// outRequest's room to a stream's response body, h1.BodyRoom), and a
// released buffer it still pointed to would stay alive with it once its
// pool let go of it. Its reads and its close are serialised with the
// body's release, so that no read can reach the buffer once it may be
// reused.
type bodyReader struct {
	b    atomic.Pointer[RequestBody] // nil once closed; set to nil under b's mu
	gen  uint64
	r    bytes.Reader
	room *h1.BodyRoom // the outRequest's, for a request's first reader
}

func (r *bodyReader) Read(p []byte) (int, error) {
	b := r.b.Load()
	if b == nil {
		return 0, errBodyReleased
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if r.b.Load() == nil || b.gen != r.gen { // closed meanwhile, or released
		return 0, errBodyReleased
	}
	return r.r.Read(p)
}

func (r *bodyReader) Close() error {
	b := r.b.Load()
	if b == nil {
		return nil
	}
	b.mu.Lock()
	if r.b.Load() == nil { // another Close came first
		b.mu.Unlock()
		return nil
	}
	open := b.gen == r.gen
	r.r.Reset(nil)
	r.b.Store(nil) // a Read that loaded b waits for b.mu, then sees it
	b.mu.Unlock()
	if open {
		b.unref()
	}
	return nil
}

// BodyRoom lends the response's body its room (h1.BodyRoom).
func (r *bodyReader) BodyRoom() *h1.BodyRoom { return r.room }

// Sent is told by the h1 transport that the request was written whole,
// and that neither this reader nor another of the body (GetBody) will be
// read again: the poster's hold goes, and the buffer with the reader's.
func (r *bodyReader) Sent() {
	if b := r.b.Load(); b != nil {
		b.dropPoster(r.gen)
	}
}

// getBody is the request's GetBody for a resend: a new reader of the same
// use of the body, or an error once that use has ended.
func (b *RequestBody) getBody(gen uint64) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		if r := b.reader(nil, gen); r != nil {
			return r, nil
		}
		return nil, errBodyReleased
	}
}
