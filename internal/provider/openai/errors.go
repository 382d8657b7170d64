package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/provider"
)

// wireError is an error object as OpenAI-compatible servers send it:
// OpenAI's {"message","type","param","code"} (code a string or null),
// Azure's variant with a numeric "status" and a null "type", OpenRouter's
// numeric code, or vLLM's legacy top-level {"object":"error",...,"code":400}.
// Only Message, Type and Code are read, each leniently.
type wireError struct {
	Message string          `json:"message"`
	Type    json.RawMessage `json:"type"`
	Code    json.RawMessage `json:"code"`
}

// parseErrorObject extracts the detail of an error object (or of a bare
// JSON string) and, when its code is numeric and in the HTTP error range,
// that status. ok is false when raw is neither.
func parseErrorObject(raw []byte) (d provider.UpstreamDetail, status int, ok bool) {
	var w wireError
	if err := json.Unmarshal(raw, &w); err != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return d, 0, false
		}
		return provider.UpstreamDetail{Message: s}, 0, true
	}
	d.Message = w.Message
	json.Unmarshal(w.Type, &d.Type) // a null or non-string type leaves it empty
	var code string
	var num int
	switch {
	case json.Unmarshal(w.Code, &code) == nil:
		d.Code = code
	case json.Unmarshal(w.Code, &num) == nil:
		d.Code = strconv.Itoa(num)
		if num >= 400 && num <= 599 {
			status = num
		}
	}
	return d, status, true
}

// classify is the provider.Classifier for HTTP error responses. It is
// provider.Classify with a more lenient reading of the error body:
// provider.ParseDetail gives up on Azure's bodies, whose numeric "status"
// field does not fit its string, and would lose Azure's content_filter code.
func classify(providerID string, status int, header http.Header, body []byte) error {
	d := provider.ParseDetail(body)
	if d == (provider.UpstreamDetail{}) {
		var v struct {
			Error json.RawMessage `json:"error"`
		}
		if json.Unmarshal(body, &v) == nil && hasError(v.Error) {
			d, _, _ = parseErrorObject(v.Error)
		}
	}
	return provider.ClassifyDetail(providerID, status, header, d)
}

// hasError reports whether raw holds an error value (present and not null).
func hasError(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

// embeddedError normalises an error object the upstream reported after
// answering 200 (mid-stream, or in a 200 body). raw is the error object
// (or a JSON string). The HTTP status is gone, so one is inferred: a numeric
// code in the HTTP range is taken as the status; otherwise the OpenAI error
// type decides, and anything unrecognised counts as a server failure.
func embeddedError(providerID string, raw []byte) error {
	d, status, ok := parseErrorObject(raw)
	if !ok {
		return provider.BadResponse(providerID, errors.New("undecodable error object"))
	}
	if status == 0 {
		switch {
		case d.Type == "invalid_request_error":
			status = http.StatusBadRequest
		case d.Code == "rate_limit_exceeded" || d.Type == "rate_limit_error" || d.Type == "tokens" || d.Type == "requests":
			status = http.StatusTooManyRequests
		default:
			status = http.StatusInternalServerError
		}
	}
	err := provider.ClassifyDetail(providerID, status, nil, d)
	var oe *octomesh.Error
	if errors.As(err, &oe) {
		oe.Status = 0 // the real status was 200; the inferred one is not a fact to report
		if oe.Code == octomesh.EUPSTREAM {
			oe.Message = "the provider reported an error after it began answering"
		}
	}
	return err
}
