package anthropicwire

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/octomesh/octomesh"
)

// Stream event types.
const (
	EventMessageStart      = "message_start"
	EventContentBlockStart = "content_block_start"
	EventContentBlockDelta = "content_block_delta"
	EventContentBlockStop  = "content_block_stop"
	EventMessageDelta      = "message_delta"
	EventMessageStop       = "message_stop"
	EventPing              = "ping"
	EventError             = "error"
)

// Content block delta types.
const (
	DeltaText      = "text_delta"
	DeltaInputJSON = "input_json_delta"
	DeltaThinking  = "thinking_delta"
	DeltaSignature = "signature_delta"
)

// StreamError is an "error" event received mid-stream. Message is the
// provider's text: for classification and logs, never for clients.
type StreamError struct {
	Type    string
	Message string
}

// Error implements error. It holds only the type: upstream text can echo
// prompt content.
func (e *StreamError) Error() string { return "anthropic stream error event: " + e.Type }

// StreamDecoder turns Anthropic stream events into canonical chunks: a role
// chunk on message_start, content deltas for text_delta, a tool call delta
// (index, id, type, name, empty arguments) when a tool_use block starts and
// argument fragments for its input_json_delta, a finish chunk on the
// message_delta carrying stop_reason, and on message_stop a usage chunk with
// no choices. Created is left zero for the caller to stamp.
//
// It is not safe for concurrent use; one decoder serves one stream.
type StreamDecoder struct {
	jsonTool string
	id       string
	model    string
	usage    Usage
	blocks   map[int]blockState
	tools    int // tool calls seen so far: the next canonical tool index
	started  bool
	finished bool
	done     bool
	jsonMode bool // the forced response_format tool has started
}

type blockKind int

const (
	blockSkip blockKind = iota // thinking and unknown blocks
	blockText
	blockTool
	blockAnswer // the forced response_format tool: its input is the answer
)

type blockState struct {
	kind blockKind
	tool int // canonical tool call index, for blockTool
}

// NewStreamDecoder returns a decoder for one stream. jsonTool is
// Request.JSONTool of the request (or "").
func NewStreamDecoder(jsonTool string) *StreamDecoder {
	return &StreamDecoder{jsonTool: jsonTool, blocks: map[int]blockState{}}
}

// Done reports whether message_stop has been seen: the stream is complete.
func (d *StreamDecoder) Done() bool { return d.done }

type streamEvent struct {
	Type         string        `json:"type"`
	Message      *Response     `json:"message"`
	Index        *int          `json:"index"`
	ContentBlock *ContentBlock `json:"content_block"`
	Delta        *eventDelta   `json:"delta"`
	Usage        *deltaUsage   `json:"usage"`
	Error        *ErrorDetail  `json:"error"`
}

type eventDelta struct {
	Type        string  `json:"type"`
	Text        string  `json:"text"`
	PartialJSON string  `json:"partial_json"`
	StopReason  *string `json:"stop_reason"`
}

// deltaUsage is message_delta's usage: cumulative totals, every field optional
// except output_tokens.
type deltaUsage struct {
	InputTokens              *int `json:"input_tokens"`
	CacheCreationInputTokens *int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int `json:"cache_read_input_tokens"`
	OutputTokens             *int `json:"output_tokens"`
}

// Decode consumes one event (name is the SSE event field, data its data) and
// returns the chunks it produces, often none. An "error" event returns a
// *StreamError; a malformed or out-of-order event returns another error.
// Events after message_stop are ignored.
func (d *StreamDecoder) Decode(name string, data []byte) ([]*octomesh.Chunk, error) {
	if d.done {
		return nil, nil
	}
	var ev streamEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, fmt.Errorf("decode %s event: %w", safeQuote(name), err)
	}
	typ := ev.Type
	if typ == "" {
		typ = name
	}
	switch typ {
	case EventPing:
		return nil, nil
	case EventError:
		if ev.Error == nil {
			return nil, &StreamError{Type: ErrAPI}
		}
		return nil, &StreamError{Type: ev.Error.Type, Message: ev.Error.Message}
	case EventMessageStart:
		return d.messageStart(&ev)
	}
	if !d.started {
		return nil, fmt.Errorf("%s event before message_start", safeQuote(typ))
	}
	switch typ {
	case EventContentBlockStart:
		return d.blockStart(&ev)
	case EventContentBlockDelta:
		return d.blockDelta(&ev)
	case EventContentBlockStop:
		return nil, nil
	case EventMessageDelta:
		return d.messageDelta(&ev)
	case EventMessageStop:
		if !d.finished {
			return nil, errors.New("message_stop before a message_delta with stop_reason")
		}
		d.done = true
		u := d.chunk()
		u.Choices = []octomesh.ChunkChoice{}
		u.Usage = CanonicalUsage(d.usage)
		return []*octomesh.Chunk{u}, nil
	}
	return nil, nil // event types added later are skipped
}

func (d *StreamDecoder) messageStart(ev *streamEvent) ([]*octomesh.Chunk, error) {
	if d.started {
		return nil, errors.New("second message_start")
	}
	if ev.Message == nil {
		return nil, errors.New("message_start without message")
	}
	d.started = true
	d.id, d.model, d.usage = ev.Message.ID, ev.Message.Model, ev.Message.Usage
	c := d.chunk()
	c.Choices = []octomesh.ChunkChoice{{Delta: octomesh.Delta{Role: octomesh.RoleAssistant}}}
	return []*octomesh.Chunk{c}, nil
}

func (d *StreamDecoder) blockStart(ev *streamEvent) ([]*octomesh.Chunk, error) {
	if ev.Index == nil || ev.ContentBlock == nil {
		return nil, errors.New("content_block_start without index or content_block")
	}
	if _, dup := d.blocks[*ev.Index]; dup {
		return nil, fmt.Errorf("content block %d started twice", *ev.Index)
	}
	b := ev.ContentBlock
	switch b.Type {
	case BlockText:
		d.blocks[*ev.Index] = blockState{kind: blockText}
		if b.Text != "" && d.jsonTool == "" {
			return []*octomesh.Chunk{d.content(b.Text)}, nil
		}
	case BlockToolUse:
		if d.jsonTool != "" && b.Name == d.jsonTool {
			d.blocks[*ev.Index] = blockState{kind: blockAnswer}
			d.jsonMode = true
			return nil, nil
		}
		idx := d.tools
		d.tools++
		d.blocks[*ev.Index] = blockState{kind: blockTool, tool: idx}
		c := d.chunk()
		c.Choices = []octomesh.ChunkChoice{{Delta: octomesh.Delta{ToolCalls: []octomesh.ToolCall{{
			Index:    &idx,
			ID:       b.ID,
			Type:     "function",
			Function: octomesh.FunctionCall{Name: b.Name},
		}}}}}
		return []*octomesh.Chunk{c}, nil
	default:
		d.blocks[*ev.Index] = blockState{kind: blockSkip}
	}
	return nil, nil
}

func (d *StreamDecoder) blockDelta(ev *streamEvent) ([]*octomesh.Chunk, error) {
	if ev.Index == nil || ev.Delta == nil {
		return nil, errors.New("content_block_delta without index or delta")
	}
	st, ok := d.blocks[*ev.Index]
	if !ok {
		return nil, fmt.Errorf("delta for content block %d that never started", *ev.Index)
	}
	switch {
	case st.kind == blockText && ev.Delta.Type == DeltaText:
		if ev.Delta.Text == "" || d.jsonTool != "" {
			return nil, nil
		}
		return []*octomesh.Chunk{d.content(ev.Delta.Text)}, nil
	case st.kind == blockAnswer && ev.Delta.Type == DeltaInputJSON:
		if ev.Delta.PartialJSON == "" {
			return nil, nil
		}
		return []*octomesh.Chunk{d.content(ev.Delta.PartialJSON)}, nil
	case st.kind == blockTool && ev.Delta.Type == DeltaInputJSON:
		if ev.Delta.PartialJSON == "" {
			return nil, nil
		}
		idx := st.tool
		c := d.chunk()
		c.Choices = []octomesh.ChunkChoice{{Delta: octomesh.Delta{ToolCalls: []octomesh.ToolCall{{
			Index:    &idx,
			Function: octomesh.FunctionCall{Arguments: ev.Delta.PartialJSON},
		}}}}}
		return []*octomesh.Chunk{c}, nil
	}
	// thinking_delta, signature_delta, citations and anything newer: skipped.
	return nil, nil
}

func (d *StreamDecoder) messageDelta(ev *streamEvent) ([]*octomesh.Chunk, error) {
	if u := ev.Usage; u != nil {
		set := func(dst *int, v *int) {
			if v != nil {
				*dst = *v
			}
		}
		set(&d.usage.InputTokens, u.InputTokens)
		set(&d.usage.CacheCreationInputTokens, u.CacheCreationInputTokens)
		set(&d.usage.CacheReadInputTokens, u.CacheReadInputTokens)
		set(&d.usage.OutputTokens, u.OutputTokens)
	}
	if ev.Delta == nil || ev.Delta.StopReason == nil || d.finished {
		return nil, nil
	}
	d.finished = true
	finish := FinishReason(*ev.Delta.StopReason)
	if d.jsonMode && finish == octomesh.FinishToolCalls {
		finish = octomesh.FinishStop
	}
	c := d.chunk()
	c.Choices = []octomesh.ChunkChoice{{Delta: octomesh.Delta{}, FinishReason: finish}}
	return []*octomesh.Chunk{c}, nil
}

func (d *StreamDecoder) content(text string) *octomesh.Chunk {
	c := d.chunk()
	c.Choices = []octomesh.ChunkChoice{{Delta: octomesh.Delta{Content: text}}}
	return c
}

func (d *StreamDecoder) chunk() *octomesh.Chunk {
	return &octomesh.Chunk{ID: d.id, Object: octomesh.ObjectChatCompletionChunk, Model: d.model}
}
