package provider

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sync"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/provider/h1"
)

// Body is a non-streaming response body read into a pooled buffer, so
// that a gateway decoding thousands of answers a second does not allocate
// (and grow, by doubling) a fresh buffer for each. Release returns the
// buffer; the bytes must not be used after it, nor kept by anything built
// from them (encoding/json copies what it decodes, so a decoded value is
// safe to keep).
type Body struct {
	b []byte
}

// Bytes returns the body, valid until Release.
func (b *Body) Bytes() []byte { return b.b }

// Release returns the buffer to the pool, unless it grew past
// maxPooledBody: one huge answer must not stay pinned in memory for good.
// It must be called once, after the last use of Bytes.
func (b *Body) Release() {
	if cap(b.b) > maxPooledBody {
		return
	}
	b.b = b.b[:0]
	bodyPool.Put(b)
}

const (
	// initialBody is the capacity of a new pooled buffer: a typical
	// completion (a few hundred tokens) fits without growing.
	initialBody = 8 << 10
	// maxPooledBody is the largest buffer kept for reuse.
	maxPooledBody = 256 << 10
)

// bodyPool holds idle Body buffers. A sync.Pool is the one kind of
// package-level state kept here: it holds no meaning, only spare memory,
// and the runtime empties it under memory pressure.
var bodyPool = sync.Pool{New: func() any { return &Body{b: make([]byte, 0, initialBody)} }}

// ReadBodyPooled is ReadBody into a pooled buffer: it reads a bounded
// non-streaming response body and closes it. On success the caller owns
// the Body and must Release it.
func ReadBodyPooled(ctx context.Context, providerID string, resp *http.Response) (*Body, error) {
	defer resp.Body.Close()
	b := bodyPool.Get().(*Body)
	var err error
	b.b, err = readAll(resp.Body, b.b[:0], resp.ContentLength, MaxResponseBody+1)
	if err != nil {
		b.Release()
		return nil, TransportError(ctx, providerID, err)
	}
	if len(b.b) > MaxResponseBody {
		b.Release()
		return nil, Upstream(providerID, octomesh.EUPSTREAM, "the provider's response is too large", resp.StatusCode)
	}
	return b, nil
}

// ReleaseHeader gives resp's header map back for reuse (h1.ReleaseHeader)
// and sets resp.Header to nil: for an adapter done with the header of a
// response that PostBytes returned, which nothing may read or keep any
// more (its strings aside).
func ReleaseHeader(resp *http.Response) { h1.ReleaseHeader(resp) }

// readAll appends what r holds, up to limit bytes, to buf. A known length
// (size ≥ 0) sizes the buffer once, with a spare byte so that the final
// read, which only reports the end, needs no growth. Only lengths up to
// maxPooledBody are trusted that far: a bigger claim grows the buffer as
// the bytes arrive, so a false Content-Length cannot make us allocate.
func readAll(r io.Reader, buf []byte, size int64, limit int) ([]byte, error) {
	if size >= 0 && size <= maxPooledBody && size < int64(limit) && cap(buf)-len(buf) < int(size)+1 {
		buf = append(make([]byte, 0, len(buf)+int(size)+1), buf...)
	}
	for {
		if len(buf) >= limit {
			return buf, nil
		}
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, max(512, len(buf))) // doubling, as io.ReadAll does
		}
		free := buf[len(buf):min(cap(buf), limit)]
		n, err := r.Read(free)
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
