package anthropicwire

import (
	"encoding/json"
	"net/http"

	"github.com/octomesh/octomesh"
)

// Anthropic error types (the "type" of the inner error object).
const (
	ErrInvalidRequest  = "invalid_request_error"
	ErrAuthentication  = "authentication_error"
	ErrBilling         = "billing_error"
	ErrPermission      = "permission_error"
	ErrNotFound        = "not_found_error"
	ErrRequestTooLarge = "request_too_large"
	ErrRateLimit       = "rate_limit_error"
	ErrAPI             = "api_error"
	ErrTimeout         = "timeout_error"
	ErrOverloaded      = "overloaded_error"
)

// ErrorBody returns Anthropic's error body for errType and message:
// {"type":"error","error":{"type":errType,"message":message}}. message must
// already be client-safe.
func ErrorBody(errType, message string) []byte {
	b, _ := json.Marshal(ErrorResponse{Type: "error", Error: ErrorDetail{Type: errType, Message: message}})
	return b
}

// ErrorType maps an OctoMesh error code to the Anthropic error type a client
// of the Messages API expects. Failures of OctoMesh's own upstream (including
// a provider rejecting OctoMesh's credentials, which is not the client's
// fault) are api_error; capacity problems are overloaded_error.
func ErrorType(code octomesh.ErrorCode) string {
	switch code {
	case octomesh.EINVALID, octomesh.ECONTEXTLENGTH, octomesh.ECONTENTFILTER, octomesh.EMETHOD, octomesh.ESLOWREQUEST:
		return ErrInvalidRequest
	case octomesh.EUNAUTHORIZED:
		return ErrAuthentication
	case octomesh.EFORBIDDEN:
		return ErrPermission
	case octomesh.ENOTFOUND:
		return ErrNotFound
	case octomesh.ETOOLARGE:
		return ErrRequestTooLarge
	case octomesh.ERATELIMITED:
		return ErrRateLimit
	case octomesh.EBUDGET:
		return ErrBilling
	case octomesh.ETIMEOUT:
		return ErrTimeout
	case octomesh.EOVERLOADED, octomesh.EUNAVAILABLE:
		return ErrOverloaded
	}
	return ErrAPI // EUPSTREAM, EUPSTREAMAUTH, EINTERNAL and anything new
}

// ErrorTypeStatus returns the HTTP status Anthropic documents for an error
// type (529 for overloaded_error), 500 for unknown types. Adapters use it to
// classify an "error" event that arrives inside a 200 stream.
func ErrorTypeStatus(errType string) int {
	switch errType {
	case ErrInvalidRequest:
		return http.StatusBadRequest
	case ErrAuthentication:
		return http.StatusUnauthorized
	case ErrBilling:
		return http.StatusPaymentRequired
	case ErrPermission:
		return http.StatusForbidden
	case ErrNotFound:
		return http.StatusNotFound
	case ErrRequestTooLarge:
		return http.StatusRequestEntityTooLarge
	case ErrRateLimit:
		return http.StatusTooManyRequests
	case ErrTimeout:
		return http.StatusGatewayTimeout
	case ErrOverloaded:
		return 529
	}
	return http.StatusInternalServerError
}

// ParseError extracts the inner error object of an Anthropic error body. It
// is lenient: a body of another shape gives a zero ErrorDetail.
func ParseError(body []byte) ErrorDetail {
	var v struct {
		Error *ErrorDetail `json:"error"`
	}
	if json.Unmarshal(body, &v) != nil || v.Error == nil {
		return ErrorDetail{}
	}
	return *v.Error
}
