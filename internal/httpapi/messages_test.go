package httpapi

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/octomesh/octomesh"
)

const okMessages = `{"model":"fake/m","max_tokens":100,"messages":[{"role":"user","content":"hi"}]`

func TestMessages(t *testing.T) {
	svc := &fakeService{}
	w := do(t, newTestServer(t, svc), "POST", "/v1/messages", okMessages+`}`, "Authorization", "", "X-Api-Key", testKey)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var m struct {
		Type    string `json:"type"`
		Role    string `json:"role"`
		Content []struct {
			Type, Text string
		} `json:"content"`
		StopReason string `json:"stop_reason"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil || m.Type != "message" || m.Role != "assistant" || len(m.Content) != 1 || m.Content[0].Text != "ok" || m.StopReason != "end_turn" {
		t.Errorf("response = %s (%v)", w.Body, err)
	}
	if svc.last.MaxOutputTokens() != 100 || svc.last.Messages[0].Content.Text() != "hi" {
		t.Errorf("canonical request = %+v", svc.last)
	}
}

func TestMessagesBadInputAnthropicShaped(t *testing.T) {
	s := newTestServer(t, &fakeService{})
	for _, body := range []string{`{`, `{"model":"m","messages":[]}`, `{"model":"m","max_tokens":"x","messages":[{"role":"user","content":"hi"}]}`} {
		w := do(t, s, "POST", "/v1/messages", body, "Authorization", "", "X-Api-Key", testKey)
		var e anthropicError
		if w.Code != 400 || json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Type != "error" || e.Error.Type != "invalid_request_error" {
			t.Errorf("%s: %d %s", body, w.Code, w.Body)
		}
	}
	w := do(t, s, "POST", "/v1/messages", okMessages+`}`, "Authorization", "", "X-Api-Key", "wrong")
	var e anthropicError
	if w.Code != 401 || json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error.Type != "authentication_error" {
		t.Errorf("bad key: %d %s", w.Code, w.Body)
	}
}

var eventName = regexp.MustCompile(`(?m)^event: (\S+)$`)

func TestMessagesStream(t *testing.T) {
	chunks := []octomesh.Chunk{
		{ID: "c", Model: "fake/m", Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Role: "assistant"}}}},
		{ID: "c", Model: "fake/m", Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Content: "Hel"}}}},
		{ID: "c", Model: "fake/m", Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Content: "lo"}}}},
		{ID: "c", Model: "fake/m", Choices: []octomesh.ChunkChoice{{FinishReason: "stop"}}},
		{ID: "c", Model: "fake/m", Choices: []octomesh.ChunkChoice{}, Usage: &octomesh.Usage{PromptTokens: 5, CompletionTokens: 2}},
	}
	w := do(t, newTestServer(t, &fakeService{chunks: chunks}), "POST", "/v1/messages", okMessages+`,"stream":true}`)
	var names []string
	for _, m := range eventName.FindAllStringSubmatch(w.Body.String(), -1) {
		names = append(names, m[1])
	}
	want := "message_start ping content_block_start content_block_delta content_block_delta content_block_stop message_delta message_stop"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("events = %s\nwant     %s\n%s", got, want, w.Body)
	}
	if !strings.Contains(w.Body.String(), `"output_tokens":2`) {
		t.Errorf("usage missing from message_delta: %s", w.Body)
	}

	cut := &fakeService{chunks: chunks[:2], endErr: octomesh.Errorf(octomesh.EOVERLOADED, "busy")}
	w = do(t, newTestServer(t, cut), "POST", "/v1/messages", okMessages+`,"stream":true}`)
	body := w.Body.String()
	if strings.Contains(body, "message_stop") || !strings.Contains(body, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"") {
		t.Errorf("a failed stream must end with an error event and no message_stop:\n%s", body)
	}
}
