package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/provider"
)

// ChatStream sends a streaming chat completion request (whatever
// req.Stream says) and returns a pull iterator over canonical chunks; see
// the package documentation for how chunks are normalised. Errors before the
// first byte are returned here; later ones end the stream and are reported
// by its Err. The caller must Close the stream; cancelling ctx aborts the
// upstream request. req is not modified.
func (c *Client) ChatStream(ctx context.Context, req *octomesh.ChatRequest) (octomesh.ChatStream, error) {
	// The request runs on ctx itself, not on a context of its own to
	// cancel at Close: closing the body is what ends the request (it
	// stops the transport's watch of ctx, and closes or drains the
	// connection), and a cancel after it reached nothing — while a context
	// of its own cost three allocations per stream.
	resp, err := c.postChat(ctx, req, true)
	if err != nil {
		return nil, err
	}
	jsonBody := isJSON(resp.Header)
	provider.ReleaseHeader(resp) // nothing else of it is read
	if jsonBody {
		// The server answered with a plain JSON body instead of an event
		// stream: an error object, or a server that ignored stream: true.
		b, err := provider.ReadBody(ctx, c.id, resp)
		if err != nil {
			return nil, err
		}
		return nil, jsonInsteadOfStream(c.id, b)
	}
	return newStream(ctx, noCancel, c.id, resp.Body), nil
}

// noCancel is the cancel of a stream whose body's Close ends its request.
func noCancel() {}

// isJSON reports whether the response's Content-Type is application/json.
func isJSON(h http.Header) bool {
	v := h.Get("Content-Type")
	if !containsFold(v, "application/json") {
		return false // not JSON, whatever the parse says: spare its allocations
	}
	mt, _, err := mime.ParseMediaType(v)
	return err == nil && mt == "application/json"
}

// containsFold reports whether s contains the lower-case ASCII sub,
// ignoring ASCII case, or s is not ASCII (Unicode lower-casing, which
// mime.ParseMediaType applies, can turn other letters into ASCII ones).
func containsFold(s, sub string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return true
		}
	}
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// jsonInsteadOfStream explains a JSON body received where a stream was asked for.
func jsonInsteadOfStream(providerID string, b []byte) error {
	var w struct {
		Object string          `json:"object"`
		Error  json.RawMessage `json:"error"`
	}
	if json.Unmarshal(b, &w) == nil {
		if hasError(w.Error) {
			return embeddedError(providerID, w.Error)
		}
		if w.Object == "error" {
			return embeddedError(providerID, b)
		}
	}
	return provider.BadResponse(providerID, errors.New("JSON body where an event stream was requested"))
}

// maxEvent bounds one SSE event; a completion chunk is a few hundred bytes.
const maxEvent = 1 << 20

// maxChoices bounds a choice index: OpenAI allows n up to 128, and an index
// beyond that is not a choice the caller asked for.
const maxChoices = 128

// stream is the ChatStream over an OpenAI-compatible SSE response.
type stream struct {
	providerID string
	cancel     context.CancelFunc
	ctx        context.Context // the request's context; only consulted to explain read errors
	body       io.ReadCloser
	events     provider.SSEReader // in the stream: one allocation for both
	dec        chunkDecoder
	room       streamRoom // dec's

	cur      *octomesh.Chunk         // &dec.w.Chunk, or &usage at the end
	usage    octomesh.Chunk          // the latest usage, reported when [DONE] arrives
	roleSent [maxChoices / 64]uint64 // bit i: the role of choice i has been reported
	hasUsage bool                    // usage holds one
	done     bool                    // nothing more will be read
	closed   bool
	err      error
}

var _ octomesh.ChatStream = (*stream)(nil)

// newStream wraps an open event-stream body. cancel aborts the request
// that produced it.
func newStream(ctx context.Context, cancel context.CancelFunc, providerID string, body io.ReadCloser) *stream {
	s := &stream{
		providerID: providerID,
		ctx:        ctx,
		cancel:     cancel,
		body:       body,
	}
	s.events.Init(body, maxEvent)
	s.dec.room = &s.room
	s.cur = &s.dec.w.Chunk
	return s
}

// doneMarker is the data of the event that ends an OpenAI stream.
const doneMarker = "[DONE]"

// Next advances to the next canonical chunk. It returns false at [DONE]
// (after the usage chunk, if any) or when the stream fails.
func (s *stream) Next() bool {
	for !s.done {
		if s.events.WillWait() {
			// The last chunk is no longer valid (or was not yielded),
			// and the wait for the next may be long: hold nothing of it
			// through the wait.
			s.dec.park()
		}
		ev, err := s.events.Next()
		if err != nil {
			s.fail(s.readError(err))
			return false
		}
		data := bytes.TrimSpace(ev.Data)
		if ev.Name == "error" {
			s.fail(s.eventError(data))
			return false
		}
		if string(data) == doneMarker {
			s.release()
			if s.hasUsage {
				s.cur, s.hasUsage = &s.usage, false
				return true
			}
			return false
		}
		if len(data) == 0 {
			continue
		}
		w, err := s.dec.decode(data)
		if err != nil {
			s.fail(provider.BadResponse(s.providerID, err))
			return false
		}
		if hasError(w.Error) {
			s.fail(embeddedError(s.providerID, w.Error))
			return false
		}
		if w.Object == "error" {
			s.fail(embeddedError(s.providerID, data))
			return false
		}
		ok, err := s.normalise(&w.Chunk)
		if err != nil {
			s.fail(err)
			return false
		}
		if ok {
			s.cur = &w.Chunk // valid until the next decode, as the chunk is until the next Next
			return true
		}
	}
	return false
}

// wireChunk is a chat.completion.chunk as it arrives; Error catches error
// objects sent inside the stream.
type wireChunk struct {
	octomesh.Chunk
	Error json.RawMessage `json:"error"`
}

// normalise brings c to the canonical stream shape and reports whether it
// has anything left to yield: usage is set aside for the final chunk, empty
// deltas are dropped, the role is reported once per choice, and tool-call
// deltas without an index get their position. A choice index out of range
// is an error.
func (s *stream) normalise(c *octomesh.Chunk) (bool, error) {
	c.Object = octomesh.ObjectChatCompletionChunk
	if c.Usage != nil {
		s.usage, s.hasUsage = *c, true
		s.usage.Choices = []octomesh.ChunkChoice{}
		c.Usage = nil
	}
	kept := c.Choices[:0]
	for _, ch := range c.Choices {
		if ch.Index < 0 || ch.Index >= maxChoices {
			return false, provider.BadResponse(s.providerID, fmt.Errorf("choice index %d out of range", ch.Index))
		}
		d := &ch.Delta
		if d.Role == "" && emptyChoice(&ch) {
			continue
		}
		if s.firstDelta(ch.Index) {
			if d.Role == "" {
				d.Role = octomesh.RoleAssistant
			}
		} else {
			d.Role = ""
			if emptyChoice(&ch) {
				continue // only a repeated role
			}
		}
		for i := range d.ToolCalls {
			if d.ToolCalls[i].Index == nil {
				n := i
				d.ToolCalls[i].Index = &n
			}
		}
		kept = append(kept, ch)
	}
	c.Choices = kept
	return len(kept) > 0, nil
}

// emptyChoice reports whether ch carries no content, refusal, tool call or
// finish reason (its role aside).
func emptyChoice(ch *octomesh.ChunkChoice) bool {
	d := &ch.Delta
	return d.Content == "" && d.Refusal == "" && len(d.ToolCalls) == 0 && ch.FinishReason == ""
}

// firstDelta reports whether this is the first delta yielded for the
// choice with this index (in [0, maxChoices)), and records it.
func (s *stream) firstDelta(index int) bool {
	word, bit := index/64, uint64(1)<<(index%64)
	if s.roleSent[word]&bit != 0 {
		return false
	}
	s.roleSent[word] |= bit
	return true
}

// readError explains why the event stream stopped before [DONE].
func (s *stream) readError(err error) error {
	if s.ctx.Err() != nil {
		return provider.TransportError(s.ctx, s.providerID, s.ctx.Err())
	}
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return provider.Upstream(s.providerID, octomesh.EUPSTREAM, "the provider's stream ended before the response was complete", 0).WithCause(err)
	case errors.Is(err, provider.ErrEventTooLarge):
		return provider.BadResponse(s.providerID, err)
	}
	return provider.TransportError(s.ctx, s.providerID, err)
}

// eventError normalises the data of an "event: error" event.
func (s *stream) eventError(data []byte) error {
	var w struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(data, &w) == nil && hasError(w.Error) {
		return embeddedError(s.providerID, w.Error)
	}
	if json.Valid(data) {
		return embeddedError(s.providerID, data)
	}
	return provider.Upstream(s.providerID, octomesh.EUPSTREAM, "the provider reported an error after it began answering", 0)
}

// fail ends the stream with err.
func (s *stream) fail(err error) {
	s.err = err
	s.release()
}

// release stops reading and frees the upstream connection.
func (s *stream) release() {
	s.done = true
	if !s.closed {
		s.closed = true
		s.body.Close()
		s.cancel()
		s.events.Release() // the last event's data is not used after this
	}
}

// Chunk returns the current chunk, valid until the next call to Next.
func (s *stream) Chunk() *octomesh.Chunk { return s.cur }

// Err returns the error that ended the stream, or nil after [DONE].
func (s *stream) Err() error { return s.err }

// Close aborts the upstream request if it is still running. It is safe to
// call more than once and always returns nil.
func (s *stream) Close() error {
	s.release()
	return nil
}

// Buffered reports stream bytes received but not yet parsed (see
// provider.SSEReader.Buffered).
func (s *stream) Buffered() int { return s.events.Buffered() }

// WaitData waits, holding nothing of the last chunk, for the next event's
// bytes (octomesh.DataWaiter): what Next would do first.
func (s *stream) WaitData() {
	if s.done || s.closed || !s.events.WillWait() {
		return
	}
	s.dec.park()
	s.events.WaitData()
}
