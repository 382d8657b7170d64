package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/fakeupstream"
)

// This file is the harness of the resilience suite: `octomesh serve` in
// front of a fleet of fake upstreams, one fake (and one provider instance)
// per deployment, so that each deployment's faults are scripted on its own,
// with short timeouts and small health thresholds so that every fault plays
// out in well under a second.

// rsModel is one deployment of a resilience test's fleet. Its provider
// instance and fake are its own.
type rsModel struct {
	name   string // public name, e.g. "pool/a"
	kind   string // the fake's wire format: openai | anthropic | gemini
	window int    // context window; default 128000
	caps   string // YAML capability list; default [tools, json_schema, streaming]
	groups string // YAML group list, e.g. [pool]
	policy string // YAML data_policy flow map; "" for none (unknown)
	// Prices in USD per million tokens.
	input, output, cached string
}

// price returns the deployment's configured price list.
func (m rsModel) price(t testing.TB) octomesh.Price {
	t.Helper()
	var p octomesh.Price
	for _, f := range []struct {
		s   string
		dst *octomesh.Money
	}{{m.input, &p.InputPerMTok}, {m.output, &p.OutputPerMTok}, {m.cached, &p.CachedInputPerMTok}} {
		if f.s == "" {
			continue
		}
		v, err := octomesh.ParseMoney(f.s)
		if err != nil {
			t.Fatal(err)
		}
		*f.dst = v
	}
	return p
}

// providerName is the deployment's provider instance: "p" + the name's
// letters and digits ("pool/a" → "ppoola").
func (m rsModel) providerName() string {
	var b strings.Builder
	b.WriteString("p")
	for _, c := range m.name {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// upstreamName is the model name its fake receives.
func (m rsModel) upstreamName() string { return "up-" + m.providerName()[1:] }

// poolFleet is the default fleet: group "pool" of three deployments at three
// providers, cheapest first (a < b < c), so that with the cheapest
// objective and the "objective" strategy the plan is always a, b, c.
func poolFleet() []rsModel {
	return []rsModel{
		{name: "pool/a", kind: fakeupstream.OpenAI, groups: "[pool]", input: "0.10", output: "0.40"},
		{name: "pool/b", kind: fakeupstream.Anthropic, groups: "[pool]", input: "1.00", output: "5.00", cached: "0.10"},
		{name: "pool/c", kind: fakeupstream.Gemini, groups: "[pool]", input: "2.00", output: "10.00"},
	}
}

// rsRouting is the routing section of a resilience test's config.
type rsRouting struct {
	maxAttempts     int      // default 3
	consecutive     int      // failures that open a circuit; default 3
	ejectedFraction string   // the panic floor; default 0.5
	baseEjection    string   // default 300ms
	firstByte       string   // default 300ms
	idle            string   // default 300ms
	total           string   // default 1s
	retryRatio      string   // default 1 (budgets are not under test here)
	retryMin        string   // default 1000
	groups          []string // groups configured with the "objective" strategy; default [pool]
	strategy        string   // their strategy; default objective
	raw             string   // when set, the whole routing section instead
}

func (r rsRouting) yaml() string {
	if r.raw != "" {
		return r.raw
	}
	def := func(v, d string) string {
		if v == "" {
			return d
		}
		return v
	}
	if r.maxAttempts == 0 {
		r.maxAttempts = 3
	}
	if r.consecutive == 0 {
		r.consecutive = 3
	}
	if r.groups == nil {
		r.groups = []string{"pool"}
	}
	var groups strings.Builder
	for _, g := range r.groups {
		fmt.Fprintf(&groups, "\n    - name: %s\n      strategy: %s", g, def(r.strategy, "objective"))
	}
	return fmt.Sprintf(`
  max_attempts: %d
  retry_budget: {ratio: %s, min_per_second: %s}
  health:
    consecutive_failures: %d
    min_requests: 1000
    base_ejection: %s
    max_ejection: 5s
    max_ejected_fraction: %s
  timeouts:
    first_byte: %s
    idle: %s
    total: %s
  groups:%s
`, r.maxAttempts, def(r.retryRatio, "1"), def(r.retryMin, "1000"), r.consecutive,
		def(r.baseEjection, "300ms"), def(r.ejectedFraction, "0.5"),
		def(r.firstByte, "300ms"), def(r.idle, "300ms"), def(r.total, "1s"),
		groups.String())
}

// rsServer is a running `octomesh serve` and the fakes behind it.
type rsServer struct {
	URL      string
	AdminKey string
	Stderr   *syncBuffer
	models   map[string]rsModel
	fakes    map[string]*fakeupstream.Server // by public model name
	client   *http.Client
}

// startRS starts one fake per model and `octomesh serve` in front of them,
// and stops everything when the test ends.
func startRS(tb testing.TB, fleet []rsModel, routing rsRouting) *rsServer {
	tb.Helper()
	var key [16]byte
	rand.Read(key[:])
	rs := &rsServer{
		AdminKey: "om-rs-admin-" + hex.EncodeToString(key[:]),
		Stderr:   &syncBuffer{},
		models:   map[string]rsModel{},
		fakes:    map[string]*fakeupstream.Server{},
		client:   &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
	}
	tb.Cleanup(rs.client.CloseIdleConnections)
	env := map[string]string{"OCTOMESH_ADMIN_KEY": rs.AdminKey}
	var providers, models strings.Builder
	for _, m := range fleet {
		var f *fakeupstream.Server
		switch m.kind {
		case fakeupstream.OpenAI:
			f = fakeupstream.NewOpenAI(tb)
		case fakeupstream.Anthropic:
			f = fakeupstream.NewAnthropic(tb)
		case fakeupstream.Gemini:
			f = fakeupstream.NewGemini(tb)
		default:
			tb.Fatalf("model %s: unknown fake kind %q", m.name, m.kind)
		}
		rs.models[m.name], rs.fakes[m.name] = m, f
		p := m.providerName()
		env[strings.ToUpper(p)+"_URL"], env[strings.ToUpper(p)+"_KEY"] = f.BaseURL(), f.Key()
		fmt.Fprintf(&providers, "  - name: %s\n    type: %s\n    base_url: \"${%s_URL}\"\n    api_key: \"${%s_KEY}\"\n",
			p, m.kind, strings.ToUpper(p), strings.ToUpper(p))
		window, caps := m.window, m.caps
		if window == 0 {
			window = 128000
		}
		if caps == "" {
			caps = "[tools, json_schema, streaming]"
		}
		fmt.Fprintf(&models, "  - name: %s\n    provider: %s\n    upstream_model: %s\n    context_window: %d\n    max_output_tokens: 4096\n    capabilities: %s\n    price: {input: %q, output: %q",
			m.name, p, m.upstreamName(), window, caps, m.input, m.output)
		if m.cached != "" {
			fmt.Fprintf(&models, ", cached_input: %q", m.cached)
		}
		models.WriteString("}\n")
		if m.groups != "" {
			fmt.Fprintf(&models, "    groups: %s\n", m.groups)
		}
		if m.policy != "" {
			fmt.Fprintf(&models, "    data_policy: %s\n", m.policy)
		}
	}
	cfg := "server:\n  shutdown_timeout: 2s\nlog:\n  level: warn\n  format: text\nsim:\n  enabled: false\n" +
		"providers:\n" + providers.String() + "models:\n" + models.String() + "routing:" + routing.yaml()
	dir := tb.TempDir()
	cfgPath := filepath.Join(dir, "octomesh.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	errc := make(chan error, 1)
	args := []string{"--config", cfgPath, "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data")}
	go func() {
		errc <- serve(ctx, args, func(k string) string { return env[k] }, io.Discard, rs.Stderr, func(addr string) { addrc <- addr })
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-errc:
				if err != nil {
					tb.Errorf("serve returned %v", err)
				}
			case <-time.After(15 * time.Second):
				tb.Errorf("serve did not return within 15s of cancellation")
			}
		})
	}
	select {
	case addr := <-addrc:
		rs.URL = "http://" + addr
	case err := <-errc:
		cancel()
		tb.Fatalf("serve failed to start: %v\nconfig:\n%s\nstderr:\n%s", err, cfg, rs.Stderr.Bytes())
	case <-time.After(10 * time.Second):
		cancel()
		tb.Fatalf("serve did not start within 10s\nstderr:\n%s", rs.Stderr.Bytes())
	}
	tb.Cleanup(stop)
	return rs
}

// fake returns the fake serving a public model name.
func (rs *rsServer) fake(name string) *fakeupstream.Server {
	f := rs.fakes[name]
	if f == nil {
		panic("no fake for " + name)
	}
	return f
}

// counts returns how many requests each fake received, by model name.
func (rs *rsServer) counts() map[string]int {
	out := map[string]int{}
	for name, f := range rs.fakes {
		out[name] = len(f.Requests())
	}
	return out
}

// rsResponse is one response as the client saw it.
type rsResponse struct {
	status  int
	header  http.Header
	trailer http.Header
	body    []byte
	elapsed time.Duration // until the whole body was read
}

// route is the x-octomesh-route header.
func (r rsResponse) route() string { return r.header.Get("X-Octomesh-Route") }

// requestID is the x-request-id header.
func (r rsResponse) requestID() string { return r.header.Get("X-Request-Id") }

// errorBody decodes an OpenAI-shaped error body.
func (r rsResponse) errorBody(t *testing.T) openAIErrorShape {
	t.Helper()
	var e openAIErrorShape
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error.Code == "" {
		t.Fatalf("status %d body %s is not an OpenAI error body (%v)", r.status, r.body, err)
	}
	return e
}

// openAIErrorShape is OpenAI's error body, and OctoMesh's mid-stream error event.
type openAIErrorShape struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    string  `json:"code"`
	} `json:"error"`
}

// chatBody is a chat request for model with one user message; max_tokens
// is fixed so that the router's cost estimates (and so the plan order) do
// not depend on live statistics.
func chatBody(model, text string, stream bool) map[string]any {
	return map[string]any{
		"model": model, "stream": stream, "max_tokens": 64,
		"messages": []any{map[string]any{"role": "user", "content": text}},
	}
}

// post sends body as JSON to path with the admin key and reads the whole
// response. ctx bounds the request (nil: 20s).
func (rs *rsServer) post(t testing.TB, ctx context.Context, path string, body any) rsResponse {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	if ctx == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rs.URL+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+rs.AdminKey)
	req.Header.Set("Content-Type", "application/json")
	if path == "/v1/messages" {
		req.Header.Set("Anthropic-Version", "2023-06-01")
	}
	start := time.Now()
	resp, err := rs.client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: reading the body: %v", path, err)
	}
	return rsResponse{status: resp.StatusCode, header: resp.Header, trailer: resp.Trailer, body: out, elapsed: time.Since(start)}
}

// chat posts a chat completion request.
func (rs *rsServer) chat(t testing.TB, body any) rsResponse {
	t.Helper()
	return rs.post(t, nil, "/v1/chat/completions", body)
}

// decision fetches a request's routing decision.
func (rs *rsServer) decision(t *testing.T, requestID string) octomesh.Decision {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, rs.URL+"/v1/routing/decisions/"+requestID, nil)
	req.Header.Set("Authorization", "Bearer "+rs.AdminKey)
	resp, err := rs.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var d octomesh.Decision
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &d) != nil {
		t.Fatalf("GET decision %q: %d %s", requestID, resp.StatusCode, b)
	}
	return d
}

// explain asks for the decision the router would make for body now.
func (rs *rsServer) explain(t *testing.T, body any) octomesh.Decision {
	t.Helper()
	r := rs.post(t, nil, "/v1/routing/explain", body)
	var d octomesh.Decision
	if r.status != http.StatusOK || json.Unmarshal(r.body, &d) != nil {
		t.Fatalf("explain: %d %s", r.status, r.body)
	}
	return d
}

// attemptOutcomes renders a decision's attempts as "deployment:outcome",
// with "(cont)" for continuations and "(hedge)" for hedges.
func attemptOutcomes(d octomesh.Decision) []string {
	out := []string{}
	for _, a := range d.Attempts {
		s := a.Deployment + ":" + a.Outcome
		if a.Continued {
			s += "(cont)"
		}
		if a.Hedge {
			s += "(hedge)"
		}
		out = append(out, s)
	}
	return out
}

// exclusions renders a decision's exclusions as "deployment:constraint".
func exclusions(d octomesh.Decision) []string {
	out := []string{}
	for _, e := range d.Excluded {
		out = append(out, e.Deployment+":"+e.Constraint)
	}
	return out
}

// answerText is the text of a non-streamed OpenAI chat completion.
func answerText(t *testing.T, r rsResponse) string {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d (route %q), body %s", r.status, r.route(), r.body)
	}
	var c struct {
		Model   string `json:"model"`
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(r.body, &c); err != nil || len(c.Choices) != 1 {
		t.Fatalf("body %s is not a chat completion with one choice (%v)", r.body, err)
	}
	return c.Choices[0].Message.Content
}

// sseStream is what an OpenAI-format event stream delivered.
type sseStream struct {
	roleChunks int    // chunks whose delta set the role
	text       string // concatenated content deltas
	finish     string // the last finish_reason seen
	usage      *octomesh.Usage
	err        *openAIErrorShape // an error event, if one came
	done       bool              // data: [DONE] came
	afterEnd   int               // events after [DONE] or the error event
	invalid    []string          // events that are not JSON chunks
	models     map[string]int    // chunks per "model" field
}

// parseOpenAIStream parses an OpenAI-format SSE body strictly: every event
// must be a JSON chunk, an error object or [DONE].
func parseOpenAIStream(body []byte) sseStream {
	s := sseStream{models: map[string]int{}}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, ":") {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			s.invalid = append(s.invalid, line)
			continue
		}
		if s.done || s.err != nil {
			s.afterEnd++
		}
		if data == "[DONE]" {
			s.done = true
			continue
		}
		var c struct {
			Model   string `json:"model"`
			Choices []struct {
				Delta struct {
					Role    string `json:"role"`
					Content string `json:"content"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Usage *octomesh.Usage  `json:"usage"`
			Error *json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			s.invalid = append(s.invalid, data)
			continue
		}
		if c.Error != nil {
			var e openAIErrorShape
			json.Unmarshal([]byte(data), &e)
			s.err = &e
			continue
		}
		s.models[c.Model]++
		if c.Usage != nil {
			s.usage = c.Usage
		}
		for _, ch := range c.Choices {
			if ch.Delta.Role != "" {
				s.roleChunks++
			}
			s.text += ch.Delta.Content
			if ch.FinishReason != nil && *ch.FinishReason != "" {
				s.finish = *ch.FinishReason
			}
		}
	}
	return s
}

// anthropicStream is what an Anthropic-format event stream delivered.
type anthropicStream struct {
	events  []string // event names in order
	text    string   // text deltas
	errType string   // the error event's error.type, if one came
	invalid []string
}

// parseAnthropicStream parses an Anthropic Messages SSE body.
func parseAnthropicStream(body []byte) anthropicStream {
	var s anthropicStream
	for _, block := range strings.Split(string(body), "\n\n") {
		block = strings.TrimSpace(block)
		if block == "" {
			continue
		}
		var name, data string
		for _, line := range strings.Split(block, "\n") {
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				name = v
			} else if v, ok := strings.CutPrefix(line, "data: "); ok {
				data = v
			}
		}
		s.events = append(s.events, name)
		var ev struct {
			Delta struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"delta"`
			Error struct {
				Type string `json:"type"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			s.invalid = append(s.invalid, block)
			continue
		}
		switch name {
		case "content_block_delta":
			if ev.Delta.Type == "text_delta" {
				s.text += ev.Delta.Text
			}
		case "error":
			s.errType = ev.Error.Type
		}
	}
	return s
}

// fakeUsage is the usage every fake reports, as the adapters normalise it.
func fakeUsage() octomesh.Usage {
	return octomesh.Usage{
		PromptTokens: fakeupstream.PromptTokens, CompletionTokens: fakeupstream.CompletionTokens,
		TotalTokens:         fakeupstream.PromptTokens + fakeupstream.CompletionTokens,
		PromptTokensDetails: &octomesh.PromptTokensDetails{CachedTokens: fakeupstream.CachedTokens},
	}
}

// within fails the test unless lo ≤ d ≤ hi.
func within(t *testing.T, what string, d, lo, hi time.Duration) {
	t.Helper()
	if d < lo || d > hi {
		t.Errorf("%s took %v, want between %v and %v", what, d.Round(time.Millisecond), lo, hi)
	}
}

// waitDisconnect waits up to d for f to see a client (the gateway) go away.
func waitDisconnect(f *fakeupstream.Server, d time.Duration) (time.Time, bool) {
	select {
	case at := <-f.Disconnects():
		return at, true
	case <-time.After(d):
		return time.Time{}, false
	}
}
