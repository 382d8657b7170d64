// Package mockupstream is a fast fake LLM provider for benchmarks. It serves
// OpenAI's POST .../chat/completions and Anthropic's POST .../messages, plain
// and streamed, with a configurable delay, time to first token, pace (tokens
// per second) and answer size.
//
// Everything it sends is encoded once, when the Server is built: a request
// costs reading the body, one scan for "stream":true, and writes of
// pre-encoded bytes. It never parses the request as JSON, so the mock's own
// cost stays far below that of whatever is measured in front of it.
//
// A Server is immutable once built and safe for concurrent use.
package mockupstream

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config shapes the mock's answers.
type Config struct {
	// Delay is how long a non-streaming request waits before its answer.
	Delay time.Duration
	// TTFT is how long a streaming request waits before its first token
	// (the response headers are sent with it).
	TTFT time.Duration
	// TokensPerSec paces a stream after its first token; 0 sends every
	// token at once (one flush at the end).
	TokensPerSec float64
	// Tokens is the number of completion tokens in each answer. Default 16.
	Tokens int
	// TokenBytes is the size of each token's text. Default 4.
	TokenBytes int
	// Model is the model name in answers. Default "mock-model".
	Model string
}

// Defaults.
const (
	DefaultTokens     = 16
	DefaultTokenBytes = 4
	DefaultModel      = "mock-model"
	// PromptTokens is the prompt size every answer reports.
	PromptTokens = 24
)

func (c Config) withDefaults() Config {
	if c.Tokens <= 0 {
		c.Tokens = DefaultTokens
	}
	if c.TokenBytes <= 0 {
		c.TokenBytes = DefaultTokenBytes
	}
	if c.Model == "" {
		c.Model = DefaultModel
	}
	return c
}

// Server is the mock upstream, an http.Handler.
type Server struct {
	cfg      Config
	interval time.Duration // between tokens of a stream; 0 = no pacing

	openai    wire
	anthropic wire

	requests atomic.Uint64
	streams  atomic.Uint64
	bodies   sync.Pool // *bytes.Buffer for request bodies
}

// wire is one format's pre-encoded answers.
type wire struct {
	json     []byte   // the whole non-streaming body
	jsonLen  []string // its Content-Length header value
	head     []byte   // stream frames before the first token
	token    []byte   // the frame of one token
	tail     []byte   // stream frames after the last token
	tailNoUs []byte   // tail without the usage chunk (OpenAI, when include_usage is not asked)
}

// New returns a Server answering as cfg says.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg}
	if cfg.TokensPerSec > 0 {
		s.interval = time.Duration(float64(time.Second) / cfg.TokensPerSec)
	}
	text := tokenText(cfg.TokenBytes)
	s.openai = openAIWire(cfg, text)
	s.anthropic = anthropicWire(cfg, text)
	s.bodies.New = func() any { return new(bytes.Buffer) }
	return s
}

// Config returns the configuration with defaults applied.
func (s *Server) Config() Config { return s.cfg }

// Requests returns the number of chat requests served (streams included).
func (s *Server) Requests() uint64 { return s.requests.Load() }

// Streams returns the number of streamed requests served.
func (s *Server) Streams() uint64 { return s.streams.Load() }

// tokenText is the text of one token: n bytes of lower-case letters
// starting with a space, like most BPE tokens.
func tokenText(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = "abcdefghijklmnopqrstuvwxyz"[i%26]
	}
	b[0] = ' '
	return string(b)
}

// Shared header values: net/http only reads them.
var (
	ctJSON   = []string{"application/json"}
	ctSSE    = []string{"text/event-stream"}
	noCache  = []string{"no-cache"}
	errNoAPI = []byte(`{"error":{"message":"unknown route","type":"invalid_request_error","param":null,"code":null}}`)
)

// ServeHTTP serves POST .../chat/completions (OpenAI) and POST .../messages
// (Anthropic) under any path prefix, and GET /healthz.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var wf *wire
	switch p := r.URL.Path; {
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/chat/completions"):
		wf = &s.openai
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/messages"):
		wf = &s.anthropic
	case r.Method == http.MethodGet && p == "/healthz":
		w.Write([]byte("ok\n"))
		return
	default:
		w.Header()["Content-Type"] = ctJSON
		w.WriteHeader(http.StatusNotFound)
		w.Write(errNoAPI)
		return
	}
	buf := s.bodies.Get().(*bytes.Buffer)
	buf.Reset()
	_, err := buf.ReadFrom(r.Body)
	stream := jsonTrue(buf.Bytes(), "stream")
	usage := wf == &s.anthropic || jsonTrue(buf.Bytes(), "include_usage")
	s.bodies.Put(buf)
	if err != nil {
		return
	}
	s.requests.Add(1)
	if stream {
		s.streams.Add(1)
		s.stream(w, r.Context(), wf, usage)
		return
	}
	if !sleep(r.Context(), s.cfg.Delay) {
		return
	}
	h := w.Header()
	h["Content-Type"] = ctJSON
	h["Content-Length"] = wf.jsonLen
	w.Write(wf.json)
}

// stream writes one streamed answer, paced as configured.
func (s *Server) stream(w http.ResponseWriter, ctx context.Context, wf *wire, usage bool) {
	if !sleep(ctx, s.cfg.TTFT) {
		return
	}
	h := w.Header()
	h["Content-Type"] = ctSSE
	h["Cache-Control"] = noCache
	flusher, _ := w.(http.Flusher)
	flush := func() bool {
		if flusher != nil {
			flusher.Flush()
		}
		return ctx.Err() == nil
	}
	start := time.Now()
	if _, err := w.Write(wf.head); err != nil {
		return
	}
	for i := 0; i < s.cfg.Tokens; i++ {
		if s.interval > 0 && i > 0 {
			if !sleep(ctx, time.Until(start.Add(time.Duration(i)*s.interval))) {
				return
			}
		}
		if _, err := w.Write(wf.token); err != nil {
			return
		}
		if s.interval > 0 || i == 0 && s.cfg.TTFT > 0 {
			if !flush() {
				return
			}
		}
	}
	tail := wf.tail
	if !usage && wf.tailNoUs != nil {
		tail = wf.tailNoUs
	}
	w.Write(tail)
	flush()
}

// sleep waits d or until ctx is done; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// jsonTrue reports whether body has a member "name": true anywhere (the
// mock does not parse JSON; the keys it looks for are unambiguous in chat
// requests, and encoders write no space or a single space around ':').
func jsonTrue(body []byte, name string) bool {
	key := `"` + name + `"`
	for {
		i := bytes.Index(body, []byte(key))
		if i < 0 {
			return false
		}
		rest := bytes.TrimLeft(body[i+len(key):], " \t\r\n")
		if len(rest) > 0 && rest[0] == ':' {
			rest = bytes.TrimLeft(rest[1:], " \t\r\n")
			if bytes.HasPrefix(rest, []byte("true")) {
				return true
			}
		}
		body = body[i+len(key):]
	}
}

// NewHTTPServer returns an http.Server for s with no timeouts (streams run
// as long as they are paced).
func NewHTTPServer(s *Server) *http.Server {
	return &http.Server{Handler: s, MaxHeaderBytes: 64 << 10}
}
