package fakeupstream

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Provider names, as used in ReplyText.
const (
	OpenAI    = "openai"
	Anthropic = "anthropic"
	Gemini    = "gemini"
)

// Request is one request a fake received.
type Request struct {
	Method  string
	Path    string     // the URL path, e.g. "/v1/chat/completions"
	Query   url.Values // the URL query, e.g. alt=sse
	Header  http.Header
	RawBody []byte
	// Body is RawBody decoded as a JSON object; nil when it is not one.
	Body map[string]any
}

// Model returns the model the request names: the body's "model" field, or
// for Gemini the model in the path (/v1beta/models/{model}:method).
func (r Request) Model() string {
	if m, ok := r.Body["model"].(string); ok {
		return m
	}
	if _, rest, ok := strings.Cut(r.Path, "/models/"); ok {
		model, _, _ := strings.Cut(rest, ":")
		return model
	}
	return ""
}

// failure is one scripted error response (or, see faults.go, a reset
// connection or a silent upstream).
type failure struct {
	kind    failKind
	status  int
	body    string
	headers map[string]string
}

// Server is a fake provider. It is safe for concurrent use.
type Server struct {
	spec
	key string
	srv *httptest.Server
	seq atomic.Uint64 // numbers response ids

	mu       sync.Mutex
	reqs     []Request
	fails    []failure
	cutAfter int // events before the next stream is cut; -1 for none
	echoAll  bool
	down     *outage    // a persistent failure (FailAlways, FailFraction)
	pause    *pause     // the next stream's pause (PauseStreamAfter)
	inject   *injection // the next stream's injected bytes (InjectStreamAfter)
	strict   bool       // Anthropic: reject prefills ending in whitespace (StrictPrefill)

	gone chan time.Time // client disconnects seen while holding a response
	quit chan struct{}  // closed when the server shuts down: held responses end
}

// spec describes one provider's fake.
type spec struct {
	provider string
	basePath string                                 // appended to URL by BaseURL
	auth     func(r *http.Request, key string) bool // whether r carries key
	// handle serves requests that passed authentication and scripted failures.
	handle func(s *Server, w http.ResponseWriter, r *http.Request, req *Request)
	// errBody renders the provider's error body for a status.
	errBody       func(status int, message string) []byte
	badKeyStatus  int    // the answer to a wrong key; default 401
	badKeyMessage string // its message
}

// newServer starts the fake sp describes.
func newServer(t testing.TB, sp spec) *Server {
	t.Helper()
	var b [12]byte
	rand.Read(b[:])
	if sp.badKeyStatus == 0 {
		sp.badKeyStatus, sp.badKeyMessage = http.StatusUnauthorized, "Incorrect API key provided."
	}
	s := &Server{spec: sp, key: "fake-" + sp.provider + "-key-" + hex.EncodeToString(b[:]), cutAfter: -1,
		gone: make(chan time.Time, disconnectBuffer), quit: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := s.record(r)
		if f, ok := s.nextFailure(); ok {
			s.misbehave(w, r, f)
			return
		}
		if !sp.auth(r, s.key) {
			s.writeError(w, sp.badKeyStatus, sp.badKeyMessage)
			return
		}
		sp.handle(s, requestWriter{ResponseWriter: w, ctx: r.Context()}, r, req)
	}))
	t.Cleanup(func() {
		close(s.quit) // end held responses, or Close would wait for them
		s.srv.Close()
	})
	return s
}

// URL returns the server's base URL, e.g. http://127.0.0.1:1234.
func (s *Server) URL() string { return s.srv.URL }

// BaseURL returns the API root an adapter is configured with: URL + "/v1"
// for OpenAI (whose clients append /chat/completions), URL for Anthropic and
// Gemini (whose clients append /v1/messages and /v1beta/...).
func (s *Server) BaseURL() string { return s.srv.URL + s.basePath }

// Key returns the API key the server requires.
func (s *Server) Key() string { return s.key }

// Provider returns the provider the server imitates: OpenAI, Anthropic or Gemini.
func (s *Server) Provider() string { return s.provider }

// Requests returns a copy of every request received so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// FailNext makes the next request fail with status, the given body (the
// provider's own error body for status when body is empty) and extra
// response headers. Each call queues one failure, so calling it n times
// fails the next n requests.
func (s *Server) FailNext(status int, body string, headers map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails = append(s.fails, failure{status: status, body: body, headers: headers})
}

// ClearFailures drops any queued failures that were not used (a request
// that was not retried leaves some behind).
func (s *Server) ClearFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails = nil
}

// CutStreamAfter makes the next streamed answer end after n events (at most
// all but the last), without the provider's terminating event ([DONE],
// message_stop, or Gemini's event carrying finishReason). The response
// itself ends cleanly, as when an upstream closes a connection early.
func (s *Server) CutStreamAfter(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cutAfter = max(n, 0)
}

// EchoWholeMessage makes text answers echo the whole last user message
// instead of its first 20 characters.
func (s *Server) EchoWholeMessage() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.echoAll = true
}

// ReplyText returns the text answer the server gives to a request whose last
// user message has the text lastUser.
func (s *Server) ReplyText(lastUser string) string {
	s.mu.Lock()
	all := s.echoAll
	s.mu.Unlock()
	return replyText(s.provider, lastUser, all)
}

func (s *Server) record(r *http.Request) *Request {
	body, _ := io.ReadAll(r.Body)
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), RawBody: body}
	var m map[string]any
	if json.Unmarshal(body, &m) == nil {
		req.Body = m
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	return &req
}

// takeCut returns the cut scripted for this stream, or -1, and clears it.
func (s *Server) takeCut() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.cutAfter
	s.cutAfter = -1
	return n
}

func (s *Server) echoWhole() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.echoAll
}

func (s *Server) writeFailure(w http.ResponseWriter, f failure) {
	for k, v := range f.headers {
		w.Header().Set(k, v)
	}
	body := []byte(f.body)
	if f.body == "" {
		body = s.errBody(f.status, http.StatusText(f.status))
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(f.status)
	w.Write(body)
}

// writeError writes the provider's error body for status.
func (s *Server) writeError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(s.errBody(status, message))
}

// writeJSON writes v as a 200 JSON response.
func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// streamEvents writes SSE frames one by one, flushing each. The last frame
// is the provider's terminator; a scripted cut writes at most all but it.
func (s *Server) streamEvents(w http.ResponseWriter, frames [][]byte) {
	if n := s.takeCut(); n >= 0 {
		frames = frames[:min(n, len(frames)-1)]
	}
	p, inj := s.takeStreamFaults()
	pauseAt, injectAt := -1, -1
	if p != nil {
		pauseAt = min(p.after, len(frames))
	}
	if inj != nil {
		injectAt = min(inj.after, len(frames))
	}
	ctx := contextOf(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	rc.Flush()
	write := func(b []byte) bool {
		if _, err := w.Write(b); err != nil || rc.Flush() != nil {
			s.noteDisconnect()
			return false
		}
		return true
	}
	for i := 0; i <= len(frames); i++ {
		if i == pauseAt && !s.hold(ctx, p.d) {
			return
		}
		if i == injectAt && !write([]byte(inj.raw)) {
			return
		}
		if i == len(frames) || !write(frames[i]) {
			return
		}
	}
}

// sseFrame renders one event: an optional "event:" line, then the JSON of v
// (or v itself when it is a []byte) as data.
func sseFrame(event string, v any) []byte {
	var b bytes.Buffer
	if event != "" {
		b.WriteString("event: ")
		b.WriteString(event)
		b.WriteByte('\n')
	}
	b.WriteString("data: ")
	if raw, ok := v.([]byte); ok {
		b.Write(raw)
	} else {
		j, _ := json.Marshal(v)
		b.Write(j)
	}
	b.WriteString("\n\n")
	return b.Bytes()
}
