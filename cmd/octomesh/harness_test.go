package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/octomesh/octomesh/internal/fakeupstream"
)

// This file is the end-to-end harness: it runs the real `octomesh serve`
// in-process against fake upstream providers (internal/fakeupstream) and
// hands tests official-SDK clients pointed at it.

// Public model names of the test configuration.
const (
	modelOpenAI    = "fake-openai/gpt-4o-mini"
	modelAnthropic = "fake-anthropic/claude-haiku-4-5"
	modelGemini    = "fake-gemini/gemini-2.5-flash"
	modelSim       = "sim/gpt-4o-mini"

	embedOpenAI = "fake-openai/text-embedding-3-small"
	embedGemini = "fake-gemini/text-embedding-004"
	embedSim    = "sim/text-embedding-3-small"
)

// upstreamModel maps public names to the names the fakes must receive.
var upstreamModel = map[string]string{
	modelOpenAI:    "gpt-4o-mini-2024-07-18",
	modelAnthropic: "claude-haiku-4-5-20251001",
	modelGemini:    "gemini-2.5-flash",
	embedOpenAI:    "text-embedding-3-small",
	embedGemini:    "text-embedding-004",
}

// providerOf maps public names to the provider instance serving them.
var providerOf = map[string]string{
	modelOpenAI: "fake-openai", modelAnthropic: "fake-anthropic", modelGemini: "fake-gemini", modelSim: "sim",
	embedOpenAI: "fake-openai", embedGemini: "fake-gemini", embedSim: "sim",
}

// simSpeed is the sim fleet's configured speed: 0 answers instantly, so the
// suite spends no time on simulated latency.
const simSpeed = "0"

// configTemplate is the test configuration; %s are the read timeouts, the
// server engine, the log level, its flush interval and the sim speed. Base URLs and keys come from the environment, as an operator
// would write them.
const configTemplate = `
server:
  shutdown_timeout: 2s
  read_header_timeout: %s
  read_timeout: %s
  engine: %s
log:
  level: %s
  format: text
  flush_interval: %s
sim:
  enabled: true
  seed: 7
  speed: %s
  failure_scale: 0
  allow_fault_hints: true
providers:
  - name: fake-openai
    type: openai
    base_url: "${FAKE_OPENAI_URL}"
    api_key: "${FAKE_OPENAI_KEY}"
  - name: fake-anthropic
    type: anthropic
    base_url: "${FAKE_ANTHROPIC_URL}"
    api_key: "${FAKE_ANTHROPIC_KEY}"
  - name: fake-gemini
    type: gemini
    base_url: "${FAKE_GEMINI_URL}"
    api_key: "${FAKE_GEMINI_KEY}"
models:
  - name: fake-openai/gpt-4o-mini
    provider: fake-openai
    upstream_model: gpt-4o-mini-2024-07-18
    context_window: 128000
    max_output_tokens: 16384
    capabilities: [tools, json_schema, vision, streaming]
    price: {input: "0.15", output: "0.60", cached_input: "0.075"}
  - name: fake-openai/text-embedding-3-small
    provider: fake-openai
    upstream_model: text-embedding-3-small
    context_window: 8191
    capabilities: [embeddings]
    price: {input: "0.02", output: "0"}
  - name: fake-anthropic/claude-haiku-4-5
    provider: fake-anthropic
    upstream_model: claude-haiku-4-5-20251001
    context_window: 200000
    max_output_tokens: 64000
    capabilities: [tools, json_schema, vision, streaming]
    price: {input: "1.00", output: "5.00", cached_input: "0.10"}
  - name: fake-gemini/gemini-2.5-flash
    provider: fake-gemini
    upstream_model: gemini-2.5-flash
    context_window: 1048576
    max_output_tokens: 65536
    capabilities: [tools, json_schema, vision, streaming]
    price: {input: "0.30", output: "2.50", cached_input: "0.03"}
  - name: fake-gemini/text-embedding-004
    provider: fake-gemini
    upstream_model: text-embedding-004
    context_window: 2048
    capabilities: [embeddings]
    price: {input: "0.01", output: "0"}
`

// syncBuffer is a bytes.Buffer safe for the server's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// Bytes returns a copy of everything written so far.
func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// testServer is a running `octomesh serve` and the fakes behind it.
type testServer struct {
	URL      string // http://127.0.0.1:port
	AdminKey string
	DataDir  string
	Stdout   *syncBuffer
	Stderr   *syncBuffer

	OpenAI    *fakeupstream.Server
	Anthropic *fakeupstream.Server
	Gemini    *fakeupstream.Server

	stop func() // stops the server and waits for serve to return; idempotent
}

// serverOptions adjust the test server.
type serverOptions struct {
	logLevel    string // default "info"
	simSpeed    string // default simSpeed
	readTimeout string // server read_header_timeout and read_timeout; default "10s"
	logFlush    string // log.flush_interval; default "0s", so tests that scan the log mid-run see every line
	engine      string // server.engine; default "octomesh"
}

// startServer starts fakes and `octomesh serve` with the test configuration,
// and stops them when the test ends.
func startServer(t *testing.T, o serverOptions) *testServer {
	t.Helper()
	if o.logLevel == "" {
		o.logLevel = "info"
	}
	if o.simSpeed == "" {
		o.simSpeed = simSpeed
	}
	if o.readTimeout == "" {
		o.readTimeout = "10s"
	}
	if o.logFlush == "" {
		o.logFlush = "0s"
	}
	if o.engine == "" {
		o.engine = "octomesh"
	}
	ts := &testServer{
		AdminKey:  "om-e2e-admin-" + randomHex(t, 16),
		DataDir:   t.TempDir(),
		Stdout:    &syncBuffer{},
		Stderr:    &syncBuffer{},
		OpenAI:    fakeupstream.NewOpenAI(t),
		Anthropic: fakeupstream.NewAnthropic(t),
		Gemini:    fakeupstream.NewGemini(t),
	}
	cfgPath := filepath.Join(t.TempDir(), "octomesh.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(configTemplate, o.readTimeout, o.readTimeout, o.engine, o.logLevel, o.logFlush, o.simSpeed)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"OCTOMESH_ADMIN_KEY": ts.AdminKey,
		"FAKE_OPENAI_URL":    ts.OpenAI.BaseURL(), "FAKE_OPENAI_KEY": ts.OpenAI.Key(),
		"FAKE_ANTHROPIC_URL": ts.Anthropic.BaseURL(), "FAKE_ANTHROPIC_KEY": ts.Anthropic.Key(),
		"FAKE_GEMINI_URL": ts.Gemini.BaseURL(), "FAKE_GEMINI_KEY": ts.Gemini.Key(),
	}
	getenv := func(k string) string { return env[k] }

	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	errc := make(chan error, 1)
	args := []string{"--config", cfgPath, "--listen", "127.0.0.1:0", "--data-dir", ts.DataDir}
	go func() {
		errc <- serve(ctx, args, getenv, ts.Stdout, ts.Stderr, func(addr string) { addrc <- addr })
	}()
	var once sync.Once
	ts.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-errc:
				if err != nil {
					t.Errorf("serve returned %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Errorf("serve did not return within 15s of cancellation")
			}
		})
	}
	select {
	case addr := <-addrc:
		ts.URL = "http://" + addr
	case err := <-errc:
		cancel()
		t.Fatalf("serve failed to start: %v\nstderr:\n%s", err, ts.Stderr.Bytes())
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("serve did not start within 10s\nstderr:\n%s", ts.Stderr.Bytes())
	}
	t.Cleanup(ts.stop)
	return ts
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// clientHeaders are sent by every SDK client of the tests: things a client
// (or a proxy in front of OctoMesh) may send that must never reach a provider.
var clientHeaders = map[string]string{
	"X-Forwarded-For": "203.0.113.77",
	"X-Real-Ip":       "203.0.113.78",
	"Forwarded":       "for=203.0.113.79",
	"X-Request-Id":    "client-request-id-5e1f",
	"Cookie":          "session=client-cookie-9d2a",
	"User-Agent":      "e2e-client-agent/1.0",
}

// openAIClient returns an OpenAI SDK client for the server, authenticating
// with key and sending clientHeaders, with retries off.
func (ts *testServer) openAIClient(key string) openai.Client {
	opts := []option.RequestOption{
		option.WithBaseURL(ts.URL + "/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0),
		option.WithRequestTimeout(20 * time.Second),
	}
	for k, v := range clientHeaders {
		opts = append(opts, option.WithHeader(k, v))
	}
	return openai.NewClient(opts...)
}

// anthropicClient returns an Anthropic SDK client for the server.
func (ts *testServer) anthropicClient(key string) anthropic.Client {
	opts := []anthropicoption.RequestOption{
		anthropicoption.WithBaseURL(ts.URL), anthropicoption.WithAPIKey(key), anthropicoption.WithMaxRetries(0),
		anthropicoption.WithRequestTimeout(20 * time.Second),
	}
	for k, v := range clientHeaders {
		opts = append(opts, anthropicoption.WithHeader(k, v))
	}
	return anthropic.NewClient(opts...)
}

// fakeFor returns the fake serving a public model name, or nil for sim.
func (ts *testServer) fakeFor(model string) *fakeupstream.Server {
	switch providerOf[model] {
	case "fake-openai":
		return ts.OpenAI
	case "fake-anthropic":
		return ts.Anthropic
	case "fake-gemini":
		return ts.Gemini
	}
	return nil
}

// received returns the one request fake received whose body contains tag.
func received(t *testing.T, fake *fakeupstream.Server, tag string) fakeupstream.Request {
	t.Helper()
	var found []fakeupstream.Request
	for _, r := range fake.Requests() {
		if bytes.Contains(r.RawBody, []byte(tag)) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("the %s fake received %d requests containing %q, want 1", fake.Provider(), len(found), tag)
	}
	return found[0]
}

// checkUpstreamRequest checks what a fake received for one client request:
// its own credential and the upstream model name, and nothing of the
// client's identity, headers or OctoMesh key.
func (ts *testServer) checkUpstreamRequest(t *testing.T, model string, r fakeupstream.Request) {
	t.Helper()
	fake := ts.fakeFor(model)
	if got, want := r.Model(), upstreamModel[model]; got != want {
		t.Errorf("%s fake received model %q, want the upstream name %q", fake.Provider(), got, want)
	}
	switch fake {
	case ts.OpenAI:
		if got, want := r.Header.Get("Authorization"), "Bearer "+fake.Key(); got != want {
			t.Errorf("fake-openai received Authorization %q, want %q", got, want)
		}
	case ts.Anthropic:
		if got := r.Header.Get("X-Api-Key"); got != fake.Key() {
			t.Errorf("fake-anthropic received x-api-key %q, want the provider key", got)
		}
		if r.Header.Get("Authorization") != "" {
			t.Errorf("fake-anthropic received an Authorization header %q", r.Header.Get("Authorization"))
		}
	case ts.Gemini:
		if got := r.Header.Get("X-Goog-Api-Key"); got != fake.Key() {
			t.Errorf("fake-gemini received x-goog-api-key %q, want the provider key", got)
		}
		if r.Query.Get("key") != "" {
			t.Errorf("fake-gemini received the key in the URL")
		}
		if r.Header.Get("Authorization") != "" {
			t.Errorf("fake-gemini received an Authorization header %q", r.Header.Get("Authorization"))
		}
	}
	for name, v := range r.Header {
		joined := strings.Join(v, ",")
		if strings.Contains(joined, ts.AdminKey) {
			t.Errorf("the client's OctoMesh key reached the %s fake in header %s", fake.Provider(), name)
		}
		if strings.HasPrefix(strings.ToLower(name), "x-stainless") || strings.HasPrefix(strings.ToLower(name), "anthropic-dangerous") {
			t.Errorf("client SDK header %s reached the %s fake", name, fake.Provider())
		}
		for cname, cv := range clientHeaders {
			if strings.Contains(joined, cv) {
				t.Errorf("client header %s (%q) reached the %s fake as %s", cname, cv, fake.Provider(), name)
			}
		}
	}
	for _, h := range []string{"X-Forwarded-For", "X-Real-Ip", "Forwarded", "X-Request-Id", "Cookie", "Via"} {
		if v := r.Header.Get(h); v != "" {
			t.Errorf("the %s fake received %s: %q", fake.Provider(), h, v)
		}
	}
	if bytes.Contains(r.RawBody, []byte(ts.AdminKey)) {
		t.Errorf("the client's OctoMesh key reached the %s fake in the body", fake.Provider())
	}
}

// rawRequest sends a raw HTTP request to the server with the admin key and
// returns the status, headers and body.
func (ts *testServer) rawRequest(t *testing.T, method, path, contentType string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+ts.AdminKey)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}
