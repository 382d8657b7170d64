package mockupstream

import (
	"encoding/json"
	"strconv"
	"strings"
)

// created is the fixed creation time of every answer: bodies are encoded
// once, so they cannot carry the time of each request.
const created = 1_700_000_000

// mustJSON encodes v; the mock's own values always encode.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// sseData frames one OpenAI event (data only).
func sseData(v any) []byte {
	return append(append([]byte("data: "), mustJSON(v)...), "\n\n"...)
}

// sseEvent frames one named event, as Anthropic sends them.
func sseEvent(name string, v any) []byte {
	b := append([]byte("event: "+name+"\ndata: "), mustJSON(v)...)
	return append(b, "\n\n"...)
}

type object = map[string]any

// openAIWire encodes OpenAI Chat Completions answers: a chat.completion
// body, and chat.completion.chunk events (a role chunk, one chunk per
// token, a finish chunk, the usage chunk when asked for, then [DONE]).
func openAIWire(cfg Config, token string) wire {
	usage := object{
		"prompt_tokens": PromptTokens, "completion_tokens": cfg.Tokens, "total_tokens": PromptTokens + cfg.Tokens,
		"prompt_tokens_details":     object{"cached_tokens": 0, "audio_tokens": 0},
		"completion_tokens_details": object{"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
	}
	body := mustJSON(struct {
		ID                string `json:"id"`
		Object            string `json:"object"`
		Created           int64  `json:"created"`
		Model             string `json:"model"`
		Choices           []any  `json:"choices"`
		Usage             object `json:"usage"`
		ServiceTier       string `json:"service_tier"`
		SystemFingerprint string `json:"system_fingerprint"`
	}{
		ID: "chatcmpl-mock", Object: "chat.completion", Created: created, Model: cfg.Model,
		Choices: []any{object{
			"index":         0,
			"message":       object{"role": "assistant", "content": strings.Repeat(token, cfg.Tokens), "refusal": nil, "annotations": []any{}},
			"logprobs":      nil,
			"finish_reason": "stop",
		}},
		Usage: usage, ServiceTier: "default", SystemFingerprint: "fp_mock",
	})
	chunk := func(delta object, finish any) []byte {
		return sseData(struct {
			ID                string `json:"id"`
			Object            string `json:"object"`
			Created           int64  `json:"created"`
			Model             string `json:"model"`
			ServiceTier       string `json:"service_tier"`
			SystemFingerprint string `json:"system_fingerprint"`
			Choices           []any  `json:"choices"`
		}{"chatcmpl-mock", "chat.completion.chunk", created, cfg.Model, "default", "fp_mock",
			[]any{object{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}}})
	}
	finish := chunk(object{}, "stop")
	usageChunk := sseData(object{
		"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": created, "model": cfg.Model,
		"service_tier": "default", "system_fingerprint": "fp_mock", "choices": []any{}, "usage": usage,
	})
	done := []byte("data: [DONE]\n\n")
	return wire{
		json:     body,
		jsonLen:  []string{strconv.Itoa(len(body))},
		head:     chunk(object{"role": "assistant", "content": "", "refusal": nil}, nil),
		token:    chunk(object{"content": token}, nil),
		tail:     concat(finish, usageChunk, done),
		tailNoUs: concat(finish, done),
	}
}

// anthropicWire encodes Anthropic Messages answers: a message body, and the
// event stream message_start, content_block_start, ping, one
// content_block_delta per token, content_block_stop, message_delta,
// message_stop.
func anthropicWire(cfg Config, token string) wire {
	usage := func(out int) object {
		return object{"input_tokens": PromptTokens, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
			"output_tokens": out, "service_tier": "standard"}
	}
	body := mustJSON(struct {
		ID           string `json:"id"`
		Type         string `json:"type"`
		Role         string `json:"role"`
		Model        string `json:"model"`
		Content      []any  `json:"content"`
		StopReason   string `json:"stop_reason"`
		StopSequence *int   `json:"stop_sequence"`
		Usage        object `json:"usage"`
	}{"msg_mock", "message", "assistant", cfg.Model,
		[]any{object{"type": "text", "text": strings.Repeat(token, cfg.Tokens)}}, "end_turn", nil, usage(cfg.Tokens)})
	head := concat(
		sseEvent("message_start", object{"type": "message_start", "message": object{
			"id": "msg_mock", "type": "message", "role": "assistant", "model": cfg.Model, "content": []any{},
			"stop_reason": nil, "stop_sequence": nil, "usage": usage(1)}}),
		sseEvent("content_block_start", object{"type": "content_block_start", "index": 0, "content_block": object{"type": "text", "text": ""}}),
		sseEvent("ping", object{"type": "ping"}),
	)
	tail := concat(
		sseEvent("content_block_stop", object{"type": "content_block_stop", "index": 0}),
		sseEvent("message_delta", object{"type": "message_delta",
			"delta": object{"stop_reason": "end_turn", "stop_sequence": nil}, "usage": object{"output_tokens": cfg.Tokens}}),
		sseEvent("message_stop", object{"type": "message_stop"}),
	)
	return wire{
		json:    body,
		jsonLen: []string{strconv.Itoa(len(body))},
		head:    head,
		token:   sseEvent("content_block_delta", object{"type": "content_block_delta", "index": 0, "delta": object{"type": "text_delta", "text": token}}),
		tail:    tail,
	}
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
