package anthropicwire

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sync"

	"github.com/octomesh/octomesh"
)

// StreamWriter writes a canonical chunk stream as Anthropic server-sent
// events (the inbound /v1/messages endpoint with "stream": true):
//
//	message_start                       on the first chunk (or Ping)
//	content_block_start/delta/stop      a text block for content, a tool_use
//	                                    block per tool call, indexes 0, 1, 2 …
//	                                    in the order the blocks open
//	message_delta, message_stop         on Finish, with the stop reason and usage
//
// The canonical stream reports usage only in its last chunk, so
// message_start's usage is zero and message_delta's usage carries the totals
// (input_tokens and cache counts as well as output_tokens, as Anthropic's own
// message_delta does).
//
// Tool calls must arrive one after another, as every provider streams them:
// a fragment for a tool call whose block was already closed cannot be
// expressed in Anthropic's format and makes WriteChunk fail.
//
// Every method calls flush (if not nil) after writing, so events reach the
// client promptly. A write error is sticky. StreamWriter is not safe for
// concurrent use.
type StreamWriter struct {
	w     io.Writer
	flush func()
	id    string
	model string

	started  bool
	finished bool
	open     int         // index of the open block, -1 for none
	openTool bool        // the open block is a tool_use block
	next     int         // index of the next block
	tools    map[int]int // canonical tool call index → block index
	stop     string
	usage    *octomesh.Usage
	buf      *bytes.Buffer // lent from eventBufs while events are built; nil between writes
	err      error
}

// eventBufs lends the buffer events are built in, from the first event to
// the write: a stream waiting for its next token holds none.
var eventBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// out returns the buffer to build events in, taking one if needed.
func (s *StreamWriter) out() *bytes.Buffer {
	if s.buf == nil {
		s.buf = eventBufs.Get().(*bytes.Buffer)
	}
	return s.buf
}

// NewStreamWriter returns a writer of one message to w. id is the message id
// (prefixed "msg_" if it lacks it; "" takes the first chunk's id) and model
// the model name the client sees ("" takes the first chunk's model).
func NewStreamWriter(w io.Writer, flush func(), id, model string) *StreamWriter {
	return &StreamWriter{w: w, flush: flush, id: id, model: model, open: -1, tools: map[int]int{}}
}

// errFinished is returned by writes after Finish or WriteError.
var errFinished = errors.New("anthropicwire: stream already finished")

// WriteChunk writes the events for one canonical chunk. Only choice 0 exists
// in Anthropic's format; other choices are an error. A finish reason closes
// the open block and is kept for Finish; a usage chunk's usage is kept for
// Finish.
func (s *StreamWriter) WriteChunk(c *octomesh.Chunk) error {
	if err := s.check(); err != nil {
		return err
	}
	s.start(c.ID, c.Model)
	for i := range c.Choices {
		ch := &c.Choices[i]
		if ch.Index != 0 {
			return errors.New("anthropicwire: the Messages format has only one choice")
		}
		if text := ch.Delta.Content + ch.Delta.Refusal; text != "" {
			s.textDelta(text)
		}
		for j, tc := range ch.Delta.ToolCalls {
			idx := j
			if tc.Index != nil {
				idx = *tc.Index
			}
			if err := s.toolDelta(idx, &tc); err != nil {
				return err
			}
		}
		if ch.FinishReason != "" {
			s.closeBlock()
			s.stop = StopReason(ch.FinishReason)
		}
	}
	if c.Usage != nil {
		u := *c.Usage
		s.usage = &u
	}
	return s.emit()
}

// Ping writes a ping event (a keep-alive), after message_start if the message
// has not started yet.
func (s *StreamWriter) Ping() error {
	if err := s.check(); err != nil {
		return err
	}
	s.start("", "")
	s.event(EventPing, struct {
		Type string `json:"type"`
	}{EventPing})
	return s.emit()
}

// Finish closes the open block and writes message_delta (stop reason, usage)
// and message_stop. Without a finish reason in the stream the stop reason is
// end_turn.
func (s *StreamWriter) Finish() error {
	if err := s.check(); err != nil {
		return err
	}
	s.start("", "")
	s.closeBlock()
	stop := s.stop
	if stop == "" {
		stop = StopEndTurn
	}
	type delta struct {
		StopReason   string  `json:"stop_reason"`
		StopSequence *string `json:"stop_sequence"`
	}
	type usage struct {
		InputTokens              *int `json:"input_tokens,omitempty"`
		CacheCreationInputTokens *int `json:"cache_creation_input_tokens,omitempty"`
		CacheReadInputTokens     *int `json:"cache_read_input_tokens,omitempty"`
		OutputTokens             int  `json:"output_tokens"`
	}
	var u usage
	if s.usage != nil {
		w := WireUsage(s.usage)
		u = usage{&w.InputTokens, &w.CacheCreationInputTokens, &w.CacheReadInputTokens, w.OutputTokens}
	}
	s.event(EventMessageDelta, struct {
		Type  string `json:"type"`
		Delta delta  `json:"delta"`
		Usage usage  `json:"usage"`
	}{EventMessageDelta, delta{StopReason: stop}, u})
	s.event(EventMessageStop, struct {
		Type string `json:"type"`
	}{EventMessageStop})
	s.finished = true
	return s.emit()
}

// WriteError writes an error event, {"type":"error","error":{"type":errType,
// "message":message}}, as Anthropic does when a stream fails after it began,
// and ends the stream. message must be client-safe.
func (s *StreamWriter) WriteError(errType, message string) error {
	if err := s.check(); err != nil {
		return err
	}
	b := s.out()
	b.WriteString("event: " + EventError + "\ndata: ")
	b.Write(ErrorBody(errType, message))
	b.WriteString("\n\n")
	s.finished = true
	return s.emit()
}

// WriteErr is WriteError for an error: its code's Anthropic type and its
// client-safe message.
func (s *StreamWriter) WriteErr(err error) error {
	return s.WriteError(ErrorType(octomesh.ErrorCodeOf(err)), octomesh.ErrorMessage(err))
}

func (s *StreamWriter) check() error {
	if s.err != nil {
		return s.err
	}
	if s.finished {
		return errFinished
	}
	return nil
}

// start writes message_start once.
func (s *StreamWriter) start(id, model string) {
	if s.started {
		return
	}
	s.started = true
	if s.id == "" {
		s.id = id
	}
	if s.model == "" {
		s.model = model
	}
	s.event(EventMessageStart, struct {
		Type    string   `json:"type"`
		Message Response `json:"message"`
	}{EventMessageStart, Response{
		ID:      MessageID(s.id),
		Type:    "message",
		Role:    "assistant",
		Model:   s.model,
		Content: []ContentBlock{},
	}})
}

func (s *StreamWriter) textDelta(text string) {
	if s.open < 0 || s.openTool {
		s.closeBlock()
		s.openBlock(ContentBlock{Type: BlockText}, false)
	}
	s.event(EventContentBlockDelta, blockDeltaEvent{EventContentBlockDelta, s.open, wireDelta{Type: DeltaText, Text: &text}})
}

func (s *StreamWriter) toolDelta(idx int, tc *octomesh.ToolCall) error {
	block, seen := s.tools[idx]
	if !seen {
		s.closeBlock()
		block = s.next
		s.tools[idx] = block
		s.openBlock(ContentBlock{Type: BlockToolUse, ID: tc.ID, Name: tc.Function.Name}, true)
	} else if block != s.open {
		return errors.New("anthropicwire: interleaved tool call deltas cannot be written as Anthropic events")
	}
	if args := tc.Function.Arguments; args != "" {
		s.event(EventContentBlockDelta, blockDeltaEvent{EventContentBlockDelta, block, wireDelta{Type: DeltaInputJSON, PartialJSON: &args}})
	}
	return nil
}

func (s *StreamWriter) openBlock(b ContentBlock, tool bool) {
	s.open, s.openTool = s.next, tool
	s.next++
	s.event(EventContentBlockStart, struct {
		Type         string       `json:"type"`
		Index        int          `json:"index"`
		ContentBlock ContentBlock `json:"content_block"`
	}{EventContentBlockStart, s.open, b})
}

func (s *StreamWriter) closeBlock() {
	if s.open < 0 {
		return
	}
	s.event(EventContentBlockStop, struct {
		Type  string `json:"type"`
		Index int    `json:"index"`
	}{EventContentBlockStop, s.open})
	s.open, s.openTool = -1, false
}

type blockDeltaEvent struct {
	Type  string    `json:"type"`
	Index int       `json:"index"`
	Delta wireDelta `json:"delta"`
}

type wireDelta struct {
	Type        string  `json:"type"`
	Text        *string `json:"text,omitempty"`
	PartialJSON *string `json:"partial_json,omitempty"`
}

// event appends one SSE event to the buffer.
func (s *StreamWriter) event(name string, data any) {
	b, err := json.Marshal(data)
	if err != nil {
		s.err = err
		return
	}
	out := s.out()
	out.WriteString("event: ")
	out.WriteString(name)
	out.WriteString("\ndata: ")
	out.Write(b)
	out.WriteString("\n\n")
}

// emit writes the buffered events and flushes.
func (s *StreamWriter) emit() error {
	if s.err != nil {
		return s.err
	}
	if s.buf != nil {
		_, err := s.w.Write(s.buf.Bytes())
		s.buf.Reset()
		if s.buf.Cap() <= 64<<10 { // a rare huge event does not stay pinned
			eventBufs.Put(s.buf)
		}
		s.buf = nil
		if err != nil {
			s.err = err
			return err
		}
		if s.flush != nil {
			s.flush()
		}
	}
	return nil
}
