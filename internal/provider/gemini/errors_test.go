package gemini

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		header     http.Header
		body       string
		want       octomesh.ErrorCode
		wantRetry  time.Duration
		wantStatus int
	}{
		{
			name:   "429 with RetryInfo",
			status: 429,
			body:   `{"error":{"code":429,"message":"quota CANARY","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"}]}}`,
			want:   octomesh.ERATELIMITED, wantRetry: 1500 * time.Millisecond, wantStatus: 429,
		},
		{
			name:   "Retry-After header wins over RetryInfo",
			status: 429,
			header: http.Header{"Retry-After": {"3"}},
			body:   `{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"30s"}]}}`,
			want:   octomesh.ERATELIMITED, wantRetry: 3 * time.Second,
		},
		{
			name:   "429 without any delay",
			status: 429,
			body:   `{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}`,
			want:   octomesh.ERATELIMITED,
		},
		{
			name:   "input too long",
			status: 400,
			body:   `{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}`,
			want:   octomesh.ECONTEXTLENGTH,
		},
		{
			name:   "API key not valid",
			status: 400,
			body:   `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}`,
			want:   octomesh.EUPSTREAMAUTH,
		},
		{
			name:   "API key expired reason",
			status: 400,
			body:   `{"error":{"code":400,"message":"expired","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_EXPIRED"}]}}`,
			want:   octomesh.EUPSTREAMAUTH,
		},
		{
			name:   "permission denied",
			status: 403,
			body:   `{"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED"}}`,
			want:   octomesh.EUPSTREAMAUTH,
		},
		{
			name:   "unauthenticated",
			status: 401,
			body:   `{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}`,
			want:   octomesh.EUPSTREAMAUTH,
		},
		{
			name:   "overloaded",
			status: 503,
			body:   `{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}`,
			want:   octomesh.EOVERLOADED,
		},
		{
			name:   "internal",
			status: 500,
			body:   `{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}`,
			want:   octomesh.EUPSTREAM,
		},
		{
			name:   "deadline exceeded",
			status: 504,
			body:   `{"error":{"code":504,"message":"Deadline expired before operation could complete.","status":"DEADLINE_EXCEEDED"}}`,
			want:   octomesh.ETIMEOUT,
		},
		{
			name:   "region not supported",
			status: 400,
			body:   `{"error":{"code":400,"message":"User location is not supported for the API use.","status":"FAILED_PRECONDITION"}}`,
			want:   octomesh.EUPSTREAM,
		},
		{
			name:   "plain invalid argument",
			status: 400,
			body:   `{"error":{"code":400,"message":"Invalid value at 'generation_config.temperature' CANARY","status":"INVALID_ARGUMENT"}}`,
			want:   octomesh.EINVALID,
		},
		{
			name:   "unknown model",
			status: 404,
			body:   `{"error":{"code":404,"message":"models/gemini-9 is not found for API version v1beta","status":"NOT_FOUND"}}`,
			want:   octomesh.EUPSTREAM,
		},
		{
			name:   "not JSON",
			status: 502,
			body:   `<html>Bad Gateway</html>`,
			want:   octomesh.EUPSTREAM,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classify("gemini", tt.status, tt.header, []byte(tt.body))
			var oe *octomesh.Error
			if !errors.As(err, &oe) {
				t.Fatalf("got %v, want *octomesh.Error", err)
			}
			if oe.Code != tt.want {
				t.Errorf("code = %q, want %q (err %v)", oe.Code, tt.want, err)
			}
			if oe.RetryAfter != tt.wantRetry {
				t.Errorf("RetryAfter = %v, want %v", oe.RetryAfter, tt.wantRetry)
			}
			if tt.wantStatus != 0 && oe.Status != tt.wantStatus {
				t.Errorf("Status = %d, want %d", oe.Status, tt.wantStatus)
			}
			if oe.Provider != "gemini" {
				t.Errorf("Provider = %q, want gemini", oe.Provider)
			}
			for _, leak := range []string{"CANARY", "API key not valid", "quota", "location"} {
				if strings.Contains(oe.Message, leak) {
					t.Errorf("client message %q carries upstream text %q", oe.Message, leak)
				}
			}
		})
	}
}
