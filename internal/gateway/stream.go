package gateway

import (
	"context"
	"time"

	"github.com/octomesh/octomesh"
)

// stream wraps a provider stream: it names the deployment in each chunk,
// measures time to first token, keeps the provider's usage (or counts what was
// relayed when the provider reports none), and records the outcome once, on
// Close. It is driven by one goroutine, like every ChatStream.
type stream struct {
	svc    *Service
	ctx    context.Context
	cancel context.CancelFunc
	inner  octomesh.ChatStream
	req    *octomesh.ChatRequest
	d      *octomesh.Deployment
	served *octomesh.Served
	start  time.Time

	cur      *octomesh.Chunk
	pending  bool // cur was prefetched and not yet returned by Next
	ttft     time.Duration
	usage    *octomesh.Usage
	relayed  int  // bytes of content and tool arguments relayed, for estimates
	finished bool // a finish_reason was seen
	closed   bool
}

func (s *stream) prefetch() bool {
	if !s.advance() {
		return false
	}
	s.pending = true
	return true
}

// Next advances to the next chunk.
func (s *stream) Next() bool {
	if s.closed {
		return false
	}
	if s.pending {
		s.pending = false
		return true
	}
	return s.advance()
}

func (s *stream) advance() bool {
	if !s.inner.Next() {
		return false
	}
	c := s.inner.Chunk()
	c.Model = s.d.Name
	if c.Usage != nil {
		u := *c.Usage
		s.usage = &u
	}
	for i := range c.Choices {
		ch := &c.Choices[i]
		n := len(ch.Delta.Content) + len(ch.Delta.Refusal)
		for _, tc := range ch.Delta.ToolCalls {
			n += len(tc.Function.Arguments)
		}
		if n > 0 && s.ttft == 0 {
			s.ttft = s.svc.now().Sub(s.start)
		}
		s.relayed += n
		if ch.FinishReason != "" {
			s.finished = true
		}
	}
	s.cur = c
	return true
}

// Chunk returns the current chunk.
func (s *stream) Chunk() *octomesh.Chunk { return s.cur }

// Err returns the error that ended the stream.
func (s *stream) Err() error {
	if err := s.inner.Err(); err != nil {
		return s.svc.upstreamErr(s.ctx, s.d, err)
	}
	return nil
}

// Close releases the upstream stream and records the outcome. The cost is
// that of the usage the provider reported, or — when it reported none, e.g.
// the stream was cut — an estimate from what was actually relayed, so error
// text is never billed.
func (s *stream) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.Err()
	cerr := s.inner.Close()
	s.cancel()
	var m metered
	if s.usage != nil {
		m = metered{Usage: *s.usage}
	} else {
		m = estimate(s.req, s.relayed)
	}
	s.served.Cost = s.d.Price.Cost(m.Usage)
	if err == nil && !s.finished && s.ctx.Err() == nil {
		err = octomesh.Errorf(octomesh.EUPSTREAM, "the provider ended the stream without a finish reason")
	}
	if s.ctx.Err() != nil && err == nil {
		err = s.ctx.Err()
	}
	s.svc.finish(s.ctx, outcome{route: "chat", stream: true, d: s.d, start: s.start, ttft: s.ttft, usage: m, cost: s.served.Cost, err: err})
	return cerr
}
