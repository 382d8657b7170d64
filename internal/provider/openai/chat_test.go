package openai

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/octomesh/octomesh"
)

func TestChatResponseErrors(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        octomesh.ErrorCode
	}{
		{"HTML from a proxy", http.StatusOK, "text/html", "<html><body>CANARY</body></html>", octomesh.EUPSTREAM},
		{"empty body", http.StatusOK, "application/json", "", octomesh.EUPSTREAM},
		{"null", http.StatusOK, "application/json", "null", octomesh.EUPSTREAM},
		{"content of the wrong type", http.StatusOK, "application/json", `{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":42},"finish_reason":"stop"}]}`, octomesh.EUPSTREAM},
		{"error object in a 200 (OpenRouter)", http.StatusOK, "application/json", `{"error":{"code":429,"message":"CANARY"}}`, octomesh.ERATELIMITED},
		{"legacy vLLM error object in a 200", http.StatusOK, "application/json", `{"object":"error","message":"CANARY","type":"BadRequestError","param":null,"code":400}`, octomesh.EINVALID},
		{"404 unknown model", http.StatusNotFound, "application/json", `{"error":{"message":"The model 'gpt-9' does not exist CANARY","type":"invalid_request_error","param":null,"code":"model_not_found"}}`, octomesh.EUPSTREAM},
		{"403 from a gateway in front", http.StatusForbidden, "text/plain", "forbidden CANARY", octomesh.EUPSTREAMAUTH},
		{"502 HTML from a load balancer", http.StatusBadGateway, "text/html", "<html>502 Bad Gateway CANARY</html>", octomesh.EUPSTREAM},
		{"400 invalid request", http.StatusBadRequest, "application/json", `{"error":{"message":"Invalid value for 'temperature' CANARY","type":"invalid_request_error","param":"temperature","code":"invalid_value"}}`, octomesh.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUpstream(t, tt.status, tt.contentType, tt.body)
			resp, err := u.client(t, Config{}).Chat(context.Background(), simpleRequest(false))
			if got := errCode(t, err); got != tt.want {
				t.Errorf("Chat = %v, %v; want code %q", resp, err, tt.want)
			}
		})
	}
}

// TestChatConcurrent runs many calls on one client; with -race it checks
// that requests share no mutable state.
func TestChatConcurrent(t *testing.T) {
	u := newUpstream(t, http.StatusOK, "application/json", `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}`)
	c := u.client(t, Config{Headers: map[string]string{"X-Title": "t"}})
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Chat(context.Background(), simpleRequest(false))
			if err == nil && resp.Choices[0].Message.Content.Text() != "ok" {
				err = octomesh.Errorf(octomesh.EINTERNAL, "wrong content %q", resp.Choices[0].Message.Content.Text())
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
