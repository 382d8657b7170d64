package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/octomesh/octomesh/internal/fakeupstream"
)

// End-to-end tests with the official Anthropic Go SDK against /v1/messages:
// any inbound format reaches any provider, so the same tests run against
// every upstream.

func messageParams(model, text string) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{
		Model:     anthropic.Model(model),
		MaxTokens: 64,
		System:    []anthropic.TextBlockParam{{Text: "You are terse."}},
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(text))},
	}
}

func anthropicTools() []anthropic.ToolUnionParam {
	return []anthropic.ToolUnionParam{
		{OfTool: &anthropic.ToolParam{
			Name: "get_weather", Description: anthropic.String("Current weather in a city"),
			InputSchema: anthropic.ToolInputSchemaParam{
				Properties: map[string]any{
					"city": map[string]any{"type": "string"},
					"unit": map[string]any{"type": "string", "enum": []string{"c", "f"}},
				},
				Required: []string{"city", "unit"},
			},
		}},
		{OfTool: &anthropic.ToolParam{
			Name: "get_time", Description: anthropic.String("Current time in a time zone"),
			InputSchema: anthropic.ToolInputSchemaParam{
				Properties: map[string]any{"tz": map[string]any{"type": "string"}},
				Required:   []string{"tz"},
			},
		}},
	}
}

// messageText concatenates a message's text blocks.
func messageText(m *anthropic.Message) string {
	var b strings.Builder
	for _, c := range m.Content {
		if c.Type == "text" {
			b.WriteString(c.Text)
		}
	}
	return b.String()
}

// toolUses returns a message's tool_use blocks.
func toolUses(m *anthropic.Message) []anthropic.ContentBlockUnion {
	var out []anthropic.ContentBlockUnion
	for _, c := range m.Content {
		if c.Type == "tool_use" {
			out = append(out, c)
		}
	}
	return out
}

// checkMessageUsage checks usage as the fakes report it (prompt tokens split
// into input, cache reads and cache writes), or as plausible for sim.
func checkMessageUsage(t *testing.T, model string, u anthropic.Usage) {
	t.Helper()
	prompt := u.InputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens
	if model == modelSim {
		if prompt <= 0 || u.OutputTokens <= 0 {
			t.Errorf("usage %+v: want positive counts", u)
		}
		return
	}
	if prompt != fakeupstream.PromptTokens || u.CacheReadInputTokens != fakeupstream.CachedTokens || u.OutputTokens != fakeupstream.CompletionTokens {
		t.Errorf("usage: input %d + cache read %d + cache write %d, output %d; want %d in all (%d read), %d out",
			u.InputTokens, u.CacheReadInputTokens, u.CacheCreationInputTokens, u.OutputTokens,
			fakeupstream.PromptTokens, fakeupstream.CachedTokens, fakeupstream.CompletionTokens)
	}
}

// checkStop checks a text answer's stop reason: end_turn, or for the sim
// (whose answers may outgrow max_tokens) max_tokens.
func checkStop(t *testing.T, model string, got anthropic.StopReason) {
	t.Helper()
	if got != anthropic.StopReasonEndTurn && !(model == modelSim && got == anthropic.StopReasonMaxTokens) {
		t.Errorf("stop_reason = %q, want end_turn", got)
	}
}

func TestAnthropicSDKMessages(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{})
	client := ts.anthropicClient(ts.AdminKey)
	ctx := context.Background()

	for _, model := range chatModels {
		fake := ts.fakeFor(model)
		t.Run(model, func(t *testing.T) {
			t.Parallel()

			t.Run("plain", func(t *testing.T) {
				t.Parallel()
				tag := "msg-" + randomHex(t, 6)
				text := "Say hello to " + tag + " please"
				var httpResp *http.Response
				msg, err := client.Messages.New(ctx, messageParams(model, text), anthropicoption.WithResponseInto(&httpResp))
				if err != nil {
					t.Fatalf("Messages.New: %v", err)
				}
				checkServedHeaders(t, httpResp, model)
				if msg.Type != "message" || msg.Role != "assistant" || !strings.HasPrefix(msg.ID, "msg_") || string(msg.Model) != model {
					t.Errorf("type %q role %q id %q model %q; want message, assistant, msg_…, %q", msg.Type, msg.Role, msg.ID, msg.Model, model)
				}
				if fake != nil {
					if got, want := messageText(msg), fake.ReplyText(text); got != want {
						t.Errorf("text = %q, want %q", got, want)
					}
					ts.checkUpstreamRequest(t, model, received(t, fake, tag))
				} else if messageText(msg) == "" {
					t.Error("sim answered no text")
				}
				checkStop(t, model, msg.StopReason)
				checkMessageUsage(t, model, msg.Usage)
			})

			t.Run("stream", func(t *testing.T) {
				t.Parallel()
				tag := "msgstream-" + randomHex(t, 6)
				text := "Stream a hello to " + tag
				var httpResp *http.Response
				st := client.Messages.NewStreaming(ctx, messageParams(model, text), anthropicoption.WithResponseInto(&httpResp))
				defer st.Close()
				var msg anthropic.Message
				events := map[string]int{}
				for st.Next() {
					ev := st.Current()
					events[ev.Type]++
					if err := msg.Accumulate(ev); err != nil {
						t.Fatalf("Accumulate(%s): %v", ev.Type, err)
					}
				}
				if err := st.Err(); err != nil {
					t.Fatalf("stream: %v", err)
				}
				checkServedHeaders(t, httpResp, model)
				for _, typ := range []string{"message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"} {
					if events[typ] == 0 {
						t.Errorf("no %s event; got %v", typ, events)
					}
				}
				if fake != nil {
					if got, want := messageText(&msg), fake.ReplyText(text); got != want {
						t.Errorf("streamed text = %q, want %q", got, want)
					}
					if events["content_block_delta"] < 2 {
						t.Errorf("%d text deltas, want the fake's several", events["content_block_delta"])
					}
					ts.checkUpstreamRequest(t, model, received(t, fake, tag))
				} else {
					plain, err := client.Messages.New(ctx, messageParams(model, text))
					if err != nil {
						t.Fatal(err)
					}
					if got, want := messageText(&msg), messageText(plain); got != want || got == "" {
						t.Errorf("sim streamed %q, answered %q unstreamed", got, want)
					}
				}
				checkStop(t, model, msg.StopReason)
				checkMessageUsage(t, model, msg.Usage)
			})

			t.Run("tool_use", func(t *testing.T) {
				t.Parallel()
				tag := "msgtools-" + randomHex(t, 6)
				params := messageParams(model, "Weather and time in Paris? "+tag)
				params.Tools = anthropicTools()
				msg, err := client.Messages.New(ctx, params)
				if err != nil {
					t.Fatalf("Messages.New: %v", err)
				}
				uses := toolUses(msg)
				if msg.StopReason != anthropic.StopReasonToolUse || len(uses) == 0 {
					t.Fatalf("stop_reason %q with %d tool_use blocks, want tool_use", msg.StopReason, len(uses))
				}
				for _, u := range uses {
					if u.ID == "" {
						t.Errorf("tool_use %s has no id", u.Name)
					}
					checkToolCall(t, u.Name, string(u.Input))
				}
				if fake != nil {
					if len(uses) != 2 || uses[0].Name != "get_weather" || uses[1].Name != "get_time" {
						t.Errorf("tool uses %v, want parallel get_weather and get_time", uses)
					}
					ts.checkUpstreamRequest(t, model, received(t, fake, tag))
				}

				// Round trip: tool results get a text answer.
				params.Messages = append(params.Messages, msg.ToParam())
				var results []anthropic.ContentBlockParamUnion
				for _, u := range uses {
					results = append(results, anthropic.NewToolResultBlock(u.ID, `{"result":"ok"}`, false))
				}
				params.Messages = append(params.Messages, anthropic.NewUserMessage(results...))
				final, err := client.Messages.New(ctx, params)
				if err != nil {
					t.Fatalf("tool result round trip: %v", err)
				}
				if fake != nil && (final.StopReason != anthropic.StopReasonEndTurn || !strings.HasPrefix(messageText(final), "Hello from "+fake.Provider())) {
					t.Errorf("after tool results: stop %q text %q, want a text answer", final.StopReason, messageText(final))
				}
			})

			t.Run("tool_use_stream", func(t *testing.T) {
				t.Parallel()
				tag := "msgtoolstream-" + randomHex(t, 6)
				params := messageParams(model, "Weather and time in Oslo? "+tag)
				params.Tools = anthropicTools()
				st := client.Messages.NewStreaming(ctx, params)
				defer st.Close()
				var msg anthropic.Message
				for st.Next() {
					if err := msg.Accumulate(st.Current()); err != nil {
						t.Fatalf("Accumulate: %v", err)
					}
				}
				if err := st.Err(); err != nil {
					t.Fatalf("stream: %v", err)
				}
				uses := toolUses(&msg)
				if msg.StopReason != anthropic.StopReasonToolUse || len(uses) == 0 {
					t.Fatalf("stop_reason %q with %d tool_use blocks, want tool_use", msg.StopReason, len(uses))
				}
				for _, u := range uses {
					checkToolCall(t, u.Name, string(u.Input))
				}
				if fake != nil {
					if len(uses) != 2 {
						t.Errorf("%d tool uses, want 2", len(uses))
					}
					ts.checkUpstreamRequest(t, model, received(t, fake, tag))
				}
			})
		})
	}
}

func TestAnthropicSDKErrors(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{})
	ctx := context.Background()
	asErr := func(t *testing.T, err error) *anthropic.Error {
		t.Helper()
		var e *anthropic.Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v (%T), want an *anthropic.Error", err, err)
		}
		return e
	}
	errType := func(e *anthropic.Error) string {
		var body struct {
			Type  string `json:"type"`
			Error struct {
				Type string `json:"type"`
			} `json:"error"`
		}
		json.Unmarshal([]byte(e.RawJSON()), &body)
		return body.Type + "/" + body.Error.Type
	}

	t.Run("bad key", func(t *testing.T) {
		bad := ts.anthropicClient("om-wrong-key-0123456789abcdef0123456789")
		_, err := bad.Messages.New(ctx, messageParams(modelAnthropic, "hi"))
		if e := asErr(t, err); e.StatusCode != 401 || errType(e) != "error/authentication_error" {
			t.Errorf("status %d, %s; want 401 error/authentication_error", e.StatusCode, errType(e))
		}
	})
	client := ts.anthropicClient(ts.AdminKey)
	t.Run("unknown model", func(t *testing.T) {
		_, err := client.Messages.New(ctx, messageParams("claude-nonexistent-9", "hi"))
		if e := asErr(t, err); e.StatusCode != 404 || errType(e) != "error/not_found_error" {
			t.Errorf("status %d, %s; want 404 error/not_found_error", e.StatusCode, errType(e))
		}
	})
	t.Run("upstream 429", func(t *testing.T) {
		ts.Anthropic.FailNext(429, "", map[string]string{"Retry-After": "9"})
		_, err := client.Messages.New(ctx, messageParams(modelAnthropic, "hi"))
		e := asErr(t, err)
		if e.StatusCode != 429 || errType(e) != "error/rate_limit_error" || e.Response.Header.Get("Retry-After") != "9" {
			t.Errorf("status %d, %s, Retry-After %q; want 429 error/rate_limit_error, 9", e.StatusCode, errType(e), e.Response.Header.Get("Retry-After"))
		}
	})
	t.Run("stream cut", func(t *testing.T) {
		ts.Anthropic.CutStreamAfter(4)
		st := client.Messages.NewStreaming(ctx, messageParams(modelAnthropic, "hi"))
		defer st.Close()
		stopped := false
		for st.Next() {
			stopped = stopped || st.Current().Type == "message_stop"
		}
		if st.Err() == nil || stopped {
			t.Errorf("a stream the upstream cut ended with err %v, message_stop seen %v; want an error and no message_stop", st.Err(), stopped)
		}
	})
}
