package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/fakeupstream"
)

// End-to-end tests with the official OpenAI Go SDK against the real server,
// for every kind of upstream: the three fake providers and the sim fleet.

// chatModels are the chat deployments every OpenAI-SDK test runs against.
var chatModels = []string{modelOpenAI, modelAnthropic, modelGemini, modelSim}

// tinyPNG is a 1x1 PNG, base64.
const tinyPNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

// openAITools declares two functions: parallel calls are possible.
func openAITools() []openai.ChatCompletionToolUnionParam {
	return []openai.ChatCompletionToolUnionParam{
		openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: "get_weather", Description: openai.String("Current weather in a city"),
			Parameters: openai.FunctionParameters{
				"type": "object",
				"properties": map[string]any{
					"city": map[string]any{"type": "string"},
					"unit": map[string]any{"type": "string", "enum": []string{"c", "f"}},
				},
				"required": []string{"city", "unit"},
			},
		}),
		openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: "get_time", Description: openai.String("Current time in a time zone"),
			Parameters: openai.FunctionParameters{
				"type":       "object",
				"properties": map[string]any{"tz": map[string]any{"type": "string"}},
				"required":   []string{"tz"},
			},
		}),
	}
}

// requiredArgs are the required arguments of each function in openAITools.
var requiredArgs = map[string][]string{"get_weather": {"city", "unit"}, "get_time": {"tz"}}

// checkToolCall checks a call names a declared function and has JSON-object
// arguments holding its required properties.
func checkToolCall(t *testing.T, name, args string) map[string]any {
	t.Helper()
	req, ok := requiredArgs[name]
	if !ok {
		t.Errorf("tool call names %q, not a declared function", name)
		return nil
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(args), &v); err != nil {
		t.Errorf("tool call %s arguments %q are not a JSON object: %v", name, args, err)
		return nil
	}
	for _, k := range req {
		if _, ok := v[k]; !ok {
			t.Errorf("tool call %s arguments %s lack required %q", name, args, k)
		}
	}
	return v
}

// checkServedHeaders checks the x-request-id and x-octomesh-* headers.
func checkServedHeaders(t *testing.T, resp *http.Response, model string) {
	t.Helper()
	if resp == nil {
		t.Fatal("no HTTP response captured")
	}
	if id := resp.Header.Get("X-Request-Id"); id == "" {
		t.Errorf("X-Request-Id = %q, want an id", id)
	}
	if got := resp.Header.Get("X-Octomesh-Model"); got != model {
		t.Errorf("X-Octomesh-Model = %q, want %q", got, model)
	}
	if got, want := resp.Header.Get("X-Octomesh-Provider"), providerOf[model]; got != want {
		t.Errorf("X-Octomesh-Provider = %q, want %q", got, want)
	}
}

// checkFinish checks a text answer's finish reason: stop, or for the sim
// (whose answers may outgrow the tests' max_completion_tokens) length.
func checkFinish(t *testing.T, model, got string) {
	t.Helper()
	if got != "stop" && !(model == modelSim && got == "length") {
		t.Errorf("finish_reason = %q, want stop", got)
	}
}

// checkUsage checks usage as the fakes report it, or as plausible for sim.
func checkUsage(t *testing.T, model string, u openai.CompletionUsage) {
	t.Helper()
	if model == modelSim {
		if u.PromptTokens <= 0 || u.CompletionTokens <= 0 || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
			t.Errorf("usage %+v: want positive counts adding up", u)
		}
		return
	}
	if u.PromptTokens != fakeupstream.PromptTokens || u.CompletionTokens != fakeupstream.CompletionTokens ||
		u.TotalTokens != fakeupstream.PromptTokens+fakeupstream.CompletionTokens || u.PromptTokensDetails.CachedTokens != fakeupstream.CachedTokens {
		t.Errorf("usage = prompt %d (cached %d), completion %d, total %d; want %d (%d), %d, %d",
			u.PromptTokens, u.PromptTokensDetails.CachedTokens, u.CompletionTokens, u.TotalTokens,
			fakeupstream.PromptTokens, fakeupstream.CachedTokens, fakeupstream.CompletionTokens, fakeupstream.PromptTokens+fakeupstream.CompletionTokens)
	}
}

func userParams(model, text string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model: model,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("You are terse."),
			openai.UserMessage(text),
		},
		MaxCompletionTokens: openai.Int(64),
	}
}

// streamResult is what a streamed completion delivered.
type streamResult struct {
	acc        openai.ChatCompletionAccumulator
	contentEvs int  // chunks carrying content
	usageChunk bool // a chunk with no choices and usage arrived
	finish     string
	err        error
}

func runStream(t *testing.T, c openai.Client, params openai.ChatCompletionNewParams, opts ...option.RequestOption) streamResult {
	t.Helper()
	st := c.Chat.Completions.NewStreaming(context.Background(), params, opts...)
	defer st.Close()
	var r streamResult
	for st.Next() {
		ch := st.Current()
		r.acc.AddChunk(ch)
		if len(ch.Choices) == 0 && ch.Usage.TotalTokens > 0 {
			r.usageChunk = true
		}
		for _, choice := range ch.Choices {
			if choice.Delta.Content != "" {
				r.contentEvs++
			}
			if choice.FinishReason != "" {
				r.finish = choice.FinishReason
			}
		}
	}
	r.err = st.Err()
	return r
}

func TestOpenAISDKChat(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{})
	client := ts.openAIClient(ts.AdminKey)
	ctx := context.Background()

	for _, model := range chatModels {
		fake := ts.fakeFor(model)
		t.Run(model, func(t *testing.T) {
			t.Parallel()

			t.Run("plain", func(t *testing.T) {
				t.Parallel()
				tag := "plain-" + randomHex(t, 6)
				text := "Say hello to " + tag + " please"
				var httpResp *http.Response
				resp, err := client.Chat.Completions.New(ctx, userParams(model, text), option.WithResponseInto(&httpResp))
				if err != nil {
					t.Fatalf("Chat.Completions.New: %v", err)
				}
				checkServedHeaders(t, httpResp, model)
				if resp.Model != model || resp.Object != "chat.completion" || len(resp.Choices) != 1 {
					t.Errorf("model %q object %q, %d choices; want %q, chat.completion, 1", resp.Model, resp.Object, len(resp.Choices), model)
				}
				got := resp.Choices[0].Message.Content
				if fake != nil {
					if want := fake.ReplyText(text); got != want {
						t.Errorf("content = %q, want %q", got, want)
					}
					ts.checkUpstreamRequest(t, model, received(t, fake, tag))
				} else if strings.TrimSpace(got) == "" {
					t.Errorf("sim answered empty content")
				}
				checkFinish(t, model, resp.Choices[0].FinishReason)
				checkUsage(t, model, resp.Usage)
			})

			t.Run("stream", func(t *testing.T) {
				t.Parallel()
				tag := "stream-" + randomHex(t, 6)
				text := "Stream a hello to " + tag
				params := userParams(model, text)
				params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
				var httpResp *http.Response
				r := runStream(t, client, params, option.WithResponseInto(&httpResp))
				if r.err != nil {
					t.Fatalf("stream: %v", r.err)
				}
				checkServedHeaders(t, httpResp, model)
				if ct := httpResp.Header.Get("Content-Type"); ct != "text/event-stream" {
					t.Errorf("Content-Type = %q, want text/event-stream", ct)
				}
				got := r.acc.Choices[0].Message.Content
				if fake != nil {
					if want := fake.ReplyText(text); got != want {
						t.Errorf("streamed content = %q, want %q", got, want)
					}
					if r.contentEvs < 2 {
						t.Errorf("content arrived in %d chunks, want the fake's several", r.contentEvs)
					}
					ts.checkUpstreamRequest(t, model, received(t, fake, tag))
				} else {
					// The sim answers a request the same way streamed or not.
					params.StreamOptions = openai.ChatCompletionStreamOptionsParam{}
					plain, err := client.Chat.Completions.New(ctx, params)
					if err != nil {
						t.Fatal(err)
					}
					if want := plain.Choices[0].Message.Content; got != want || got == "" {
						t.Errorf("sim streamed %q, answered %q unstreamed", got, want)
					}
				}
				if !r.usageChunk {
					t.Error("no usage chunk (empty choices, usage set) although include_usage was asked for")
				}
				checkFinish(t, model, r.finish)
				checkUsage(t, model, r.acc.Usage)
				if r.acc.Model != model {
					t.Errorf("chunk model = %q, want %q", r.acc.Model, model)
				}
			})

			t.Run("tools", func(t *testing.T) {
				t.Parallel()
				tag := "tools-" + randomHex(t, 6)
				params := userParams(model, "Weather and time in Paris? "+tag)
				params.Tools = openAITools()
				resp, err := client.Chat.Completions.New(ctx, params)
				if err != nil {
					t.Fatalf("Chat.Completions.New: %v", err)
				}
				msg := resp.Choices[0].Message
				if resp.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) == 0 {
					t.Fatalf("finish_reason %q with %d tool calls, want tool_calls", resp.Choices[0].FinishReason, len(msg.ToolCalls))
				}
				for _, tc := range msg.ToolCalls {
					if tc.ID == "" || tc.Type != "function" {
						t.Errorf("tool call id %q type %q", tc.ID, tc.Type)
					}
					checkToolCall(t, tc.Function.Name, tc.Function.Arguments)
				}
				if fake != nil {
					if len(msg.ToolCalls) != 2 || msg.ToolCalls[0].Function.Name != "get_weather" || msg.ToolCalls[1].Function.Name != "get_time" {
						t.Errorf("tool calls %+v, want parallel get_weather and get_time", msg.ToolCalls)
					}
					ts.checkUpstreamRequest(t, model, received(t, fake, tag))
				}

				// Round trip: the tool results get a text answer.
				params.Messages = append(params.Messages, msg.ToParam())
				for i, tc := range msg.ToolCalls {
					params.Messages = append(params.Messages, openai.ToolMessage(fmt.Sprintf(`{"result":"r%d"}`, i), tc.ID))
				}
				resp, err = client.Chat.Completions.New(ctx, params)
				if err != nil {
					t.Fatalf("tool result round trip: %v", err)
				}
				final := resp.Choices[0]
				if fake != nil && (final.FinishReason != "stop" || !strings.HasPrefix(final.Message.Content, "Hello from "+fake.Provider())) {
					t.Errorf("after tool results: finish %q content %q, want a text answer", final.FinishReason, final.Message.Content)
				}
				if fake == nil && final.Message.Content == "" && len(final.Message.ToolCalls) == 0 {
					t.Errorf("sim answered the tool results with nothing")
				}
			})

			t.Run("tools_stream", func(t *testing.T) {
				t.Parallel()
				tag := "toolstream-" + randomHex(t, 6)
				params := userParams(model, "Weather and time in Oslo? "+tag)
				params.Tools = openAITools()
				params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
				r := runStream(t, client, params)
				if r.err != nil {
					t.Fatalf("stream: %v", r.err)
				}
				calls := r.acc.Choices[0].Message.ToolCalls
				if r.finish != "tool_calls" || len(calls) == 0 {
					t.Fatalf("finish_reason %q with %d tool calls, want tool_calls", r.finish, len(calls))
				}
				for _, tc := range calls {
					checkToolCall(t, tc.Function.Name, tc.Function.Arguments)
				}
				if fake != nil {
					if len(calls) != 2 {
						t.Errorf("%d tool calls, want 2 parallel ones", len(calls))
					}
					ts.checkUpstreamRequest(t, model, received(t, fake, tag))
				}
				checkUsage(t, model, r.acc.Usage)
			})

			t.Run("json_schema", func(t *testing.T) {
				t.Parallel()
				tag := "json-" + randomHex(t, 6)
				params := userParams(model, "Extract: Paris is 18C. "+tag)
				params.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
					JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{
						Name:   "weather",
						Strict: openai.Bool(true),
						Schema: map[string]any{
							"type": "object",
							"properties": map[string]any{
								"city":   map[string]any{"type": "string"},
								"temp_c": map[string]any{"type": "number"},
							},
							"required":             []string{"city", "temp_c"},
							"additionalProperties": false,
						},
					},
				}}
				resp, err := client.Chat.Completions.New(ctx, params)
				if err != nil {
					t.Fatalf("Chat.Completions.New: %v", err)
				}
				var v struct {
					City  *string  `json:"city"`
					TempC *float64 `json:"temp_c"`
				}
				content := resp.Choices[0].Message.Content
				if err := json.Unmarshal([]byte(content), &v); err != nil || v.City == nil || v.TempC == nil {
					t.Errorf("content %q is not the schema's JSON object (err %v)", content, err)
				}
				checkFinish(t, model, resp.Choices[0].FinishReason)
				if fake != nil {
					ts.checkUpstreamRequest(t, model, received(t, fake, tag))
				}
			})

			t.Run("image", func(t *testing.T) {
				t.Parallel()
				tag := "image-" + randomHex(t, 6)
				text := "What is in this picture? " + tag
				params := userParams(model, "")
				params.Messages[1] = openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
					openai.TextContentPart(text),
					openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "data:image/png;base64," + tinyPNG}),
				})
				resp, err := client.Chat.Completions.New(ctx, params)
				if err != nil {
					t.Fatalf("Chat.Completions.New with an image: %v", err)
				}
				if fake != nil {
					if got, want := resp.Choices[0].Message.Content, fake.ReplyText(text); got != want {
						t.Errorf("content = %q, want %q", got, want)
					}
					r := received(t, fake, tag)
					if !strings.Contains(string(r.RawBody), tinyPNG) {
						t.Errorf("the %s fake did not receive the image data: %s", fake.Provider(), r.RawBody)
					}
					ts.checkUpstreamRequest(t, model, r)
				} else if resp.Choices[0].Message.Content == "" {
					t.Error("sim answered empty content")
				}
			})
		})
	}
}

func TestOpenAISDKEmbeddings(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{})
	client := ts.openAIClient(ts.AdminKey)
	ctx := context.Background()
	for _, model := range []string{embedOpenAI, embedGemini, embedSim} {
		fake := ts.fakeFor(model)
		t.Run(model, func(t *testing.T) {
			t.Parallel()
			tag := "emb-" + randomHex(t, 6)
			inputs := []string{"first input " + tag, "second input " + tag}
			vectors := map[openai.EmbeddingNewParamsEncodingFormat][][]float64{}
			for _, format := range []openai.EmbeddingNewParamsEncodingFormat{openai.EmbeddingNewParamsEncodingFormatFloat, openai.EmbeddingNewParamsEncodingFormatBase64} {
				var httpResp *http.Response
				resp, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{
					Model: model, Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: inputs}, EncodingFormat: format,
				}, option.WithResponseInto(&httpResp))
				if err != nil {
					t.Fatalf("Embeddings.New (%s): %v", format, err)
				}
				checkServedHeaders(t, httpResp, model)
				if len(resp.Data) != len(inputs) || resp.Model != model || resp.Usage.PromptTokens <= 0 {
					t.Fatalf("%s: %d vectors, model %q, %d prompt tokens; want %d, %q, > 0", format, len(resp.Data), resp.Model, resp.Usage.PromptTokens, len(inputs), model)
				}
				for i, d := range resp.Data {
					if d.Index != int64(i) || len(d.Embedding) == 0 {
						t.Errorf("%s: vector %d has index %d and %d dimensions", format, i, d.Index, len(d.Embedding))
					}
					vectors[format] = append(vectors[format], d.Embedding)
					if fake == nil {
						continue
					}
					want := fakeupstream.Vector(inputs[i], fakeupstream.EmbeddingDims)
					got := make([]float32, len(d.Embedding))
					for j, f := range d.Embedding {
						got[j] = float32(f)
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("%s: vector %d differs from the fake's (-want +got):\n%s", format, i, diff)
					}
				}
			}
			// The float encoding went through JSON as float32's shortest
			// decimal; compare at float32 precision.
			if diff := cmp.Diff(vectors["float"], vectors["base64"], cmp.Comparer(func(a, b float64) bool { return float32(a) == float32(b) })); diff != "" {
				t.Errorf("float and base64 encodings differ (-float +base64):\n%s", diff)
			}
			if fake != nil {
				for _, r := range fake.Requests() {
					if strings.Contains(string(r.RawBody), tag) {
						ts.checkUpstreamRequest(t, model, r)
					}
				}
			}
		})
	}
}

func TestOpenAISDKModels(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{})
	client := ts.openAIClient(ts.AdminKey)
	ctx := context.Background()

	page, err := client.Models.List(ctx)
	if err != nil {
		t.Fatalf("Models.List: %v", err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
		if m.Object != "model" || m.OwnedBy == "" {
			t.Errorf("model %q: object %q owned_by %q", m.ID, m.Object, m.OwnedBy)
		}
	}
	for name := range providerOf {
		if !slices.Contains(ids, name) {
			t.Errorf("Models.List lacks %q; got %v", name, ids)
		}
	}

	for _, name := range []string{modelOpenAI, modelSim, embedGemini} {
		m, err := client.Models.Get(ctx, name)
		if err != nil {
			t.Errorf("Models.Get(%q): %v", name, err)
			continue
		}
		if m.ID != name {
			t.Errorf("Models.Get(%q).ID = %q", name, m.ID)
		}
	}
	_, err = client.Models.Get(ctx, "fake-openai/no-such-model")
	if apiErr := asAPIError(t, err); apiErr != nil && apiErr.StatusCode != http.StatusNotFound {
		t.Errorf("Models.Get of an unknown model: status %d, want 404", apiErr.StatusCode)
	}
}

// asAPIError returns err as the OpenAI SDK's *openai.Error, failing the test
// if it is not one.
func asAPIError(t *testing.T, err error) *openai.Error {
	t.Helper()
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Errorf("error %v (%T), want an *openai.Error", err, err)
		return nil
	}
	return apiErr
}

func TestOpenAISDKErrors(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{})
	client := ts.openAIClient(ts.AdminKey)
	ctx := context.Background()

	t.Run("unknown model", func(t *testing.T) {
		_, err := client.Chat.Completions.New(ctx, userParams("fake-openai/gpt-9", "hi"))
		if e := asAPIError(t, err); e != nil {
			if e.StatusCode != 404 || e.Code != "model_not_found" || e.Type != "invalid_request_error" || e.Param != "model" || e.Message == "" {
				t.Errorf("got status %d code %q type %q param %q message %q; want 404 model_not_found invalid_request_error model", e.StatusCode, e.Code, e.Type, e.Param, e.Message)
			}
		}
	})

	t.Run("bad key", func(t *testing.T) {
		bad := ts.openAIClient("om-wrong-key-0123456789abcdef0123456789")
		_, err := bad.Chat.Completions.New(ctx, userParams(modelOpenAI, "hi"))
		if e := asAPIError(t, err); e != nil && (e.StatusCode != 401 || e.Code != "invalid_api_key") {
			t.Errorf("got status %d code %q, want 401 invalid_api_key", e.StatusCode, e.Code)
		}
		if n := len(ts.OpenAI.Requests()); n != 0 {
			t.Errorf("an unauthenticated request reached the upstream (%d requests)", n)
		}
	})

	t.Run("malformed body", func(t *testing.T) {
		for _, body := range []string{`{"model": "sim/gpt-4o-mini", "messages": [`, `[]`, `{"model": 7}`} {
			status, _, b := ts.rawRequest(t, "POST", "/v1/chat/completions", "application/json", []byte(body))
			var e struct {
				Error struct {
					Message string `json:"message"`
					Type    string `json:"type"`
				} `json:"error"`
			}
			if status != 400 || json.Unmarshal(b, &e) != nil || e.Error.Type != "invalid_request_error" || e.Error.Message == "" {
				t.Errorf("body %s: status %d, response %s; want 400 with an OpenAI error body", body, status, b)
			}
		}
	})

	upstreams := []struct {
		model string
		fake  *fakeupstream.Server
	}{{modelOpenAI, ts.OpenAI}, {modelAnthropic, ts.Anthropic}, {modelGemini, ts.Gemini}}

	// 500s run before the 429 case: a Retry-After cools the deployment down
	// for every request until it expires.
	t.Run("upstream 500 once is retried", func(t *testing.T) {
		for _, u := range upstreams {
			u.fake.FailNext(500, "", nil)
			var httpResp *http.Response
			_, err := client.Chat.Completions.New(ctx, userParams(u.model, "hi"), option.WithResponseInto(&httpResp))
			if err != nil {
				t.Errorf("%s: %v, want the retry to succeed", u.model, err)
				continue
			}
			if got, want := httpResp.Header.Get("X-Octomesh-Route"), u.model+":upstream_error>"+u.model+":ok"; got != want {
				t.Errorf("%s: x-octomesh-route = %q, want %q", u.model, got, want)
			}
		}
	})

	t.Run("upstream 500 persistent", func(t *testing.T) {
		for _, u := range upstreams {
			for range 3 { // the attempt cap
				u.fake.FailNext(500, "", nil)
			}
			_, err := client.Chat.Completions.New(ctx, userParams(u.model, "hi"))
			if e := asAPIError(t, err); e != nil && e.StatusCode != 502 {
				t.Errorf("%s: status %d, want 502", u.model, e.StatusCode)
			}
		}
	})

	t.Run("upstream 429", func(t *testing.T) {
		for _, u := range upstreams {
			u.fake.FailNext(429, "", map[string]string{"Retry-After": "7"})
			var httpResp *http.Response
			_, err := client.Chat.Completions.New(ctx, userParams(u.model, "hi"), option.WithResponseInto(&httpResp))
			e := asAPIError(t, err)
			if e == nil {
				continue
			}
			if e.StatusCode != 429 || e.Code != "rate_limit_exceeded" {
				t.Errorf("%s: status %d code %q, want 429 rate_limit_exceeded", u.model, e.StatusCode, e.Code)
			}
			if got := e.Response.Header.Get("Retry-After"); got != "7" {
				t.Errorf("%s: Retry-After = %q, want the upstream's 7", u.model, got)
			}
		}
	})

	t.Run("stream cut", func(t *testing.T) {
		for _, u := range upstreams {
			u.fake.CutStreamAfter(3)
			text := "Tell me a story"
			params := userParams(u.model, text)
			params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			r := runStream(t, client, params)
			if r.err == nil {
				t.Errorf("%s: a stream the upstream cut ended cleanly with %q", u.model, r.acc.Choices[0].Message.Content)
				continue
			}
			if len(r.acc.Choices) > 0 && !strings.HasPrefix(u.fake.ReplyText(text), r.acc.Choices[0].Message.Content) {
				t.Errorf("%s: partial content %q is not a prefix of the answer", u.model, r.acc.Choices[0].Message.Content)
			}
			if r.finish != "" {
				t.Errorf("%s: a cut stream reported finish_reason %q", u.model, r.finish)
			}
		}
	})
}

// TestOpenAISDKStreamOptions sends stream_options as the SDK documents them,
// include_obfuscation included.
func TestOpenAISDKStreamOptions(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{})
	client := ts.openAIClient(ts.AdminKey)
	params := userParams(modelOpenAI, "hello")
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true), IncludeObfuscation: openai.Bool(false)}
	r := runStream(t, client, params)
	if e := (*openai.Error)(nil); errors.As(r.err, &e) {
		t.Fatalf("stream with stream_options.include_obfuscation: %v: %s", r.err, e.RawJSON())
	} else if r.err != nil {
		t.Fatalf("stream with stream_options.include_obfuscation: %v", r.err)
	}
}

// TestCostHeader checks the metered cost: the fakes' fixed usage at the
// configured list prices, each prompt token billed once — cached ones at the
// cached rate, the rest (Anthropic's cache writes included: OctoMesh has no
// cache-write price) at the input rate.
func TestCostHeader(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{})
	client := ts.openAIClient(ts.AdminKey)
	usd := func(s string) int64 {
		m, err := octomesh.ParseMoney(s)
		if err != nil {
			t.Fatal(err)
		}
		return int64(m)
	}
	for _, c := range []struct {
		model                 string
		input, cached, output string // USD per million tokens, as configured
	}{
		{modelOpenAI, "0.15", "0.075", "0.60"},
		{modelAnthropic, "1.00", "0.10", "5.00"},
		{modelGemini, "0.30", "0.03", "2.50"},
	} {
		var httpResp *http.Response
		if _, err := client.Chat.Completions.New(context.Background(), userParams(c.model, "hi"), option.WithResponseInto(&httpResp)); err != nil {
			t.Fatal(err)
		}
		perMillion := (fakeupstream.PromptTokens-fakeupstream.CachedTokens)*usd(c.input) +
			fakeupstream.CachedTokens*usd(c.cached) + fakeupstream.CompletionTokens*usd(c.output)
		want := octomesh.Money((perMillion + 500_000) / 1_000_000)
		got := httpResp.Header.Get("X-Octomesh-Cost-Usd")
		if m, err := octomesh.ParseMoney(got); err != nil || m != want {
			t.Errorf("%s: X-Octomesh-Cost-Usd = %q, want %s", c.model, got, want)
		}
	}
}

// TestSimSpeedMeansFaster checks sim.speed as documented in
// octomesh.example.yaml: "2 answers twice as fast". At speed 1000 a short
// sim answer must take well under a second.
func TestSimSpeedMeansFaster(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{simSpeed: "1000"})
	client := ts.openAIClient(ts.AdminKey)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := client.Chat.Completions.New(ctx, userParams(modelSim, "hello")); err != nil {
		t.Fatalf("sim answer at speed 1000 (after %v): %v", time.Since(start).Round(time.Millisecond), err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("sim answer at speed 1000 took %v", d)
	}
}
