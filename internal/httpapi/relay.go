package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"

	"github.com/octomesh/octomesh"
)

// chatRelay relays an OpenAI stream to its client. It is streamChat's
// loop in a value of its own, so that h1server can run it after the
// handler returned (Continue), on a goroutine of its own when many are in
// flight (h1server runs the first few on the handler's): a stream waits
// most of its life, for its first content and then for each next token,
// and it waits there on a 4 KiB stack, not under the API's router,
// middleware and handler, whose frames grow a goroutine to 8 KiB. With a
// StreamPreparer the handler only prepares the stream and the relay
// starts it (start), so the wait for the first content is the relay's
// too. The wait itself is a call of its own (WaitData), outside the larger
// frames that decode and write a chunk.
type chatRelay struct {
	s       *Server
	w       http.ResponseWriter
	r       *http.Request
	pending octomesh.PreparedStream // to start, before st
	st      octomesh.ChatStream
	waiter  octomesh.DataWaiter // st's, when it has one
	served  *octomesh.Served
	enc     chunkEncoder
}

// relayPool keeps relays between streams: one a stream, for its life.
var relayPool = sync.Pool{New: func() any { return new(chatRelay) }}

// Continue relays the stream to its end, then closes it (also when the
// relay panics: the upstream request must not outlive it).
func (t *chatRelay) Continue() {
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
func (t *chatRelay) Abandon() { t.release() }

// relayPanicked, deferred by a relay, logs its panic as ServeHTTP's
// recovery does for a handler's (a relay runs after ServeHTTP returned,
// out of its reach), then aborts the answer: the client sees the
// connection cut, never a complete-looking end.
func (s *Server) relayPanicked(r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v != http.ErrAbortHandler {
		s.log.LogAttrs(r.Context(), slog.LevelError, "panic", attrString(attrRequestID, octomesh.RequestIDFrom(r.Context())),
			attrString(attrCause, fmt.Sprint(v)), attrString("stack", string(debug.Stack())))
	}
	panic(http.ErrAbortHandler)
}

// start starts the prepared stream and writes the answer's head: the
// stream's, or the error's when no attempt produced content.
//
//go:noinline
func (t *chatRelay) start() bool {
	ps := t.pending
	t.pending = nil
	st := t.s.startPrepared(t.w, t.r, t.served, ps, formatOpenAI)
	if st == nil {
		return false
	}
	t.began(st)
	return true
}

// began takes the open stream st and writes the answer's head.
func (t *chatRelay) began(st octomesh.ChatStream) {
	t.st = st
	t.waiter, _ = st.(octomesh.DataWaiter)
	writeStreamHead(t.w, t.served)
}

// prepare readies req's stream for a relay: prepared (the relay then
// starts it) when the service is a StreamPreparer, or else opened. It
// answers a failure itself, in the format f, and then reports false.
func (s *Server) prepare(w http.ResponseWriter, r *http.Request, req *octomesh.ChatRequest, f errorFormat) (octomesh.PreparedStream, octomesh.ChatStream, *octomesh.Served, bool) {
	var ps octomesh.PreparedStream
	var st octomesh.ChatStream
	var served *octomesh.Served
	var err error
	if sp, ok := s.svc.(octomesh.StreamPreparer); ok {
		ps, served, err = sp.PrepareStream(r.Context(), req)
	} else {
		st, served, err = s.svc.ChatStream(r.Context(), req)
	}
	if err != nil {
		setServed(w, served)
		s.writeError(w, r, f, err)
		return nil, nil, nil, false
	}
	return ps, st, served, true
}

// startPrepared starts ps for a relay and returns the open stream. When
// Start fails, or panics, it answers the error itself, in the format f,
// and returns nil: no byte of the answer is out yet.
func (s *Server) startPrepared(w http.ResponseWriter, r *http.Request, served *octomesh.Served, ps octomesh.PreparedStream, f errorFormat) octomesh.ChatStream {
	defer s.startPanicked(w, r, f)
	st, err := ps.Start()
	if err != nil {
		setServed(w, served)
		s.writeError(w, r, f, err)
		return nil
	}
	return st
}

// startPanicked, deferred by startPrepared, answers a panic in a stream's
// Start as ServeHTTP's recovery answers a handler's: the panic is logged
// and the client gets a 500. The stream has ended itself (the gateway's
// Start records it first).
func (s *Server) startPanicked(w http.ResponseWriter, r *http.Request, f errorFormat) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	s.log.LogAttrs(r.Context(), slog.LevelError, "panic", attrString(attrRequestID, octomesh.RequestIDFrom(r.Context())),
		attrString(attrCause, fmt.Sprint(v)), attrString("stack", string(debug.Stack())))
	s.writeError(w, r, f, octomesh.Errorf(octomesh.EINTERNAL, "internal error"))
}

// closeOrAbandon ends a relay's stream: it closes st, or abandons ps when
// the relay never started it.
func closeOrAbandon(st octomesh.ChatStream, ps octomesh.PreparedStream) {
	switch {
	case st != nil:
		st.Close()
	case ps != nil:
		ps.Abandon()
	}
}

// release closes the stream (or abandons the one not started) and gives
// the relay back.
func (t *chatRelay) release() {
	closeOrAbandon(t.st, t.pending)
	t.put()
}

// put gives the relay back.
func (t *chatRelay) put() {
	*t = chatRelay{}
	relayPool.Put(t)
}

// step relays the stream's next chunk and reports whether to go on; at the
// end it writes the stream's last event and the cost trailer. It is not
// inlined into Continue: its frame, with the encoder's and the writer's
// calls, would then be under every wait.
//
//go:noinline
func (t *chatRelay) step() bool {
	st, w := t.st, t.w
	if st.Next() {
		c := st.Chunk()
		if len(c.Choices) == 0 && !t.enc.includeUsage {
			return true // the usage chunk, which this caller did not ask for
		}
		if err := writeEvent(w, &t.enc, c); err != nil {
			return false // the client went away; Close cancels the upstream
		}
		if moreWaiting(st) {
			return true // the next chunk is already here: one flush carries both
		}
		return http.NewResponseController(w).Flush() == nil
	}
	if err := st.Err(); err != nil {
		if t.r.Context().Err() != nil {
			return false
		}
		buf := appendJSONValue([]byte("data: "), newOpenAIError(err))
		w.Write(append(buf, "\n\n"...))
		st.Close()
		setTrailer(w, "X-Octomesh-Cost-Usd", t.served.Cost.String())
		return false
	}
	// No flush: the end of the handler (or of the continuation) writes
	// [DONE], the end of the body and the cost trailer in one system call
	// (Close settles in microseconds).
	w.Write(doneEvent)
	st.Close()
	setTrailer(w, "X-Octomesh-Cost-Usd", t.served.Cost.String())
	return false
}
