package fakeupstream_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/fakeupstream"
	"github.com/octomesh/octomesh/internal/provider/anthropic"
	"github.com/octomesh/octomesh/internal/provider/gemini"
	"github.com/octomesh/octomesh/internal/provider/openai"
)

// The fakes are checked against the real adapters: if an adapter can read
// what a fake sends, the fake speaks the wire format the adapter was built
// (and golden-tested) for.

type fake struct {
	name  string
	new   func(testing.TB) *fakeupstream.Server
	model string
	// adapter builds the provider adapter for s, with key as its credential.
	adapter func(t *testing.T, s *fakeupstream.Server, key string) octomesh.Provider
}

var fakes = []fake{{
	name: "openai", new: fakeupstream.NewOpenAI, model: "gpt-4o-mini",
	adapter: func(t *testing.T, s *fakeupstream.Server, key string) octomesh.Provider {
		c, err := openai.New(openai.Config{ID: "fake-openai", BaseURL: s.BaseURL(), APIKey: octomesh.Secret(key)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	},
}, {
	name: "anthropic", new: fakeupstream.NewAnthropic, model: "claude-haiku-4-5",
	adapter: func(t *testing.T, s *fakeupstream.Server, key string) octomesh.Provider {
		c, err := anthropic.New(anthropic.Config{ID: "fake-anthropic", BaseURL: s.BaseURL(), APIKey: octomesh.Secret(key)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	},
}, {
	name: "gemini", new: fakeupstream.NewGemini, model: "gemini-2.5-flash",
	adapter: func(t *testing.T, s *fakeupstream.Server, key string) octomesh.Provider {
		c, err := gemini.New(gemini.Config{ID: "fake-gemini", BaseURL: s.BaseURL(), APIKey: octomesh.Secret(key)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	},
}}

const question = "What is the weather like in Paris today?"

func chatRequest(model string, stream bool) *octomesh.ChatRequest {
	return &octomesh.ChatRequest{Model: model, Stream: stream, Messages: []octomesh.Message{
		{Role: octomesh.RoleSystem, Content: octomesh.TextContent("Be brief.")},
		{Role: octomesh.RoleUser, Content: octomesh.TextContent(question)},
	}}
}

var weatherTools = []octomesh.Tool{
	{Type: "function", Function: octomesh.FunctionDef{Name: "get_weather", Parameters: json.RawMessage(
		`{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"},"unit":{"type":"string","enum":["c","f"]}},"required":["city","unit"]}`)}},
	{Type: "function", Function: octomesh.FunctionDef{Name: "get_time", Parameters: json.RawMessage(`{"type":"object","properties":{}}`)}},
}

// collect drains a stream: the text, tool calls by index, finish reason,
// and usage.
type collected struct {
	text   string
	calls  map[int]*octomesh.ToolCall
	finish string
	usage  *octomesh.Usage
	events int
}

func collect(t *testing.T, st octomesh.ChatStream) (collected, error) {
	t.Helper()
	defer st.Close()
	c := collected{calls: map[int]*octomesh.ToolCall{}}
	for st.Next() {
		ch := st.Chunk()
		c.events++
		if ch.Usage != nil {
			u := *ch.Usage
			c.usage = &u
		}
		for _, choice := range ch.Choices {
			c.text += choice.Delta.Content
			if choice.FinishReason != "" {
				c.finish = choice.FinishReason
			}
			for _, tc := range choice.Delta.ToolCalls {
				i := *tc.Index
				if c.calls[i] == nil {
					c.calls[i] = &octomesh.ToolCall{ID: tc.ID, Function: octomesh.FunctionCall{Name: tc.Function.Name}}
				}
				c.calls[i].Function.Arguments += tc.Function.Arguments
			}
		}
	}
	return c, st.Err()
}

func TestChat(t *testing.T) {
	for _, f := range fakes {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			s := f.new(t)
			p := f.adapter(t, s, s.Key())
			ctx := context.Background()

			resp, err := p.Chat(ctx, chatRequest(f.model, false))
			if err != nil {
				t.Fatalf("Chat: %v", err)
			}
			want := "Hello from " + f.name + ": What is the weather "
			if got := resp.Choices[0].Message.Content.Text(); got != want || s.ReplyText(question) != want {
				t.Errorf("text = %q, ReplyText = %q, want %q", got, s.ReplyText(question), want)
			}
			wantUsage := octomesh.Usage{PromptTokens: fakeupstream.PromptTokens, CompletionTokens: fakeupstream.CompletionTokens}
			if got := resp.Usage; got == nil || got.PromptTokens != wantUsage.PromptTokens || got.CompletionTokens != wantUsage.CompletionTokens || got.CachedTokens() != fakeupstream.CachedTokens {
				t.Errorf("usage = %+v, want prompt %d (cached %d), completion %d", got, fakeupstream.PromptTokens, fakeupstream.CachedTokens, fakeupstream.CompletionTokens)
			}

			st, err := p.ChatStream(ctx, chatRequest(f.model, true))
			if err != nil {
				t.Fatalf("ChatStream: %v", err)
			}
			c, err := collect(t, st)
			if err != nil {
				t.Fatalf("stream: %v", err)
			}
			if c.text != want || c.finish != octomesh.FinishStop || c.usage == nil || c.usage.CompletionTokens != fakeupstream.CompletionTokens {
				t.Errorf("stream: text %q finish %q usage %+v, want %q, stop, %d completion tokens", c.text, c.finish, c.usage, want, fakeupstream.CompletionTokens)
			}
			if c.events < 4 {
				t.Errorf("stream had %d chunks; want the answer split over several events", c.events)
			}

			reqs := s.Requests()
			if len(reqs) != 2 {
				t.Fatalf("fake recorded %d requests, want 2", len(reqs))
			}
			if got := reqs[0].Model(); got != f.model {
				t.Errorf("recorded model %q, want %q", got, f.model)
			}
			if !strings.Contains(string(reqs[1].RawBody), question) || reqs[1].Body == nil {
				t.Errorf("recorded body %s does not hold the question", reqs[1].RawBody)
			}
		})
	}
}

func TestEchoWholeMessage(t *testing.T) {
	s := fakeupstream.NewOpenAI(t)
	s.EchoWholeMessage()
	resp, err := fakes[0].adapter(t, s, s.Key()).Chat(context.Background(), chatRequest("m", false))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resp.Choices[0].Message.Content.Text(), "Hello from openai: "+question; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
}

func TestToolCalls(t *testing.T) {
	for _, f := range fakes {
		for _, stream := range []bool{false, true} {
			t.Run(f.name+map[bool]string{false: "/plain", true: "/stream"}[stream], func(t *testing.T) {
				t.Parallel()
				s := f.new(t)
				p := f.adapter(t, s, s.Key())
				req := chatRequest(f.model, stream)
				req.Tools = weatherTools
				var calls []octomesh.ToolCall
				var finish string
				if stream {
					st, err := p.ChatStream(context.Background(), req)
					if err != nil {
						t.Fatal(err)
					}
					c, err := collect(t, st)
					if err != nil {
						t.Fatal(err)
					}
					for i := range len(c.calls) {
						calls = append(calls, *c.calls[i])
					}
					finish = c.finish
				} else {
					resp, err := p.Chat(context.Background(), req)
					if err != nil {
						t.Fatal(err)
					}
					calls, finish = resp.Choices[0].Message.ToolCalls, resp.Choices[0].FinishReason
				}
				if finish != octomesh.FinishToolCalls || len(calls) != 2 {
					t.Fatalf("finish %q, %d calls; want tool_calls and 2 parallel calls", finish, len(calls))
				}
				var args map[string]any
				if err := json.Unmarshal([]byte(calls[0].Function.Arguments), &args); err != nil {
					t.Fatalf("arguments %q: %v", calls[0].Function.Arguments, err)
				}
				if diff := cmp.Diff(map[string]any{"city": "example", "unit": "c"}, args); calls[0].Function.Name != "get_weather" || diff != "" {
					t.Errorf("first call %s, arguments (-want +got):\n%s", calls[0].Function.Name, diff)
				}
				if calls[1].Function.Name != "get_time" || calls[1].Function.Arguments != "{}" {
					t.Errorf("second call %s(%s), want get_time({})", calls[1].Function.Name, calls[1].Function.Arguments)
				}

				// Round trip: a tool result gets a text answer echoing it.
				req.Messages = append(req.Messages,
					octomesh.Message{Role: octomesh.RoleAssistant, ToolCalls: calls},
					octomesh.Message{Role: octomesh.RoleTool, ToolCallID: calls[0].ID, Content: octomesh.TextContent(`{"temp":18}`)},
					octomesh.Message{Role: octomesh.RoleTool, ToolCallID: calls[1].ID, Content: octomesh.TextContent(`{"t":"noon"}`)})
				req.Stream = false
				for i := range req.Messages[2].ToolCalls {
					req.Messages[2].ToolCalls[i].Index = nil
					req.Messages[2].ToolCalls[i].Type = "function"
				}
				resp, err := p.Chat(context.Background(), req)
				if err != nil {
					t.Fatalf("round trip: %v", err)
				}
				if got := resp.Choices[0].Message.Content.Text(); !strings.HasPrefix(got, "Hello from "+f.name+": ") || len(resp.Choices[0].Message.ToolCalls) > 0 {
					t.Errorf("after tool results: %q with %d calls, want a text answer", got, len(resp.Choices[0].Message.ToolCalls))
				}
			})
		}
	}
}

func TestJSONSchema(t *testing.T) {
	for _, f := range fakes {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			s := f.new(t)
			req := chatRequest(f.model, false)
			req.ResponseFormat = &octomesh.ResponseFormat{Type: octomesh.FormatJSONSchema, JSONSchema: &octomesh.JSONSchema{
				Name: "weather", Schema: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"},"temp_c":{"type":"number"}},"required":["city","temp_c"],"additionalProperties":false}`)}}
			resp, err := f.adapter(t, s, s.Key()).Chat(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(resp.Choices[0].Message.Content.Text()), &got); err != nil {
				t.Fatalf("content %q is not JSON: %v", resp.Choices[0].Message.Content.Text(), err)
			}
			if _, ok := got["temp_c"].(float64); !ok {
				t.Errorf("content %v lacks a numeric temp_c", got)
			}
		})
	}
}

func TestScripting(t *testing.T) {
	for _, f := range fakes {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			s := f.new(t)
			p := f.adapter(t, s, s.Key())
			ctx := context.Background()

			s.FailNext(429, "", map[string]string{"Retry-After": "7"})
			s.FailNext(500, "", nil)
			_, err := p.Chat(ctx, chatRequest(f.model, false))
			var oe *octomesh.Error
			if octomesh.ErrorCodeOf(err) != octomesh.ERATELIMITED || !asError(err, &oe) || oe.RetryAfter != 7*time.Second {
				t.Errorf("after FailNext(429): %v, want rate_limited with RetryAfter 7s", err)
			}
			if _, err := p.Chat(ctx, chatRequest(f.model, false)); octomesh.ErrorCodeOf(err) != octomesh.EUPSTREAM {
				t.Errorf("after FailNext(500): %v, want upstream_error", err)
			}
			if _, err := p.Chat(ctx, chatRequest(f.model, false)); err != nil {
				t.Errorf("third request: %v, want success once the failures are used up", err)
			}

			s.CutStreamAfter(3)
			st, err := p.ChatStream(ctx, chatRequest(f.model, true))
			if err != nil {
				t.Fatal(err)
			}
			if c, err := collect(t, st); octomesh.ErrorCodeOf(err) != octomesh.EUPSTREAM {
				t.Errorf("cut stream ended with %v after %q, want upstream_error", err, c.text)
			}
			st, err = p.ChatStream(ctx, chatRequest(f.model, true))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := collect(t, st); err != nil {
				t.Errorf("stream after the cut one: %v", err)
			}

			bad := f.adapter(t, s, "wrong-key-0123456789")
			if _, err := bad.Chat(ctx, chatRequest(f.model, false)); octomesh.ErrorCodeOf(err) != octomesh.EUPSTREAMAUTH {
				t.Errorf("wrong key: %v, want upstream_auth", err)
			}
		})
	}
}

func asError(err error, target **octomesh.Error) bool {
	e, ok := err.(*octomesh.Error)
	*target = e
	return ok
}

func TestEmbeddings(t *testing.T) {
	for _, f := range []fake{fakes[0], fakes[2]} {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			s := f.new(t)
			emb := f.adapter(t, s, s.Key()).(octomesh.Embedder)
			dims := 5
			resp, err := emb.Embed(context.Background(), &octomesh.EmbeddingRequest{Model: "text-embedding-004", Input: []string{"one", "two"}, Dimensions: &dims})
			if err != nil {
				t.Fatal(err)
			}
			for i, in := range []string{"one", "two"} {
				if diff := cmp.Diff(fakeupstream.Vector(in, dims), resp.Data[i].Embedding); diff != "" {
					t.Errorf("embedding %d (-want +got):\n%s", i, diff)
				}
			}
		})
	}
}

func TestVector(t *testing.T) {
	a, b := fakeupstream.Vector("x", 20), fakeupstream.Vector("y", 20)
	if cmp.Equal(a, b) || !cmp.Equal(a, fakeupstream.Vector("x", 20)) {
		t.Errorf("Vector is not a deterministic function of its text: %v %v", a, b)
	}
	for _, v := range a {
		if v < -1 || v >= 1 {
			t.Errorf("component %v out of [-1, 1)", v)
		}
	}
}
