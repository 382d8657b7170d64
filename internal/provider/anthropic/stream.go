package anthropic

import (
	"context"
	"errors"
	"io"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/anthropicwire"
	"github.com/octomesh/octomesh/internal/provider"
)

// ChatStream sends a streaming request and returns the stream once the
// upstream has answered with a 2xx status. Errors before that are returned
// as Chat returns them; errors during the stream end it (see stream.Err).
func (c *Client) ChatStream(ctx context.Context, req *octomesh.ChatRequest) (octomesh.ChatStream, error) {
	body, err := c.encode(req, true)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	resp, err := c.post(ctx, body)
	if err != nil {
		cancel()
		return nil, err
	}
	return &stream{
		ctx:     ctx,
		cancel:  cancel,
		id:      c.id,
		body:    resp.Body,
		sse:     provider.NewSSEReader(resp.Body, 0),
		dec:     anthropicwire.NewStreamDecoder(body.JSONTool),
		created: c.now().Unix(),
	}, nil
}

// stream is the ChatStream over one upstream response. It owns no goroutine:
// Next reads the response body directly.
type stream struct {
	ctx     context.Context // the request's context, cancelled by Close
	cancel  context.CancelFunc
	id      string
	body    io.ReadCloser // not the response: its head is not kept while the stream runs
	sse     *provider.SSEReader
	dec     *anthropicwire.StreamDecoder
	created int64

	pending []*octomesh.Chunk
	cur     *octomesh.Chunk
	err     error
	ended   bool
	closed  bool
}

// Next advances to the next chunk, reading events until one produces a chunk.
func (s *stream) Next() bool {
	for {
		if len(s.pending) > 0 {
			s.cur = s.pending[0]
			s.pending = s.pending[1:]
			s.cur.Created = s.created
			return true
		}
		s.cur = nil
		if s.ended || s.closed {
			return false
		}
		if s.dec.Done() {
			s.ended = true
			return false
		}
		ev, err := s.sse.Next()
		if err != nil {
			s.fail(s.readError(err))
			return false
		}
		chunks, err := s.dec.Decode(ev.Name, ev.Data)
		if err != nil {
			s.fail(s.eventError(err))
			// Chunks decoded before the failing event have been delivered.
			return false
		}
		s.pending = append(s.pending, chunks...)
	}
}

// readError normalises a failure to read the next event.
func (s *stream) readError(err error) error {
	switch {
	case s.ctx.Err() != nil:
		return provider.TransportError(s.ctx, s.id, s.ctx.Err())
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return provider.Upstream(s.id, octomesh.EUPSTREAM, "the provider's stream ended before the message was complete", 0).WithCause(err)
	case errors.Is(err, provider.ErrEventTooLarge):
		return provider.BadResponse(s.id, err)
	}
	return provider.TransportError(s.ctx, s.id, err)
}

// eventError classifies an "error" event as if it were an HTTP error of the
// status Anthropic documents for its type; anything else is a malformed stream.
func (s *stream) eventError(err error) error {
	var se *anthropicwire.StreamError
	if errors.As(err, &se) {
		return provider.ClassifyDetail(s.id, anthropicwire.ErrorTypeStatus(se.Type), nil,
			provider.UpstreamDetail{Type: se.Type, Message: se.Message})
	}
	return provider.BadResponse(s.id, err)
}

func (s *stream) fail(err error) {
	s.err = err
	s.ended = true
}

// Chunk returns the current chunk, valid until the next call to Next.
func (s *stream) Chunk() *octomesh.Chunk { return s.cur }

// Err returns the error that ended the stream, or nil.
func (s *stream) Err() error { return s.err }

// Close aborts the upstream request if it is still running and releases the
// connection. It is safe to call more than once.
func (s *stream) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.cancel()
	s.body.Close()
	s.sse.Release()
	return nil
}

// Buffered reports stream bytes received but not yet parsed (see
// provider.SSEReader.Buffered).
func (s *stream) Buffered() int { return s.sse.Buffered() }

// WaitData waits, holding no read buffer, for the next event's bytes when
// no chunk is pending (octomesh.DataWaiter): what Next would do first.
func (s *stream) WaitData() {
	if len(s.pending) > 0 || s.ended || s.closed || s.dec.Done() {
		return
	}
	s.sse.WaitData()
}
