package gemini

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/provider"
)

// maxStreamEvent bounds one SSE event (Gemini sends small deltas; inline
// images are never streamed back by this adapter's requests).
const maxStreamEvent = 8 << 20

// stream adapts Gemini's server-sent events to canonical chunks.
//
// Gemini's stream has no terminator event: each event is a complete
// GenerateContentResponse holding the next delta, and a candidate is done
// when an event carries its finishReason. The stream is complete when the
// body ends cleanly after every candidate seen has finished; a body that
// ends earlier is a truncated answer and ends the stream with EUPSTREAM.
type stream struct {
	// ctx is the request's context, kept to tell a client cancellation from
	// a transport failure when a read fails. The stream is request-scoped.
	ctx    context.Context
	cancel context.CancelFunc
	body   io.ReadCloser
	sse    *provider.SSEReader

	providerID string
	model      string
	created    int64
	id         string

	cands   map[int]*candState // by candidate index
	usage   *usageMetadata     // the last usage seen
	pending []octomesh.Chunk   // chunks decoded but not yet returned
	cur     octomesh.Chunk
	err     error
	done    bool
}

// candState tracks one candidate across events.
type candState struct {
	calls    int    // tool calls emitted so far
	finished string // the canonical finish reason, once sent
}

func newStream(ctx context.Context, cancel context.CancelFunc, providerID, model string, received time.Time, resp *http.Response) *stream {
	return &stream{
		ctx:        ctx,
		cancel:     cancel,
		body:       resp.Body,
		sse:        provider.NewSSEReader(resp.Body, maxStreamEvent),
		providerID: providerID,
		model:      model,
		created:    received.Unix(),
		cands:      map[int]*candState{},
	}
}

// Next advances to the next chunk; false at the end of the stream or on error.
func (s *stream) Next() bool {
	for len(s.pending) == 0 {
		if s.done {
			return false
		}
		if err := s.readEvent(); err != nil {
			s.fail(err)
			return false
		}
	}
	s.cur = s.pending[0]
	s.pending = s.pending[1:]
	return true
}

// Chunk returns the current chunk, valid until the next call to Next.
func (s *stream) Chunk() *octomesh.Chunk { return &s.cur }

// Err returns the error that ended the stream, or nil.
func (s *stream) Err() error { return s.err }

// Close aborts the upstream request if it is still running. It is safe to
// call more than once.
func (s *stream) Close() error {
	s.done = true
	s.pending = nil
	s.cancel()
	s.body.Close()
	s.sse.Release()
	return nil
}

// fail ends the stream with err and releases the connection.
func (s *stream) fail(err error) {
	s.err = err
	s.done = true
	s.pending = nil
	s.cancel()
	s.body.Close()
}

// readEvent reads one SSE event and queues the chunks it yields. At the end
// of the body it checks completeness and queues the usage chunk.
func (s *stream) readEvent() error {
	ev, err := s.sse.Next()
	switch {
	case err == io.EOF:
		return s.finish()
	case errors.Is(err, io.ErrUnexpectedEOF):
		return truncated(s.providerID, err)
	case errors.Is(err, provider.ErrEventTooLarge):
		return provider.BadResponse(s.providerID, err)
	case err != nil:
		return provider.TransportError(s.ctx, s.providerID, err)
	}
	var gr generateResponse
	if err := json.Unmarshal(ev.Data, &gr); err != nil {
		return provider.BadResponse(s.providerID, fmt.Errorf("decode stream event: %w", err))
	}
	return s.handle(&gr)
}

// handle queues the chunks of one decoded event.
func (s *stream) handle(gr *generateResponse) error {
	if gr.Error != nil {
		return classifyAPIError(s.providerID, nil, gr.Error)
	}
	if len(gr.Candidates) == 0 && gr.PromptFeedback != nil && gr.PromptFeedback.BlockReason != "" {
		return noCandidates(s.providerID, gr)
	}
	if s.id == "" {
		s.id = responseID(gr.ResponseID, []byte(fmt.Sprint(s.created, s.model)))
		if gr.ModelVersion != "" {
			s.model = gr.ModelVersion
		}
	}
	if gr.UsageMetadata != nil {
		s.usage = gr.UsageMetadata
	}
	for _, c := range gr.Candidates {
		if err := s.candidate(&c); err != nil {
			return err
		}
	}
	return nil
}

// candidate queues one candidate's delta: its role chunk the first time it
// appears, then text, then whole tool calls (Gemini never splits a call
// across events), then its finish chunk.
func (s *stream) candidate(c *candidate) error {
	st, seen := s.cands[c.Index]
	if !seen {
		st = &candState{}
		s.cands[c.Index] = st
		s.emit(octomesh.ChunkChoice{Index: c.Index, Delta: octomesh.Delta{Role: octomesh.RoleAssistant}})
	}
	if st.finished != "" {
		return nil // nothing may follow a candidate's finish
	}
	text, calls := candidateParts(c.Content, st.calls)
	if text != "" {
		s.emit(octomesh.ChunkChoice{Index: c.Index, Delta: octomesh.Delta{Content: text}})
	}
	if len(calls) > 0 {
		st.calls += len(calls)
		s.emit(octomesh.ChunkChoice{Index: c.Index, Delta: octomesh.Delta{ToolCalls: calls}})
	}
	finish, err := finishReason(s.providerID, c.FinishReason, st.calls > 0)
	if err != nil {
		return err
	}
	if finish != "" {
		st.finished = finish
		s.emit(octomesh.ChunkChoice{Index: c.Index, FinishReason: finish})
	}
	return nil
}

// finish handles a clean end of the body: complete only if every candidate
// finished; then the usage chunk, if Gemini reported usage.
func (s *stream) finish() error {
	if len(s.cands) == 0 {
		return truncated(s.providerID, errors.New("stream ended without candidates"))
	}
	for i, st := range s.cands {
		if st.finished == "" {
			return truncated(s.providerID, fmt.Errorf("stream ended before candidate %d finished", i))
		}
	}
	s.done = true
	if u := usage(s.usage); u != nil {
		s.pending = append(s.pending, octomesh.Chunk{
			ID: s.id, Object: octomesh.ObjectChatCompletionChunk, Created: s.created, Model: s.model,
			Choices: []octomesh.ChunkChoice{}, Usage: u,
		})
	}
	return nil
}

// emit queues a chunk holding one choice delta.
func (s *stream) emit(cc octomesh.ChunkChoice) {
	s.pending = append(s.pending, octomesh.Chunk{
		ID: s.id, Object: octomesh.ObjectChatCompletionChunk, Created: s.created, Model: s.model,
		Choices: []octomesh.ChunkChoice{cc},
	})
}

// truncated reports a stream that ended before the answer was complete.
func truncated(providerID string, cause error) error {
	return provider.Upstream(providerID, octomesh.EUPSTREAM, "the provider's stream ended before the answer was complete", 0).WithCause(cause)
}

// Buffered reports stream bytes received but not yet parsed (see
// provider.SSEReader.Buffered).
func (s *stream) Buffered() int { return s.sse.Buffered() }

// WaitData waits, holding no read buffer, for the next event's bytes when
// no chunk is pending (octomesh.DataWaiter): what Next would do first.
func (s *stream) WaitData() {
	if len(s.pending) > 0 || s.done {
		return
	}
	s.sse.WaitData()
}
