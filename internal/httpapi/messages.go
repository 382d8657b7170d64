package httpapi

import (
	"net/http"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/anthropicwire"
)

// handleMessages serves Anthropic's Messages API, so Anthropic SDK users can
// point at OctoMesh: the request is decoded into the canonical form, served by
// whatever deployment it names (any provider), and the answer encoded back
// into Anthropic's format, streaming included.
func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBodyPooled(w, r)
	if err != nil {
		s.writeError(w, r, formatAnthropic, err)
		return
	}
	req, err := anthropicwire.DecodeRequest(body.Bytes())
	body.Release() // the decoded request copies what it keeps
	if err == nil {
		err = applyRouteHeaders(r.Header, req)
	}
	if err != nil {
		s.writeError(w, r, formatAnthropic, err)
		return
	}
	if req.Stream {
		s.streamMessages(w, r, req)
		return
	}
	resp, served, err := s.svc.Chat(r.Context(), req)
	setServed(w, served)
	if err != nil {
		s.writeError(w, r, formatAnthropic, err)
		return
	}
	// Encoded into a pooled buffer, as writeChatResponse does.
	bp := respBufPool.Get().(*[]byte)
	out, err := anthropicwire.AppendResponse((*bp)[:0], resp)
	if err != nil {
		respBufPool.Put(bp)
		s.writeError(w, r, formatAnthropic, err)
		return
	}
	setHeader(w, "X-Octomesh-Cost-Usd", served.Cost.String())
	setHeader(w, "Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(out)
	if cap(out) <= maxPooledBody {
		*bp = out
		respBufPool.Put(bp)
	}
}

// streamMessages relays a stream as Anthropic's events. A failure after the
// stream began ends it with an error event and no message_stop.
func (s *Server) streamMessages(w http.ResponseWriter, r *http.Request, req *octomesh.ChatRequest) {
	ps, st, served, ok := s.prepare(w, r, req, formatAnthropic) // the relay starts a prepared stream (see streamChat)
	if !ok {
		return
	}
	t := &messagesRelay{s: s, w: w, r: r, pending: ps, served: served}
	if st != nil {
		t.began(st)
	}
	if c, ok := w.(continuer); ok && c.Continue(t) {
		return // the server runs the relay once the handler's frames are gone (see chatRelay)
	}
	t.Continue()
}

// messagesRelay is chatRelay for Anthropic's events.
type messagesRelay struct {
	s       *Server
	w       http.ResponseWriter
	r       *http.Request
	pending octomesh.PreparedStream // to start, before st
	st      octomesh.ChatStream
	waiter  octomesh.DataWaiter // st's, when it has one
	served  *octomesh.Served
	sw      *anthropicwire.StreamWriter
	ending  bool // the last events are being written
	pinged  bool // the ping Anthropic sends early in every stream went out
}

// Continue relays the stream to its end, then closes it.
func (t *messagesRelay) Continue() {
	defer t.release()
	defer t.s.relayPanicked(t.r)
	if t.pending != nil && !t.start() {
		return
	}
	for {
		if t.waiter != nil {
			t.waiter.WaitData()
		}
		if !t.step() {
			return
		}
	}
}

// Abandon is called instead of Continue when the handler panicked after
// handing the relay over (see h1server.Continuation).
func (t *messagesRelay) Abandon() { t.release() }

// start starts the prepared stream and writes the answer's head (see
// chatRelay.start).
//
//go:noinline
func (t *messagesRelay) start() bool {
	ps := t.pending
	t.pending = nil
	st := t.s.startPrepared(t.w, t.r, t.served, ps, formatAnthropic)
	if st == nil {
		return false
	}
	t.began(st)
	return true
}

// began takes the open stream st and writes the answer's head.
func (t *messagesRelay) began(st octomesh.ChatStream) {
	t.st = st
	t.waiter, _ = st.(octomesh.DataWaiter)
	writeStreamHead(t.w, t.served)
	t.sw = anthropicwire.NewStreamWriter(t.w, t.flush, "", t.served.Model)
}

// release closes the stream, or abandons the one not started.
func (t *messagesRelay) release() { closeOrAbandon(t.st, t.pending) }

// flush is the stream writer's: the last events go out with the end of
// the body and the trailer, in one system call instead of two.
func (t *messagesRelay) flush() {
	if !t.ending && !moreWaiting(t.st) {
		http.NewResponseController(t.w).Flush()
	}
}

// step relays the next chunk and reports whether to go on (see chatRelay.step).
//
//go:noinline
func (t *messagesRelay) step() bool {
	st, r := t.st, t.r
	if st.Next() {
		if err := t.sw.WriteChunk(st.Chunk()); err != nil {
			if r.Context().Err() == nil {
				t.s.log.LogAttrs(r.Context(), levelFor(500), "anthropic stream encode",
					attrString(attrRequestID, octomesh.RequestIDFrom(r.Context())), attrString(attrCause, err.Error()))
				t.sw.WriteErr(octomesh.Errorf(octomesh.EUPSTREAM, "the provider's stream could not be expressed in Anthropic's format"))
			}
			return false
		}
		if !t.pinged {
			// Anthropic sends one ping early in every stream; clients expect it.
			t.sw.Ping()
			t.pinged = true
		}
		return true
	}
	if err := st.Err(); err != nil {
		if r.Context().Err() == nil {
			t.sw.WriteErr(err)
		}
		return false
	}
	t.ending = true
	if t.sw.Finish() == nil {
		st.Close()
		setTrailer(t.w, "X-Octomesh-Cost-Usd", t.served.Cost.String())
	}
	return false
}
