package octomesh

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrorCode classifies an error. The HTTP layer maps each code to a status in
// one table; adapters map upstream failures onto these codes.
type ErrorCode string

// Error codes.
const (
	EINVALID       ErrorCode = "invalid_request"         // 400: the request is malformed or unsupported
	EUNAUTHORIZED  ErrorCode = "unauthorized"            // 401: missing or bad API key
	EFORBIDDEN     ErrorCode = "forbidden"               // 403: authenticated but not allowed
	ENOTFOUND      ErrorCode = "not_found"               // 404: unknown model, object or route
	EMETHOD        ErrorCode = "method_not_allowed"      // 405: a known route, another method
	ESLOWREQUEST   ErrorCode = "request_timeout"         // 408: the request did not arrive within the read timeout
	ETOOLARGE      ErrorCode = "too_large"               // 413: body over the configured limit
	ERATELIMITED   ErrorCode = "rate_limited"            // 429: a limit (ours or the upstream's) was hit
	EBUDGET        ErrorCode = "budget_exceeded"         // 402: a budget would be exceeded
	ECONTEXTLENGTH ErrorCode = "context_length_exceeded" // 400: prompt + output exceed the model's window
	ECONTENTFILTER ErrorCode = "content_filter"          // 400: the provider's content filter refused
	EUPSTREAMAUTH  ErrorCode = "upstream_auth"           // 502: the provider rejected our credentials
	EUPSTREAM      ErrorCode = "upstream_error"          // 502: the provider failed or answered garbage
	EOVERLOADED    ErrorCode = "overloaded"              // 503: the provider is overloaded
	EUNAVAILABLE   ErrorCode = "unavailable"             // 503: nothing can serve the request now
	ETIMEOUT       ErrorCode = "timeout"                 // 504: the provider did not answer in time
	EINTERNAL      ErrorCode = "internal_error"          // 500: a bug or an unexpected failure
)

// httpStatus is the one table mapping error codes to HTTP statuses: the
// HTTP layer answers with it, and the request metrics record it.
var httpStatus = map[ErrorCode]int{
	EINVALID:       400,
	ECONTEXTLENGTH: 400,
	ECONTENTFILTER: 400,
	EUNAUTHORIZED:  401,
	EBUDGET:        402,
	EFORBIDDEN:     403,
	ENOTFOUND:      404,
	EMETHOD:        405,
	ESLOWREQUEST:   408,
	ETOOLARGE:      413,
	ERATELIMITED:   429,
	EINTERNAL:      500,
	EUPSTREAM:      502,
	EUPSTREAMAUTH:  502,
	EOVERLOADED:    503,
	EUNAVAILABLE:   503,
	ETIMEOUT:       504,
}

// StatusClientClosed is the status recorded when the client went away
// (nginx's 499).
const StatusClientClosed = 499

// HTTPStatus returns the HTTP status for err: its code's, 499 when the
// client went away, 500 for an unclassified error.
func HTTPStatus(err error) int {
	if errors.Is(err, context.Canceled) {
		return StatusClientClosed
	}
	if s, ok := httpStatus[ErrorCodeOf(err)]; ok {
		return s
	}
	return 500
}

// HTTPStatuses returns a copy of the code → status table, for tests and
// documentation.
func HTTPStatuses() map[ErrorCode]int {
	m := make(map[ErrorCode]int, len(httpStatus))
	for k, v := range httpStatus {
		m[k] = v
	}
	return m
}

// Error is OctoMesh's one error type. Message is safe to show a client: it
// never contains prompt content, provider keys or upstream error text verbatim.
// Err is the internal cause, for logs only.
type Error struct {
	Code       ErrorCode
	Message    string
	Param      string        // the offending request field, if any
	RetryAfter time.Duration // how long the caller should wait, if known
	Provider   string        // the provider that failed, for upstream codes
	Status     int           // the upstream HTTP status, for logs and metrics
	Err        error         // internal cause; never sent to clients
}

// Errorf returns an *Error with the given code and a formatted client-safe message.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithParam sets the offending parameter and returns e.
func (e *Error) WithParam(p string) *Error { e.Param = p; return e }

// WithCause sets the internal cause and returns e.
func (e *Error) WithCause(err error) *Error { e.Err = err; return e }

// Error implements error. It includes the internal cause for logs.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCodeOf returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil. Context cancellation and
// deadline errors map to ETIMEOUT.
func ErrorCodeOf(err error) ErrorCode {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ETIMEOUT
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err: the Message of its
// *Error, or a generic text for any other error (whose text may hold details
// a client must not see).
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	if ErrorCodeOf(err) == ETIMEOUT {
		return "the request timed out"
	}
	return "internal error"
}

// AsError returns err's *Error, wrapping other errors as EINTERNAL.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: ErrorCodeOf(err), Message: ErrorMessage(err), Err: err}
}

// Retryable reports whether an upstream error with this code may succeed on
// another attempt (on the same or another deployment).
func (c ErrorCode) Retryable() bool {
	switch c {
	case ERATELIMITED, EUPSTREAM, EOVERLOADED, EUNAVAILABLE, ETIMEOUT, EUPSTREAMAUTH:
		return true
	}
	return false
}
