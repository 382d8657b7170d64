package provider

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/provider/h1"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header http.Header
		body   string
		want   octomesh.ErrorCode
		retry  time.Duration
	}{
		{"openai context", 400, nil, `{"error":{"message":"This model's maximum context length is 8192 tokens","type":"invalid_request_error","code":"context_length_exceeded"}}`, octomesh.ECONTEXTLENGTH, 0},
		{"azure content filter numeric status", 400, nil, `{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400}}`, octomesh.ECONTENTFILTER, 0},
		{"gemini resource exhausted", 429, nil, `{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}`, octomesh.ERATELIMITED, 0},
		{"rate limit retry-after", 429, http.Header{"Retry-After": {"7"}}, `{}`, octomesh.ERATELIMITED, 7 * time.Second},
		{"retry-after-ms", 429, http.Header{"Retry-After-Ms": {"250"}}, `{}`, octomesh.ERATELIMITED, 250 * time.Millisecond},
		{"auth", 401, nil, `{"error":{"message":"Incorrect API key provided: sk-abc***","type":"invalid_request_error"}}`, octomesh.EUPSTREAMAUTH, 0},
		{"anthropic overloaded", 529, nil, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, octomesh.EOVERLOADED, 0},
		{"503", 503, nil, `oops`, octomesh.EOVERLOADED, 0},
		{"504", 504, nil, ``, octomesh.ETIMEOUT, 0},
		{"500 html", 500, nil, `<html>bad gateway</html>`, octomesh.EUPSTREAM, 0},
		{"other 4xx", 422, nil, `{"error":{"message":"CANARY prompt echo","type":"invalid_request_error"}}`, octomesh.EINVALID, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Classify("p", tt.status, tt.header, []byte(tt.body))
			e := octomesh.AsError(err)
			if e.Code != tt.want {
				t.Fatalf("code = %q, want %q", e.Code, tt.want)
			}
			if e.RetryAfter != tt.retry {
				t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tt.retry)
			}
			for _, leak := range []string{"sk-abc", "CANARY", "maximum context length is 8192"} {
				if contains(e.Message, leak) {
					t.Errorf("client message %q leaks upstream text %q", e.Message, leak)
				}
			}
		})
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestPostForwardsOnlyAllowedHeaders(t *testing.T) {
	got := make(chan http.Header, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	ctx := octomesh.WithForwardHeaders(context.Background(), [][2]string{{"X-Trace", "t1"}, {"Authorization", "Bearer client"}})
	resp, err := PostBytes(ctx, srv.Client(), "p", srv.URL, http.Header{"Authorization": {"Bearer upstream"}}, []byte(`{}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := <-got
	if h.Get("X-Trace") != "t1" {
		t.Errorf("allowed header not forwarded: %v", h)
	}
	if h.Get("Authorization") != "Bearer upstream" {
		t.Errorf("a forwarded header overrode the adapter's credentials: %q", h.Get("Authorization"))
	}
}

func TestClassifyCauseCarriesNoContent(t *testing.T) {
	err := Classify("p", 400, nil, []byte(`{"error":{"type":"CANARY with spaces","code":"x\ny","message":"CANARY"}}`))
	if s := err.Error(); contains(s, "CANARY") {
		t.Errorf("log text %q carries upstream content", s)
	}
}

func TestHTTPClientLeavesSlowAnswersToContextDeadlines(t *testing.T) {
	// A non-streaming answer's headers arrive only when it is complete; a
	// transport-level header timeout would cut long generations short.
	fast := NewHTTPClient(HTTPOptions{}, false).Transport.(*h1.Transport)
	tr := fast.Fallback.(*http.Transport)
	if tr.ResponseHeaderTimeout != 0 || fast.ResponseHeaderTimeout != 0 {
		t.Errorf("ResponseHeaderTimeout = %v / %v, want none by default", tr.ResponseHeaderTimeout, fast.ResponseHeaderTimeout)
	}
	fast = NewHTTPClient(HTTPOptions{DialTimeout: 3 * time.Second}, false).Transport.(*h1.Transport)
	if tr = fast.Fallback.(*http.Transport); tr.TLSHandshakeTimeout != 5*time.Second || fast.TLSHandshakeTimeout != 5*time.Second {
		t.Errorf("TLSHandshakeTimeout default = %v / %v", tr.TLSHandshakeTimeout, fast.TLSHandshakeTimeout)
	}
	if fast.DialTimeout != 3*time.Second {
		t.Errorf("DialTimeout = %v, want 3s", fast.DialTimeout)
	}
}

func TestContentFilterCarriesTheProvidersReasonCode(t *testing.T) {
	err := Classify("p", 400, nil, []byte(`{"error":{"message":"The response was filtered: CANARY","type":"invalid_request_error","code":"content_filter"}}`))
	msg := octomesh.ErrorMessage(err)
	if !contains(msg, "(reason: content_filter)") || contains(msg, "CANARY") {
		t.Errorf("message = %q", msg)
	}
}
