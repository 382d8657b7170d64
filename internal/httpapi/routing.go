package httpapi

import (
	"net/http"

	"github.com/octomesh/octomesh"
)

// handleDecision returns a request's routing decision to its own org.
func (s *Server) handleDecision(w http.ResponseWriter, r *http.Request) {
	dec, err := s.svc.Decision(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	writeJSON(w, http.StatusOK, dec)
}

// handleExplain returns the decision for a chat request without sending it.
// The body is a chat completion request, as for /v1/chat/completions.
func (s *Server) handleExplain(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBodyPooled(w, r)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	var req octomesh.ChatRequest
	err = decodeChat(body.Bytes(), &req)
	body.Release() // the decoded request copies what it keeps
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	if err := applyRouteHeaders(r.Header, &req); err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	dec, err := s.svc.Explain(r.Context(), &req)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	writeJSON(w, http.StatusOK, dec)
}
