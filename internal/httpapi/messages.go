package httpapi

import (
	"net/http"

	"github.com/octomesh/octomesh"
)

// handleMessages serves Anthropic's Messages API (placeholder until the codec lands).
func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, formatAnthropic, octomesh.Errorf(octomesh.EINVALID, "not yet"))
}
