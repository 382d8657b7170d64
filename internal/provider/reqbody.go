package provider

import (
	"bytes"
	"errors"
	"io"
	"sync"
)

// RequestBody is an upstream request's body encoded into a pooled buffer:
// the largest allocation of a relayed request by bytes, made once per
// request otherwise. The buffer goes back to the pool only when nothing
// can read it any more: the poster has released it and every reader a
// transport was given has been closed (a transport may read the body
// after RoundTrip returns, and takes a new reader for a resend). A reader
// of an earlier use fails rather than read the next request's bytes.
type RequestBody struct {
	B []byte // the body; append to B[:0] before posting

	mu   sync.Mutex
	refs int    // the poster's hold and each reader not yet closed
	gen  uint64 // counts the buffer's returns to the pool
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
	b.refs = 1
	b.B = b.B[:0]
	b.mu.Unlock()
	return b
}

// Release drops the caller's hold on a body it did not post. B must not be
// used after it.
func (b *RequestBody) Release() { b.unref() }

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
	r.b, r.gen = b, gen
	r.r.Reset(b.B)
	return r
}

// bodyReader reads a RequestBody. Its Close gives up its hold, once; its
// reads and its close are serialised with the body's release, so that no
// read can reach the buffer once it may be reused.
type bodyReader struct {
	b      *RequestBody
	gen    uint64
	r      bytes.Reader
	closed bool // under b.mu
}

func (r *bodyReader) Read(p []byte) (int, error) {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	if r.closed || r.b.gen != r.gen {
		return 0, errBodyReleased
	}
	return r.r.Read(p)
}

func (r *bodyReader) Close() error {
	b := r.b
	b.mu.Lock()
	open := !r.closed && b.gen == r.gen
	if open {
		r.closed = true
		r.r.Reset(nil)
	}
	b.mu.Unlock()
	if open {
		b.unref()
	}
	return nil
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
