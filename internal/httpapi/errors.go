package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/anthropicwire"
)

// statusClientClosed is nginx's convention for "the client went away".
const statusClientClosed = octomesh.StatusClientClosed

// StatusOf returns the HTTP status for err, from the one table in the
// root package (octomesh.HTTPStatus), which the request metrics use too.
func StatusOf(err error) int { return octomesh.HTTPStatus(err) }

// openAIErrorType is the "type" OpenAI's error bodies carry for each code.
var openAIErrorType = map[octomesh.ErrorCode]string{
	octomesh.EINVALID:       "invalid_request_error",
	octomesh.ECONTEXTLENGTH: "invalid_request_error",
	octomesh.ECONTENTFILTER: "invalid_request_error",
	octomesh.ETOOLARGE:      "invalid_request_error",
	octomesh.ENOTFOUND:      "invalid_request_error",
	octomesh.EMETHOD:        "invalid_request_error",
	octomesh.ESLOWREQUEST:   "invalid_request_error",
	octomesh.EUNAUTHORIZED:  "authentication_error",
	octomesh.EFORBIDDEN:     "permission_error",
	octomesh.EBUDGET:        "insufficient_quota",
	octomesh.ERATELIMITED:   "rate_limit_error",
	octomesh.EUPSTREAM:      "upstream_error",
	octomesh.EUPSTREAMAUTH:  "upstream_error",
	octomesh.EOVERLOADED:    "overloaded_error",
	octomesh.EUNAVAILABLE:   "server_error",
	octomesh.ETIMEOUT:       "timeout_error",
	octomesh.EINTERNAL:      "server_error",
}

// openAIErrorCode is the machine "code" field; OpenAI's own names where they exist.
func openAIErrorCode(c octomesh.ErrorCode, param string) string {
	switch c {
	case octomesh.EUNAUTHORIZED:
		return "invalid_api_key"
	case octomesh.ENOTFOUND:
		if param == "model" {
			return "model_not_found"
		}
		return "not_found"
	case octomesh.ERATELIMITED:
		return "rate_limit_exceeded"
	case octomesh.EBUDGET:
		return "insufficient_quota"
	case octomesh.ETOOLARGE:
		return "request_too_large"
	}
	return string(c)
}

type openAIError struct {
	Error openAIErrorBody `json:"error"`
}

type openAIErrorBody struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    string  `json:"code"`
}

func newOpenAIError(err error) openAIError {
	e := octomesh.AsError(err)
	var param *string
	if e.Param != "" {
		param = &e.Param
	}
	t := openAIErrorType[e.Code]
	if t == "" {
		t = "server_error"
	}
	return openAIError{Error: openAIErrorBody{Message: octomesh.ErrorMessage(err), Type: t, Param: param, Code: openAIErrorCode(e.Code, e.Param)}}
}

type anthropicError struct {
	Type  string             `json:"type"`
	Error anthropicErrorBody `json:"error"`
}

type anthropicErrorBody struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

func newAnthropicError(err error) anthropicError {
	t := anthropicwire.ErrorType(octomesh.ErrorCodeOf(err))
	return anthropicError{Type: "error", Error: anthropicErrorBody{Type: t, Message: octomesh.ErrorMessage(err)}}
}

// errorFormat selects the error body shape of a route.
type errorFormat int

const (
	formatOpenAI errorFormat = iota
	formatAnthropic
)

// writeMethodNotAllowed answers a request for a known path with a method
// none of its routes takes: 405 (octomesh.EMETHOD) with the Allow header
// and the route's error body, recorded like the API layer's other
// refusals.
func (s *Server) writeMethodNotAllowed(w http.ResponseWriter, r *http.Request, f errorFormat, allow string) {
	w.Header().Set("Allow", allow)
	s.writeError(w, r, f, octomesh.Errorf(octomesh.EMETHOD, "method %s is not allowed for %s; allowed: %s", clip(r.Method, 20), clip(r.URL.Path, 100), allow))
}

// writeError writes err with the right status, headers and body shape.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, f errorFormat, err error) {
	status := StatusOf(err)
	s.recordRefusal(r, err)
	if status == statusClientClosed {
		return // nobody is listening
	}
	var e *octomesh.Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		secs := int((e.RetryAfter + 999_999_999) / 1_000_000_000)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	if status >= 500 {
		s.log.LogAttrs(r.Context(), levelFor(status), "error response",
			attrString(attrRequestID, octomesh.RequestIDFrom(r.Context())), attrInt(attrStatus, status), attrString(attrCause, err.Error()))
	}
	if f == formatAnthropic {
		writeJSON(w, status, newAnthropicError(err))
		return
	}
	writeJSON(w, status, newOpenAIError(err))
}

// refusalRecorder is what a service that counts and logs requests offers
// for the ones the API layer refuses before calling it (gateway.Service).
type refusalRecorder interface {
	Refused(ctx context.Context, route string, start time.Time, err error)
}

// recordRefusal has an error answer counted and logged once: the gateway
// records what reaches it, and this records the rest (a missing or bad
// key, an unknown route or method, a body too large or malformed), so
// that they show in octomesh_requests_total and the log too.
func (s *Server) recordRefusal(r *http.Request, err error) {
	sc := octomesh.ScopeFrom(r.Context())
	rec, ok := s.svc.(refusalRecorder)
	if sc == nil || !ok || sc.Recorded.Load() {
		return
	}
	rec.Refused(r.Context(), routeLabel(r.Pattern), sc.Start, err)
}

// routeLabel is the metrics route of a request matched to pattern: the AI
// routes by their name, as the gateway labels them, and every other path
// (the admin API, an unknown path) as "other", so that clients cannot add
// label values.
func routeLabel(pattern string) string {
	switch pattern {
	case "POST /v1/chat/completions", "POST /v1/messages":
		return "chat"
	case "POST /v1/embeddings":
		return "embeddings"
	}
	return "other"
}
