package gemini

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/provider"
)

// classify is the provider.Classifier for Gemini's error bodies
// ({"error":{"code","message","status","details"}}).
func classify(providerID string, status int, header http.Header, body []byte) error {
	var eb errorBody
	if json.Unmarshal(body, &eb) != nil || eb.Error == nil {
		return provider.Classify(providerID, status, header, body)
	}
	return classifyAPIError(providerID, header, eb.Error)
}

// classifyAPIError normalises a Gemini error, from an HTTP error response or
// reported in-band in a stream (header nil, status from the error's code).
// It rewrites Gemini's statuses and reasons into the shared vocabulary of
// provider.ClassifyDetail, then adds what only Gemini says: the RetryInfo
// delay, and that FAILED_PRECONDITION (e.g. the API is not offered in the
// deployment's region, or billing is off) is the deployment's problem, not
// the caller's.
func classifyAPIError(providerID string, header http.Header, ae *apiError) error {
	status := ae.Code
	if status == 0 {
		status = http.StatusBadGateway
	}
	d := provider.UpstreamDetail{Type: ae.Status, Message: ae.Message}
	var reason string
	var retryDelay time.Duration
	for _, det := range ae.Details {
		switch {
		case strings.HasSuffix(det.Type, "google.rpc.ErrorInfo"):
			reason = det.Reason
		case strings.HasSuffix(det.Type, "google.rpc.RetryInfo"):
			if v, err := time.ParseDuration(det.RetryDelay); err == nil && v > 0 {
				retryDelay = v
			}
		}
	}
	d.Code = reason
	msg := strings.ToLower(ae.Message)
	switch {
	case ae.Status == "UNAUTHENTICATED" || ae.Status == "PERMISSION_DENIED" ||
		strings.HasPrefix(reason, "API_KEY_") || strings.Contains(msg, "api key not valid") || strings.Contains(msg, "api key expired"):
		d.Type = "authentication_error"
	case ae.Status == "INVALID_ARGUMENT" && isTokenLimit(msg):
		d.Code = "context_length_exceeded"
	case ae.Status == "UNAVAILABLE":
		d.Type = "overloaded_error"
	}
	err := provider.ClassifyDetail(providerID, status, header, d)
	var oe *octomesh.Error
	if !errors.As(err, &oe) {
		return err
	}
	switch {
	case oe.Code == octomesh.ERATELIMITED && oe.RetryAfter == 0:
		oe.RetryAfter = retryDelay
	case ae.Status == "FAILED_PRECONDITION" && oe.Code == octomesh.EINVALID:
		oe.Code = octomesh.EUPSTREAM
		oe.Message = "the provider cannot serve requests for this deployment (FAILED_PRECONDITION)"
	}
	return oe
}

// isTokenLimit recognises Gemini's "input too long" messages, e.g. "The
// input token count (1200000) exceeds the maximum number of tokens allowed
// (1048576)."
func isTokenLimit(msg string) bool {
	return strings.Contains(msg, "input token count") ||
		strings.Contains(msg, "exceeds the maximum number of tokens") ||
		strings.Contains(msg, "token limit") ||
		strings.Contains(msg, "too many tokens")
}
