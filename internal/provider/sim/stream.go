package sim

import (
	"context"
	"strings"
	"time"

	"github.com/octomesh/octomesh"
)

// ChatStream answers req as a stream of chunks: a role chunk per choice
// (after the TTFT), content deltas of a few tokens each (or tool-call
// deltas: id, type and name first, then argument fragments) paced by the
// model's output speed, a finish chunk per choice, and always a final usage
// chunk with no choices. Choices of an n>1 request are interleaved.
//
// Immediate faults and invalid requests fail ChatStream itself, with the
// errors Chat documents; a timeout blocks ChatStream until ctx ends. A cut,
// malformed or stalled stream yields some chunks first, then ends with
// EUPSTREAM or (stalled) blocks until ctx ends. The stream starts no
// goroutine; Close or cancelling ctx ends it.
func (f *Fleet) ChatStream(ctx context.Context, req *octomesh.ChatRequest) (octomesh.ChatStream, error) {
	cl, err := f.prepare(req, true)
	if err != nil {
		return nil, err
	}
	if cl.fault == FaultTimeout {
		return nil, f.hang(ctx)
	}
	s := &stream{f: f, events: cl.events(), end: -1}
	switch cl.fault {
	case FaultCut, FaultStall, FaultMalformed:
		// Strike before the first finish chunk, after at least one chunk.
		first := len(s.events)
		for i, e := range s.events {
			if len(e.chunk.Choices) > 0 && e.chunk.Choices[0].FinishReason != "" {
				first = i
				break
			}
		}
		s.end = 1 + cl.k.rng("strike", cl.attempt).IntN(max(first, 1))
		s.fault = cl.fault
	}
	s.ctx, s.cancel = context.WithCancel(ctx)
	return s, nil
}

// event is one planned chunk and the delay before it.
type event struct {
	wait  time.Duration
	chunk *octomesh.Chunk
}

// events plans the whole stream: role chunks, then the choices' deltas
// interleaved round by round (each round waits for its largest delta), then
// the usage chunk.
func (cl *call) events() []event {
	mk := func(choices ...octomesh.ChunkChoice) *octomesh.Chunk {
		return &octomesh.Chunk{ID: cl.id, Object: octomesh.ObjectChatCompletionChunk, Created: cl.created,
			Model: cl.req.Model, Choices: choices, SystemFingerprint: cl.fp}
	}
	type delta struct {
		tokens int
		choice octomesh.ChunkChoice
	}
	per := make([][]delta, len(cl.answers))
	for i, a := range cl.answers {
		r := cl.k.rng("chunks", uint64(i))
		add := func(tokens int, d octomesh.Delta) {
			per[i] = append(per[i], delta{tokens, octomesh.ChunkChoice{Index: i, Delta: d}})
		}
		for toks := splitTokens(a.text); len(toks) > 0; {
			n := min(len(toks), 1+r.IntN(4))
			add(n, octomesh.Delta{Content: strings.Join(toks[:n], "")})
			toks = toks[n:]
		}
		for j, tc := range a.toolCalls {
			index := j
			add(1, octomesh.Delta{ToolCalls: []octomesh.ToolCall{{Index: &index, ID: tc.ID, Type: tc.Type,
				Function: octomesh.FunctionCall{Name: tc.Function.Name}}}})
			for toks := splitTokens(tc.Function.Arguments); len(toks) > 0; {
				n := min(len(toks), 2+r.IntN(5))
				index := j
				add(n, octomesh.Delta{ToolCalls: []octomesh.ToolCall{{Index: &index,
					Function: octomesh.FunctionCall{Arguments: strings.Join(toks[:n], "")}}}})
				toks = toks[n:]
			}
		}
		per[i] = append(per[i], delta{0, octomesh.ChunkChoice{Index: i, FinishReason: a.finish}})
	}
	var out []event
	for i := range cl.answers {
		wait := time.Duration(0)
		if i == 0 {
			wait = cl.timing.ttft
		}
		out = append(out, event{wait, mk(octomesh.ChunkChoice{Index: i, Delta: octomesh.Delta{Role: octomesh.RoleAssistant}})})
	}
	for round := 0; ; round++ {
		start, most := len(out), 0
		for i := range per {
			if round < len(per[i]) {
				d := per[i][round]
				most = max(most, d.tokens)
				out = append(out, event{0, mk(d.choice)})
			}
		}
		if len(out) == start {
			break
		}
		out[start].wait = time.Duration(most) * cl.timing.perToken
	}
	usage := mk()
	usage.Choices = []octomesh.ChunkChoice{}
	usage.Usage = cl.usage()
	return append(out, event{0, usage})
}

// stream is the fleet's ChatStream: a pull iterator over planned events.
// It is driven by one goroutine; Close may be called from another.
type stream struct {
	f      *Fleet
	ctx    context.Context
	cancel context.CancelFunc
	events []event
	end    int   // index at which a fault strikes, -1 for none
	fault  Fault // the striking fault
	i      int
	cur    *octomesh.Chunk
	err    error
	done   bool
}

// Next waits for and advances to the next chunk. It returns false at the
// end of the stream, on a fault, or when ctx is cancelled or the stream
// closed.
func (s *stream) Next() bool {
	if s.done {
		return false
	}
	if s.i == s.end {
		if s.fault == FaultStall {
			s.finish(s.f.hang(s.ctx))
		} else {
			s.finish(s.f.lateError(s.fault))
		}
		return false
	}
	if s.i >= len(s.events) {
		s.finish(nil)
		return false
	}
	e := s.events[s.i]
	if err := s.f.sleep(s.ctx, e.wait); err != nil {
		s.finish(err)
		return false
	}
	s.cur = e.chunk
	s.i++
	return true
}

func (s *stream) finish(err error) {
	s.err, s.cur, s.done = err, nil, true
	s.cancel()
}

// Chunk returns the current chunk, valid until the next call to Next.
func (s *stream) Chunk() *octomesh.Chunk { return s.cur }

// Err returns the error that ended the stream, or nil after a clean end.
// A stream closed before its end reports the context's cancellation.
func (s *stream) Err() error { return s.err }

// Close ends the stream. It is safe to call more than once, and from a
// goroutine other than the one calling Next (a blocked Next then returns).
func (s *stream) Close() error {
	s.cancel()
	return nil
}

var _ octomesh.ChatStream = (*stream)(nil)
