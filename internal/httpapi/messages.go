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
	out, err := anthropicwire.EncodeResponse(resp)
	if err != nil {
		s.writeError(w, r, formatAnthropic, err)
		return
	}
	setHeader(w, "X-Octomesh-Cost-Usd", served.Cost.String())
	setHeader(w, "Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(out)
}

// streamMessages relays a stream as Anthropic's events. A failure after the
// stream began ends it with an error event and no message_stop.
func (s *Server) streamMessages(w http.ResponseWriter, r *http.Request, req *octomesh.ChatRequest) {
	st, served, err := s.svc.ChatStream(r.Context(), req)
	setServed(w, served)
	if err != nil {
		s.writeError(w, r, formatAnthropic, err)
		return
	}
	defer st.Close()
	setHeader(w, "Content-Type", "text/event-stream")
	setHeader(w, "Cache-Control", "no-cache")
	setHeader(w, "X-Accel-Buffering", "no")
	setHeader(w, "Trailer", "X-Octomesh-Cost-Usd")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	ending := false
	sw := anthropicwire.NewStreamWriter(w, func() {
		// The last events go out with the end of the body and the trailer
		// when the handler returns: one system call instead of two.
		if !ending && !moreWaiting(st) {
			rc.Flush()
		}
	}, "", served.Model)
	pinged := false
	for st.Next() {
		if err := sw.WriteChunk(st.Chunk()); err != nil {
			if r.Context().Err() == nil {
				s.log.LogAttrs(r.Context(), levelFor(500), "anthropic stream encode",
					attrString(attrRequestID, octomesh.RequestIDFrom(r.Context())), attrString(attrCause, err.Error()))
				sw.WriteErr(octomesh.Errorf(octomesh.EUPSTREAM, "the provider's stream could not be expressed in Anthropic's format"))
			}
			return
		}
		if !pinged {
			// Anthropic sends one ping early in every stream; clients expect it.
			sw.Ping()
			pinged = true
		}
	}
	if err := st.Err(); err != nil {
		if r.Context().Err() == nil {
			sw.WriteErr(err)
		}
		return
	}
	ending = true
	if sw.Finish() == nil {
		st.Close()
		setTrailer(w, "X-Octomesh-Cost-Usd", served.Cost.String())
	}
}
