package provider

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/octomesh/octomesh"
)

// Classifier turns an upstream HTTP error response into a normalised error.
type Classifier func(providerID string, status int, header http.Header, body []byte) error

// UpstreamDetail is what an adapter extracted from a provider's error body:
// short machine identifiers only. The provider's free-text message is used to
// recognise the failure but never copied to the client, since upstream errors
// can echo prompt content or credentials.
type UpstreamDetail struct {
	Type    string // e.g. "invalid_request_error", "overloaded_error", "RESOURCE_EXHAUSTED"
	Code    string // e.g. "context_length_exceeded", "content_filter"
	Message string // the provider's text: for classification and logs only
}

// Classify normalises an upstream error from status, headers and a body in
// any common shape ({"error":{"type","code","message"}} as OpenAI, Anthropic
// and Gemini all use some variant of it).
func Classify(providerID string, status int, header http.Header, body []byte) error {
	return ClassifyDetail(providerID, status, header, ParseDetail(body))
}

// ParseDetail extracts type, code and message from a JSON error body. It is
// lenient: unknown shapes give an empty detail.
func ParseDetail(body []byte) UpstreamDetail {
	var v struct {
		Type  string          `json:"type"`
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &v) != nil || len(v.Error) == 0 {
		return UpstreamDetail{}
	}
	var e struct {
		Type    string          `json:"type"`
		Code    json.RawMessage `json:"code"`
		Status  json.RawMessage `json:"status"` // Gemini: "RESOURCE_EXHAUSTED"; Azure: 400
		Message string          `json:"message"`
	}
	if json.Unmarshal(v.Error, &e) != nil {
		// Some servers send "error": "text".
		var s string
		if json.Unmarshal(v.Error, &s) == nil {
			return UpstreamDetail{Message: s}
		}
		return UpstreamDetail{}
	}
	d := UpstreamDetail{Type: e.Type, Message: e.Message}
	if d.Type == "" {
		json.Unmarshal(e.Status, &d.Type) // Gemini's string status; a numeric (Azure) status is ignored
	}
	var code string
	if json.Unmarshal(e.Code, &code) == nil {
		d.Code = code
	}
	return d
}

// ClassifyDetail maps status + detail to an error code and a client-safe message.
func ClassifyDetail(providerID string, status int, header http.Header, d UpstreamDetail) error {
	msg := strings.ToLower(d.Message)
	mk := func(code octomesh.ErrorCode, text string) *octomesh.Error {
		e := Upstream(providerID, code, text, status)
		// Only identifier-shaped type/code values reach the logs, so a hostile
		// or echoing upstream cannot smuggle content into them.
		e.Err = fmt.Errorf("upstream %s status %d type=%q code=%q", providerID, status, identOrDash(d.Type), identOrDash(d.Code))
		return e
	}
	switch {
	case d.Code == "context_length_exceeded" || containsAny(msg, "context length", "context_length", "maximum context", "context window", "too many tokens", "prompt is too long", "input is too long", "exceeds the maximum number of tokens"):
		return mk(octomesh.ECONTEXTLENGTH, "the prompt and requested output exceed the model's context window")
	case d.Code == "content_filter" || d.Code == "content_policy_violation" || containsAny(msg, "content filter", "content management policy", "safety system", "content_policy"):
		// The provider's reason is passed on when it is an identifier (a
		// code or type, never free text that could echo the prompt).
		msg := "the provider's content filter rejected the request"
		for _, r := range []string{d.Code, d.Type} {
			if r != "" && safeIdent(r) {
				msg += " (reason: " + r + ")"
				break
			}
		}
		return mk(octomesh.ECONTENTFILTER, msg)
	}
	switch {
	case status == http.StatusTooManyRequests || d.Type == "rate_limit_error" || d.Type == "RESOURCE_EXHAUSTED":
		e := mk(octomesh.ERATELIMITED, "the provider is rate limiting requests")
		e.RetryAfter = RetryAfter(header)
		return e
	case status == http.StatusUnauthorized || status == http.StatusForbidden || d.Type == "authentication_error" || d.Type == "permission_error":
		return mk(octomesh.EUPSTREAMAUTH, "the provider rejected OctoMesh's credentials")
	case status == 529 || d.Type == "overloaded_error" || status == http.StatusServiceUnavailable:
		e := mk(octomesh.EOVERLOADED, "the provider is overloaded")
		e.RetryAfter = RetryAfter(header)
		return e
	case status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout:
		return mk(octomesh.ETIMEOUT, "the provider timed out")
	case status == http.StatusNotFound:
		return mk(octomesh.EUPSTREAM, "the provider does not know the configured upstream model")
	case status == http.StatusRequestEntityTooLarge:
		return mk(octomesh.ETOOLARGE, "the request is too large for the provider")
	case status >= 400 && status < 500:
		text := "the provider rejected the request as invalid"
		if d.Type != "" && safeIdent(d.Type) {
			text += " (" + d.Type + ")"
		}
		return mk(octomesh.EINVALID, text)
	}
	return mk(octomesh.EUPSTREAM, fmt.Sprintf("the provider failed (HTTP %d)", status))
}

// RetryAfter parses Retry-After (seconds or HTTP date) and the
// retry-after-ms extension; 0 when absent or unparsable.
func RetryAfter(h http.Header) time.Duration {
	if h == nil {
		return 0
	}
	if v := h.Get("retry-after-ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// safeIdent reports whether s is a short identifier that cannot carry
// content (letters, digits, _ - .), so it may be shown to a client.
func safeIdent(s string) bool {
	if len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func identOrDash(s string) string {
	if safeIdent(s) {
		return s
	}
	return "-"
}
