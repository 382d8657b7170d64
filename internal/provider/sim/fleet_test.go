package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
)

// canary is planted in prompts; no error message may ever contain it.
const canary = "CANARYzqx"

var fixedNow = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// newFleet returns a fleet with a fixed clock and the given options.
func newFleet(t testing.TB, o Options) *Fleet {
	t.Helper()
	if o.Now == nil {
		o.Now = func() time.Time { return fixedNow }
	}
	f, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return f
}

// userReq returns a one-message chat request.
func userReq(model, prompt string) *octomesh.ChatRequest {
	return &octomesh.ChatRequest{Model: model, Messages: []octomesh.Message{{Role: octomesh.RoleUser, Content: octomesh.TextContent(prompt)}}}
}

func intp(n int) *int { return &n }

// mustChat calls Chat and fails the test on error.
func mustChat(t testing.TB, f *Fleet, req *octomesh.ChatRequest) *octomesh.ChatResponse {
	t.Helper()
	resp, err := f.Chat(context.Background(), req)
	if err != nil {
		t.Fatalf("Chat(%s): %v", req.Model, err)
	}
	return resp
}

// wantCode checks err's code and that its message leaks no prompt text.
func wantCode(t testing.TB, err error, want octomesh.ErrorCode) *octomesh.Error {
	t.Helper()
	if got := octomesh.ErrorCodeOf(err); got != want {
		t.Fatalf("error code = %q (err %v), want %q", got, err, want)
	}
	if msg := octomesh.ErrorMessage(err); strings.Contains(msg, canary) {
		t.Errorf("client-facing message %q contains prompt text", msg)
	}
	var e *octomesh.Error
	errors.As(err, &e)
	return e
}

func TestDeploymentsListEveryModel(t *testing.T) {
	f := newFleet(t, Options{ID: "lab"})
	deps := f.Deployments()
	models := DefaultModels()
	if len(deps) != len(models) || len(models) < 12 {
		t.Fatalf("got %d deployments for %d models, want one each (and a dozen or more)", len(deps), len(models))
	}
	seen := map[string]bool{}
	for i, d := range deps {
		m := models[i]
		if d.Name != "lab/"+m.Name || d.Provider != "lab" || d.UpstreamModel != m.Name {
			t.Errorf("deployment %d = %s (provider %s, upstream %s), want lab/%s", i, d.Name, d.Provider, d.UpstreamModel, m.Name)
		}
		if seen[d.Name] {
			t.Errorf("duplicate deployment %s", d.Name)
		}
		seen[d.Name] = true
		wantCaps := m.Caps
		wantCaps.Continuation = !m.Caps.Embeddings // every sim chat model continues a prefilled answer
		if d.Price != m.Price || d.ContextWindow != m.ContextWindow || d.Capabilities != wantCaps || d.OwnedBy == "" || d.Created == 0 {
			t.Errorf("deployment %s does not carry its model's catalogue data: %+v", d.Name, d)
		}
	}
	if got := newFleet(t, Options{}).Deployments()[0].Name; !strings.HasPrefix(got, "sim/") {
		t.Errorf("default deployment name %q, want prefix sim/", got)
	}
}

func TestDefaultCatalogue(t *testing.T) {
	byName := map[string]octomesh.Deployment{}
	for _, d := range newFleet(t, Options{}).Deployments() {
		byName[d.UpstreamModel] = d
	}
	money := func(s string) octomesh.Money {
		m, err := octomesh.ParseMoney(s)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	tests := []struct {
		model       string
		in, out     string
		window      int
		tools, json bool
		vision, emb bool
	}{
		{"gpt-4o", "2.50", "10.00", 128_000, true, true, true, false},
		{"gpt-4o-mini", "0.15", "0.60", 128_000, true, true, true, false},
		{"gpt-4-1106-preview", "10", "30", 128_000, true, false, false, false},
		{"gpt-3.5-turbo-1106", "1", "2", 16_385, true, false, false, false},
		{"claude-3-5-sonnet", "3", "15", 200_000, true, false, true, false},
		{"claude-3-haiku", "0.25", "1.25", 200_000, true, false, true, false},
		{"gemini-1.5-pro-002", "1.25", "5", 2_097_152, true, true, true, false},
		{"gemini-1.5-flash-002", "0.075", "0.30", 1_048_576, true, true, true, false},
		{"llama-3.1-70b-instruct", "0.88", "0.88", 131_072, true, false, false, false},
		{"llama-3.1-8b-instruct", "0.18", "0.18", 131_072, true, false, false, false},
		{"mixtral-8x7b-instruct", "0.60", "0.60", 32_768, false, false, false, false},
		{"mistral-7b-instruct", "0.25", "0.25", 32_768, false, false, false, false},
		{"text-embedding-3-small", "0.02", "0", 8_191, false, false, false, true},
	}
	for _, tt := range tests {
		d, ok := byName[tt.model]
		if !ok {
			t.Errorf("model %s missing", tt.model)
			continue
		}
		if d.Price.InputPerMTok != money(tt.in) || d.Price.OutputPerMTok != money(tt.out) {
			t.Errorf("%s price = %s/%s, want %s/%s", tt.model, d.Price.InputPerMTok, d.Price.OutputPerMTok, tt.in, tt.out)
		}
		c := d.Capabilities
		if d.ContextWindow != tt.window || c.Tools != tt.tools || c.JSONSchema != tt.json || c.Vision != tt.vision || c.Embeddings != tt.emb || c.Streaming == tt.emb {
			t.Errorf("%s: window %d caps %+v, want window %d tools %v json_schema %v vision %v embeddings %v", tt.model, d.ContextWindow, c, tt.window, tt.tools, tt.json, tt.vision, tt.emb)
		}
	}
}

func TestNewRejectsBadModels(t *testing.T) {
	good := DefaultModels()[1]
	tests := []struct {
		name  string
		edit  func(m *Model)
		field string
	}{
		{"empty name", func(m *Model) { m.Name = "" }, "name"},
		{"slash in name", func(m *Model) { m.Name = "a/b" }, "name"},
		{"no context", func(m *Model) { m.ContextWindow = 0 }, "context_window"},
		{"output over window", func(m *Model) { m.MaxOutputTokens = m.ContextWindow + 1 }, "max_output_tokens"},
		{"no speed", func(m *Model) { m.TokensPerSec = 0 }, "tokens_per_sec"},
		{"rate over 1", func(m *Model) { m.Rates.Timeout = 1.5 }, "rates.timeout"},
		{"quality over 1", func(m *Model) { m.Quality = map[string]float64{TaskCode: 2} }, "quality.code"},
		{"negative price", func(m *Model) { m.Price.InputPerMTok = -1 }, "price"},
		{"embedding without dims", func(m *Model) { m.Caps = octomesh.Capabilities{Embeddings: true}; m.Dimensions = 0 }, "dimensions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := good.clone()
			tt.edit(&m)
			_, err := New(Options{Models: []Model{DefaultModels()[0], m}})
			if err == nil || !strings.Contains(err.Error(), "models[1]."+tt.field) {
				t.Fatalf("New error = %v, want one naming models[1].%s", err, tt.field)
			}
		})
	}
	if _, err := New(Options{Models: []Model{good, good}}); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate models: error = %v, want duplicate", err)
	}
}

func TestNewCopiesModels(t *testing.T) {
	models := DefaultModels()
	f := newFleet(t, Options{Models: models})
	models[0].Quality[TaskChat] = 0.01
	models[0].ContextWindow = 1
	if got := f.Quality("gpt-4o", "hello"); got == 0.01 {
		t.Errorf("fleet shares the caller's Quality map")
	}
	if got := f.Deployments()[0].ContextWindow; got == 1 {
		t.Errorf("fleet shares the caller's models")
	}
}

func TestChatIsDeterministic(t *testing.T) {
	req := userReq("gpt-4o", "Explain why the sky is blue, step by step.")
	a := mustChat(t, newFleet(t, Options{Seed: 7}), req)
	b := mustChat(t, newFleet(t, Options{Seed: 7}), req)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("same seed and request gave different responses (-first +second):\n%s", diff)
	}
	other := mustChat(t, newFleet(t, Options{Seed: 8}), req)
	if other.Choices[0].Message.Content.Text() == a.Choices[0].Message.Content.Text() && other.ID == a.ID {
		t.Errorf("a different fleet seed gave the same answer")
	}
	seeded := *req
	seeded.Seed = new(int64)
	*seeded.Seed = 42
	if c := mustChat(t, newFleet(t, Options{Seed: 7}), &seeded); c.ID == a.ID {
		t.Errorf("a different request seed gave the same completion id")
	}
	if a.Usage == nil || a.Usage.PromptTokens != EstimatePromptTokens(req) || a.Usage.CompletionTokens <= 0 ||
		a.Usage.TotalTokens != a.Usage.PromptTokens+a.Usage.CompletionTokens || a.Usage.CachedTokens() != 0 {
		t.Errorf("usage = %+v, want prompt %d, positive completion, consistent total, no cached tokens", a.Usage, EstimatePromptTokens(req))
	}
	if !strings.HasPrefix(a.ID, "chatcmpl-sim-") || a.Created != fixedNow.Unix() || a.Object != "chat.completion" || a.Model != "gpt-4o" {
		t.Errorf("response header = id %q created %d object %q model %q", a.ID, a.Created, a.Object, a.Model)
	}
}

// outcome is a comparable summary of a call: the response or the error code.
func outcome(resp *octomesh.ChatResponse, err error) string {
	if err != nil {
		return "error " + string(octomesh.ErrorCodeOf(err))
	}
	b, _ := json.Marshal(resp)
	return string(b)
}

func TestDeterministicUnderConcurrency(t *testing.T) {
	// Faults on, at a high rate, so fault decisions are covered too.
	models := DefaultModels()[:4]
	for i := range models {
		models[i].Rates = FaultRates{Error5xx: 0.15, RateLimit: 0.15, StreamCut: 0.1}
	}
	f := newFleet(t, Options{Seed: 3, FailureScale: 1, Models: models})
	var reqs []*octomesh.ChatRequest
	for i := range 40 {
		reqs = append(reqs, userReq(models[i%4].Name, fmt.Sprintf("Question %d: how do I plan a trip to %s?", i, []string{"Lisbon", "Oslo", "Quito"}[i%3])))
	}
	want := make([]string, len(reqs))
	faults := 0
	for i, r := range reqs {
		want[i] = outcome(f.Chat(context.Background(), r))
		if strings.HasPrefix(want[i], "error") {
			faults++
		}
	}
	if faults == 0 || faults == len(reqs) {
		t.Fatalf("%d of %d requests failed; the test needs a mix", faults, len(reqs))
	}
	var wg sync.WaitGroup
	got := make([][]string, 8)
	for g := range got {
		got[g] = make([]string, len(reqs))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range reqs {
				i := (j + g*5) % len(reqs) // each goroutine in its own order
				got[g][i] = outcome(f.Chat(context.Background(), reqs[i]))
			}
		}()
	}
	wg.Wait()
	for g := range got {
		if diff := cmp.Diff(want, got[g]); diff != "" {
			t.Fatalf("goroutine %d saw different outcomes (-sequential +concurrent):\n%s", g, diff)
		}
	}
}

func TestChatDoesNotModifyRequest(t *testing.T) {
	req := toolReq("gpt-4o", "What's the weather in Paris?", weatherTool)
	req.N = intp(2)
	req.Stop = octomesh.Stop{"zzz"}
	before, _ := json.Marshal(req)
	mustChat(t, newFleet(t, Options{}), req)
	s, err := newFleet(t, Options{}).ChatStream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for s.Next() {
	}
	s.Close()
	if after, _ := json.Marshal(req); string(after) != string(before) {
		t.Errorf("request modified:\n%s", cmp.Diff(string(before), string(after)))
	}
}

func TestMaxTokens(t *testing.T) {
	f := newFleet(t, Options{})
	req := userReq("gpt-4o-mini", "Tell me about the history of bicycles in Amsterdam.")
	full := mustChat(t, f, req)
	fullText := full.Choices[0].Message.Content.Text()
	if full.Usage.CompletionTokens <= 10 {
		t.Fatalf("uncapped answer has %d tokens; the test needs more than 10", full.Usage.CompletionTokens)
	}
	for _, tt := range []struct {
		name string
		set  func(r *octomesh.ChatRequest)
	}{
		{"max_tokens", func(r *octomesh.ChatRequest) { r.MaxTokens = intp(7) }},
		{"max_completion_tokens wins", func(r *octomesh.ChatRequest) { r.MaxTokens = intp(500); r.MaxCompletionTokens = intp(7) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			capped := *req
			tt.set(&capped)
			resp := mustChat(t, f, &capped)
			text := resp.Choices[0].Message.Content.Text()
			if resp.Usage.CompletionTokens != 7 || resp.Choices[0].FinishReason != octomesh.FinishLength {
				t.Errorf("completion tokens %d finish %q, want 7 and length", resp.Usage.CompletionTokens, resp.Choices[0].FinishReason)
			}
			if !strings.HasPrefix(fullText, text) || len(splitTokens(text)) != 7 {
				t.Errorf("capped text %q is not the first 7 tokens of %q", text, fullText)
			}
		})
	}
	// A cap the answer fits in changes nothing.
	roomy := *req
	roomy.MaxTokens = intp(full.Usage.CompletionTokens)
	if resp := mustChat(t, f, &roomy); resp.Choices[0].FinishReason != octomesh.FinishStop || resp.Choices[0].Message.Content.Text() != fullText {
		t.Errorf("a cap equal to the answer's length changed it (finish %q)", resp.Choices[0].FinishReason)
	}
}

func TestStopSequences(t *testing.T) {
	f := newFleet(t, Options{})
	req := userReq("gpt-4o", "Give me advice on learning the violin as an adult.")
	full := mustChat(t, f, req).Choices[0].Message.Content.Text()
	words := strings.Fields(full)
	word := words[len(words)/2]
	stop := " " + word
	at := strings.Index(full, stop)
	req.Stop = octomesh.Stop{"never-appears-xyz", stop}
	resp := mustChat(t, f, req)
	got := resp.Choices[0].Message.Content.Text()
	if got != full[:at] {
		t.Errorf("with stop %q got %q, want %q", stop, got, full[:at])
	}
	if resp.Choices[0].FinishReason != octomesh.FinishStop {
		t.Errorf("finish = %q, want stop", resp.Choices[0].FinishReason)
	}
	if n := resp.Usage.CompletionTokens; n != len(splitTokens(full[:at+len(stop)])) {
		t.Errorf("completion tokens = %d, want the %d tokens up to and including the stop sequence", n, len(splitTokens(full[:at+len(stop)])))
	}
	// The stream stops at the same place.
	if text, _, _ := streamText(t, f, req); text != got {
		t.Errorf("stream text %q, want %q", text, got)
	}
}

func TestNChoices(t *testing.T) {
	f := newFleet(t, Options{})
	req := userReq("claude-3-haiku", "Suggest a name for a bakery.")
	one := mustChat(t, f, req)
	req.N = intp(3)
	three := mustChat(t, f, req)
	if len(three.Choices) != 3 {
		t.Fatalf("got %d choices, want 3", len(three.Choices))
	}
	sum := 0
	for i, c := range three.Choices {
		if c.Index != i || c.Message.Role != octomesh.RoleAssistant || c.FinishReason != octomesh.FinishStop {
			t.Errorf("choice %d = index %d role %q finish %q", i, c.Index, c.Message.Role, c.FinishReason)
		}
		sum += len(splitTokens(c.Message.Content.Text()))
	}
	if diff := cmp.Diff(one.Choices[0], three.Choices[0]); diff != "" {
		t.Errorf("choice 0 of n=3 differs from the n=1 answer:\n%s", diff)
	}
	if three.Choices[1].Message.Content.Text() == three.Choices[2].Message.Content.Text() {
		t.Errorf("choices 1 and 2 are identical")
	}
	if three.Usage.CompletionTokens != sum || three.Usage.PromptTokens != one.Usage.PromptTokens {
		t.Errorf("usage %+v, want completion %d (sum of choices), prompt %d", three.Usage, sum, one.Usage.PromptTokens)
	}
}

func TestRequestErrors(t *testing.T) {
	f := newFleet(t, Options{})
	long := strings.Repeat(canary+" lorem ipsum ", 5_000) // 110k chars: 27.5k tokens
	image := octomesh.Content{Array: true, Parts: []octomesh.Part{{Type: octomesh.PartText, Text: canary}, {Type: octomesh.PartImageURL, ImageURL: &octomesh.ImageURL{URL: "https://example.com/cat.png"}}}}
	tests := []struct {
		name  string
		req   func() *octomesh.ChatRequest
		code  octomesh.ErrorCode
		param string
	}{
		{"unknown model", func() *octomesh.ChatRequest { return userReq("gpt-9", canary) }, octomesh.EUPSTREAM, "model"},
		{"embedding model", func() *octomesh.ChatRequest { return userReq("text-embedding-3-small", canary) }, octomesh.EINVALID, "model"},
		{"no messages", func() *octomesh.ChatRequest { return &octomesh.ChatRequest{Model: "gpt-4o"} }, octomesh.EINVALID, "messages"},
		{"tools without capability", func() *octomesh.ChatRequest { return toolReq("mistral-7b-instruct", canary, weatherTool) }, octomesh.EINVALID, "tools"},
		{"image without vision", func() *octomesh.ChatRequest {
			r := userReq("gpt-3.5-turbo-1106", "")
			r.Messages[0].Content = image
			return r
		}, octomesh.EINVALID, "messages"},
		{"json_schema without support", func() *octomesh.ChatRequest {
			r := userReq("claude-3-5-sonnet", canary)
			r.ResponseFormat = &octomesh.ResponseFormat{Type: octomesh.FormatJSONSchema, JSONSchema: &octomesh.JSONSchema{Name: "x", Schema: json.RawMessage(`{"type":"object"}`)}}
			return r
		}, octomesh.EINVALID, "response_format"},
		{"unusable schema", func() *octomesh.ChatRequest {
			r := userReq("gpt-4o", canary)
			r.ResponseFormat = &octomesh.ResponseFormat{Type: octomesh.FormatJSONSchema, JSONSchema: &octomesh.JSONSchema{Name: "x", Schema: json.RawMessage(`{"type":"object","properties":{"a":{"$ref":"#/nowhere"}},"required":["a"]}`)}}
			return r
		}, octomesh.EINVALID, "response_format.json_schema.schema"},
		{"tool_choice names unknown function", func() *octomesh.ChatRequest {
			r := toolReq("gpt-4o", canary, weatherTool)
			r.ToolChoice = &octomesh.ToolChoice{Mode: octomesh.ToolChoiceFunction, Function: "nope"}
			return r
		}, octomesh.EINVALID, "tool_choice"},
		{"max_tokens over model limit", func() *octomesh.ChatRequest {
			r := userReq("gpt-4-1106-preview", canary)
			r.MaxTokens = intp(5000)
			return r
		}, octomesh.EINVALID, "max_tokens"},
		{"max_tokens zero", func() *octomesh.ChatRequest {
			r := userReq("gpt-4o", canary)
			r.MaxCompletionTokens = intp(0)
			return r
		}, octomesh.EINVALID, "max_completion_tokens"},
		{"logprobs", func() *octomesh.ChatRequest {
			r := userReq("gpt-4o", canary)
			r.Logprobs = json.RawMessage("true")
			return r
		}, octomesh.EINVALID, "logprobs"},
		{"too many stops", func() *octomesh.ChatRequest {
			r := userReq("gpt-4o", canary)
			r.Stop = octomesh.Stop{"a", "b", "c", "d", "e"}
			return r
		}, octomesh.EINVALID, "stop"},
		{"prompt over window", func() *octomesh.ChatRequest { return userReq("gpt-3.5-turbo-1106", long) }, octomesh.ECONTEXTLENGTH, "messages"},
		{"prompt + max_tokens over window", func() *octomesh.ChatRequest {
			r := userReq("gpt-3.5-turbo-1106", long[:52_000]) // 13k tokens + 4096 > 16385
			r.MaxTokens = intp(4096)
			return r
		}, octomesh.ECONTEXTLENGTH, "messages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req()
			_, err := f.Chat(context.Background(), req)
			e := wantCode(t, err, tt.code)
			if e.Param != tt.param {
				t.Errorf("param = %q, want %q", e.Param, tt.param)
			}
			_, err = f.ChatStream(context.Background(), req)
			wantCode(t, err, tt.code)
		})
	}
	// Passthrough fields that change nothing visible are accepted.
	ok := userReq("gpt-4o", "hi")
	ok.Logprobs, ok.Store, ok.ServiceTier = json.RawMessage("false"), json.RawMessage("true"), json.RawMessage(`"auto"`)
	mustChat(t, f, ok)
	// A zero tool_choice is auto.
	zero := toolReq("gpt-4o", "What's the weather in Oslo?", weatherTool)
	zero.ToolChoice = &octomesh.ToolChoice{}
	if calls := mustChat(t, f, zero).Choices[0].Message.ToolCalls; len(calls) != 1 {
		t.Errorf("zero tool_choice: %d calls, want auto's 1", len(calls))
	}
	// The same prompt fits when the cap leaves room.
	r := userReq("gpt-3.5-turbo-1106", long[:52_000])
	r.MaxTokens = intp(100)
	mustChat(t, f, r)
}

func TestQualityAndTaskOf(t *testing.T) {
	tests := []struct{ prompt, task string }{
		{"Write a Python function that reverses a linked list", TaskCode},
		{"Fix this bug: my golang program panics with a nil pointer", TaskCode},
		{"What is 17 times 23?", TaskMath},
		{"Calculate the probability of rolling two sixes", TaskMath},
		{"Extract all the dates from the following invoice as JSON", TaskExtraction},
		{"Why do cats purr? Explain the reasons.", TaskReasoning},
		{"Compare the pros and cons of renting versus buying", TaskReasoning},
		{"Hi! How are you today?", TaskChat},
		{"Tell me a story about a classic car", TaskChat}, // "classic" is not "class"
	}
	for _, tt := range tests {
		if got := TaskOf(tt.prompt); got != tt.task {
			t.Errorf("TaskOf(%q) = %q, want %q", tt.prompt, got, tt.task)
		}
	}
	f := newFleet(t, Options{})
	code := "Write a Python function that parses a CSV file"
	if big, small := f.Quality("gpt-4o", code), f.Quality("mistral-7b-instruct", code); !(big > small && small > 0) {
		t.Errorf("Quality(gpt-4o)=%v, Quality(mistral-7b)=%v; want the big model better and both positive", big, small)
	}
	if q := f.Quality("gpt-4o", code); q != DefaultModels()[0].Quality[TaskCode] {
		t.Errorf("Quality = %v, want gpt-4o's code quality", q)
	}
	if q := f.Quality("no-such-model", code); q != 0 {
		t.Errorf("Quality of an unknown model = %v, want 0", q)
	}
}

func TestQualityShapesAnswers(t *testing.T) {
	// A model with no chat quality always hedges; one with perfect quality never does.
	models := DefaultModels()[:2]
	models[0].Quality = map[string]float64{TaskChat: 0}
	models[1].Quality = map[string]float64{TaskChat: 1}
	f := newFleet(t, Options{Models: models})
	for i := range 20 {
		prompt := fmt.Sprintf("Tell me something nice about gardens, take %d", i)
		bad := mustChat(t, f, userReq(models[0].Name, prompt)).Choices[0].Message.Content.Text()
		good := mustChat(t, f, userReq(models[1].Name, prompt)).Choices[0].Message.Content.Text()
		isHedge := func(s string) bool {
			for _, h := range hedges {
				if strings.HasPrefix(s, strings.Split(h, "{k}")[0]) {
					return true
				}
			}
			return false
		}
		if !isHedge(bad) || isHedge(good) {
			t.Fatalf("quality 0 answer %q / quality 1 answer %q: want only the first to hedge", bad, good)
		}
	}
}

func TestAnswersAreTopicalButNeverEchoThePrompt(t *testing.T) {
	f := newFleet(t, Options{})
	prompt := "My neighbour Gertrude keeps chickens in her backyard; what should I know about keeping chickens myself? " + canary
	text := mustChat(t, f, userReq("gpt-4o", prompt)).Choices[0].Message.Content.Text()
	if !strings.Contains(strings.ToLower(text), "neighbour") && !strings.Contains(text, "Gertrude") && !strings.Contains(text, "chickens") {
		t.Errorf("answer %q mentions none of the prompt's keywords", text)
	}
	// No run of three consecutive prompt words appears in the answer.
	pw := strings.Fields(prompt)
	for i := 0; i+3 <= len(pw); i++ {
		if s := strings.Join(pw[i:i+3], " "); strings.Contains(text, s) {
			t.Errorf("answer echoes prompt text %q", s)
		}
	}
}

func TestTokens(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Hello, world!", []string{"Hello", ",", " world", "!"}},
		{"a  b\n\n  c", []string{"a", " ", " b", "\n\n ", " c"}},
		{"", nil},
		{"héllo wörld 42", []string{"héllo", " wörld", " 42"}},
		{"{\"k\":1}", []string{"{", "\"", "k", "\"", ":", "1", "}"}},
	}
	for _, tt := range tests {
		got := splitTokens(tt.in)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("splitTokens(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
		if strings.Join(got, "") != tt.in {
			t.Errorf("tokens of %q do not rejoin", tt.in)
		}
	}
	req := &octomesh.ChatRequest{Model: "m", Messages: []octomesh.Message{
		{Role: octomesh.RoleSystem, Content: octomesh.TextContent("12345678")},        // 4 + 2
		{Role: octomesh.RoleUser, Content: octomesh.TextContent("héllo"), Name: "bo"}, // 4 + 2 + 1
	}}
	if got, want := EstimatePromptTokens(req), 3+6+7; got != want {
		t.Errorf("EstimatePromptTokens = %d, want %d", got, want)
	}
}

func TestDefaultOptions(t *testing.T) {
	o := DefaultOptions()
	if o.Speed != 1 || o.FailureScale != 1 || !o.VaryRetries || o.AllowFaultHints {
		t.Errorf("DefaultOptions = %+v, want real-time, realistic faults, varying retries, no hints", o)
	}
	f, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if f.ID() != "sim" || len(f.Deployments()) != len(DefaultModels()) {
		t.Errorf("ID %q with %d deployments", f.ID(), len(f.Deployments()))
	}
}

func TestAnswersFitTheTask(t *testing.T) {
	models := DefaultModels()[:1]
	models[0].Quality = map[string]float64{TaskCode: 1, TaskMath: 1, TaskReasoning: 1, TaskChat: 1, TaskExtraction: 1}
	f := newFleet(t, Options{Models: models})
	tests := []struct{ prompt, want string }{
		{"Write a golang function that sorts a slice", "```go\n"},
		{"Write a SQL query for the newest orders", "```sql\n"},
		{"Implement this in python please: a class for a stack", "```python\n"},
		{"What is 17 times 23?", "So the answer is "},
		{"Extract the product names from this invoice: Widget, Gadget", "\n- "},
		{"Why do leaves change colour in autumn? Explain.", "."},
		{"Good morning!", "."},
	}
	for _, tt := range tests {
		text := mustChat(t, f, userReq(models[0].Name, tt.prompt)).Choices[0].Message.Content.Text()
		if !strings.Contains(text, tt.want) || len(splitTokens(text)) < 10 {
			t.Errorf("answer to %q = %q, want at least 10 tokens containing %q", tt.prompt, text, tt.want)
		}
	}
}
