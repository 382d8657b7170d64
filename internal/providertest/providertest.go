// Package providertest is the conformance suite every provider adapter passes.
//
// It is driven by golden fixtures: each case is a directory holding a
// canonical request, the exact upstream request the adapter must send, the raw
// upstream bytes the fake upstream answers with, and the exact canonical result
// the adapter must return. A fake upstream over real loopback HTTP serves the
// bytes, so the adapter's real HTTP, SSE and error code paths run.
//
// Case directory files:
//
//	request.json            canonical ChatRequest (OpenAI JSON); "stream": true selects ChatStream
//	embed_request.json      canonical EmbeddingRequest instead (the adapter must implement Embedder)
//	upstream_request.json   {"method","path","headers":{name: value},"body":{...}} the adapter must send;
//	                        headers lists only those checked; body is compared as JSON (key order ignored)
//	upstream_response       raw bytes the fake upstream writes (JSON, or an SSE stream)
//	upstream_status         optional HTTP status (default 200)
//	upstream_headers.json   optional response headers
//	want_response.json      canonical ChatResponse / EmbeddingResponse, compared as JSON
//	want_chunks.jsonl       canonical Chunks, one per line, for streams
//	want_error.json         {"code": "...", "retry_after_ms": n} the call (or the stream, after its chunks) must fail with
//
// Run `go test ./internal/provider/... -run Golden -update` to write the want_*
// files from the adapter's current output; review every diff before committing.
package providertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
)

var update = flag.Bool("update", false, "rewrite want_* golden files from current output")

// Factory returns the adapter under test, configured to call baseURL with the
// test credential "test-key".
type Factory func(t *testing.T, baseURL string) octomesh.Provider

// RunGolden runs every case directory under dir as a subtest. Adapters run
// the behavioural stream checks separately, with RunStreamBehaviour.
func RunGolden(t *testing.T, dir string, newProvider Factory) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read fixtures: %v", err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		n++
		caseDir := filepath.Join(dir, e.Name())
		t.Run(e.Name(), func(t *testing.T) { runCase(t, caseDir, newProvider) })
	}
	if n == 0 {
		t.Fatalf("no fixture cases under %s", dir)
	}
}

// Recorded is what the fake upstream received.
type Recorded struct {
	Method string
	Path   string // path and raw query
	Header http.Header
	Body   []byte
}

type wantRequest struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

type wantError struct {
	Code         octomesh.ErrorCode `json:"code"`
	RetryAfterMS int64              `json:"retry_after_ms,omitempty"`
}

func runCase(t *testing.T, dir string, newProvider Factory) {
	status := http.StatusOK
	if b, err := os.ReadFile(filepath.Join(dir, "upstream_status")); err == nil {
		status, err = strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("upstream_status: %v", err)
		}
	}
	respBody := mustRead(t, filepath.Join(dir, "upstream_response"))
	var respHeader map[string]string
	readJSONIfExists(t, filepath.Join(dir, "upstream_headers.json"), &respHeader)

	rec := make(chan Recorded, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := readAll(r)
		select {
		case rec <- Recorded{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body}:
		default:
		}
		for k, v := range respHeader {
			w.Header().Set(k, v)
		}
		if w.Header().Get("Content-Type") == "" {
			if bytes.HasPrefix(bytes.TrimSpace(respBody), []byte("{")) || bytes.HasPrefix(bytes.TrimSpace(respBody), []byte("[")) {
				w.Header().Set("Content-Type", "application/json")
			} else {
				w.Header().Set("Content-Type", "text/event-stream")
			}
		}
		w.WriteHeader(status)
		w.Write(respBody)
	}))
	defer srv.Close()

	p := newProvider(t, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	var got any
	var callErr error
	var chunks []*octomesh.Chunk
	isStream := false
	if _, err := os.Stat(filepath.Join(dir, "embed_request.json")); err == nil {
		var req octomesh.EmbeddingRequest
		readJSON(t, filepath.Join(dir, "embed_request.json"), &req)
		emb, ok := p.(octomesh.Embedder)
		if !ok {
			t.Fatalf("%T does not implement octomesh.Embedder", p)
		}
		resp, err := emb.Embed(ctx, &req)
		got, callErr = resp, err
	} else {
		var req octomesh.ChatRequest
		readJSON(t, filepath.Join(dir, "request.json"), &req)
		before, _ := json.Marshal(&req)
		if req.Stream {
			isStream = true
			chunks, callErr = collect(ctx, p, &req)
		} else {
			resp, err := p.Chat(ctx, &req)
			got, callErr = resp, err
		}
		after, _ := json.Marshal(&req)
		if !bytes.Equal(before, after) {
			t.Errorf("the adapter modified the request:\n%s", cmp.Diff(string(before), string(after)))
		}
	}

	select {
	case r := <-rec:
		checkUpstreamRequest(t, dir, r)
	default:
		t.Fatalf("the adapter sent no upstream request (err: %v)", callErr)
	}

	wantErrPath := filepath.Join(dir, "want_error.json")
	if *update {
		writeWant(t, dir, isStream, got, chunks, callErr)
	}
	if _, err := os.Stat(wantErrPath); err == nil {
		var we wantError
		readJSON(t, wantErrPath, &we)
		if callErr == nil {
			t.Fatalf("got no error, want code %q", we.Code)
		}
		if got := octomesh.ErrorCodeOf(callErr); got != we.Code {
			t.Errorf("error code = %q, want %q (err: %v)", got, we.Code, callErr)
		}
		var oe *octomesh.Error
		if errors.As(callErr, &oe) && we.RetryAfterMS != 0 && oe.RetryAfter != time.Duration(we.RetryAfterMS)*time.Millisecond {
			t.Errorf("RetryAfter = %v, want %v", oe.RetryAfter, time.Duration(we.RetryAfterMS)*time.Millisecond)
		}
		CheckSafeMessage(t, callErr)
	} else if callErr != nil {
		t.Fatalf("unexpected error: %v", callErr)
	}
	if isStream {
		compareChunks(t, filepath.Join(dir, "want_chunks.jsonl"), chunks)
	} else if callErr == nil {
		compareJSON(t, filepath.Join(dir, "want_response.json"), got)
	}
}

// CheckSafeMessage fails if err's client-facing message carries anything
// that looks like a credential or the fixtures' canary strings.
func CheckSafeMessage(t *testing.T, err error) {
	t.Helper()
	msg := octomesh.ErrorMessage(err)
	for _, bad := range []string{"test-key", "sk-", "CANARY", "Bearer"} {
		if strings.Contains(msg, bad) {
			t.Errorf("client-facing error message %q contains %q", msg, bad)
		}
	}
}

func collect(ctx context.Context, p octomesh.Provider, req *octomesh.ChatRequest) ([]*octomesh.Chunk, error) {
	s, err := p.ChatStream(ctx, req)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var out []*octomesh.Chunk
	for s.Next() {
		c := *s.Chunk() // the chunk is only valid until Next; copy it
		b, _ := json.Marshal(&c)
		var cp octomesh.Chunk
		json.Unmarshal(b, &cp)
		out = append(out, &cp)
	}
	return out, s.Err()
}

func checkUpstreamRequest(t *testing.T, dir string, r Recorded) {
	t.Helper()
	path := filepath.Join(dir, "upstream_request.json")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("missing %s", path)
	}
	var want wantRequest
	readJSON(t, path, &want)
	if want.Method != "" && r.Method != want.Method {
		t.Errorf("method = %s, want %s", r.Method, want.Method)
	}
	if r.Path != want.Path {
		t.Errorf("path = %s, want %s", r.Path, want.Path)
	}
	for k, v := range want.Headers {
		if got := r.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	for _, h := range []string{"X-Forwarded-For", "X-Real-Ip", "Forwarded", "X-Request-Id", "Cookie"} {
		if r.Header.Get(h) != "" {
			t.Errorf("upstream request carries %s; outbound requests must not", h)
		}
	}
	if diff := jsonDiff(want.Body, r.Body); diff != "" {
		t.Errorf("upstream body mismatch (-want +got):\n%s\ngot: %s", diff, r.Body)
	}
}

func compareJSON(t *testing.T, path string, got any) {
	t.Helper()
	want := mustRead(t, path)
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if diff := jsonDiff(want, b); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s\ngot: %s", filepath.Base(path), diff, b)
	}
}

func compareChunks(t *testing.T, path string, got []*octomesh.Chunk) {
	t.Helper()
	lines := nonEmptyLines(mustRead(t, path))
	if len(lines) != len(got) {
		var b strings.Builder
		for _, c := range got {
			j, _ := json.Marshal(c)
			b.Write(j)
			b.WriteByte('\n')
		}
		t.Fatalf("got %d chunks, want %d:\n%s", len(got), len(lines), b.String())
	}
	for i, c := range got {
		b, _ := json.Marshal(c)
		if diff := jsonDiff(lines[i], b); diff != "" {
			t.Errorf("chunk %d mismatch (-want +got):\n%s\ngot: %s", i, diff, b)
		}
	}
}

func writeWant(t *testing.T, dir string, isStream bool, got any, chunks []*octomesh.Chunk, err error) {
	t.Helper()
	if err != nil {
		we := wantError{Code: octomesh.ErrorCodeOf(err)}
		var oe *octomesh.Error
		if errors.As(err, &oe) {
			we.RetryAfterMS = oe.RetryAfter.Milliseconds()
		}
		writeFile(t, filepath.Join(dir, "want_error.json"), indent(t, we))
	} else {
		os.Remove(filepath.Join(dir, "want_error.json"))
	}
	if isStream {
		var b bytes.Buffer
		for _, c := range chunks {
			j, _ := json.Marshal(c)
			b.Write(j)
			b.WriteByte('\n')
		}
		writeFile(t, filepath.Join(dir, "want_chunks.jsonl"), b.Bytes())
	} else if err == nil {
		writeFile(t, filepath.Join(dir, "want_response.json"), indent(t, got))
	}
}

func indent(t *testing.T, v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func writeFile(t *testing.T, path string, b []byte) {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// jsonDiff compares two JSON documents ignoring key order and whitespace.
func jsonDiff(want, got []byte) string {
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		return "want is not JSON: " + err.Error()
	}
	if err := json.Unmarshal(got, &g); err != nil {
		return "got is not JSON: " + err.Error()
	}
	return cmp.Diff(w, g)
}

func nonEmptyLines(b []byte) [][]byte {
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			out = append(out, l)
		}
	}
	return out
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return b
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	if err := json.Unmarshal(mustRead(t, path), v); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
}

func readJSONIfExists(t *testing.T, path string, v any) {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		readJSON(t, path, v)
	}
}

func readAll(r *http.Request) []byte {
	var b bytes.Buffer
	b.ReadFrom(r.Body)
	return b.Bytes()
}
