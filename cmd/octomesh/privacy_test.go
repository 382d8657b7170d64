package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"

	"github.com/octomesh/octomesh/internal/fakeupstream"
)

// TestPrivacyCanaries checks the promise that content (prompts, outputs,
// tool arguments and results, embedding inputs) never reaches disk, logs or
// metrics, even at log level debug and when upstreams fail with error
// bodies that echo the prompt. Every piece of content carries a unique
// canary; afterwards every file under the data directory (SQLite database,
// WAL and SHM included), everything serve wrote to stdout and stderr, and
// GET /metrics are scanned for them.
//
// The test proves it can fail: the canaries demonstrably reached the fake
// upstreams and came back in answers, the scanner finds them there, and the
// server did log at debug level.
func TestPrivacyCanaries(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{logLevel: "debug"})
	for _, f := range []*fakeupstream.Server{ts.OpenAI, ts.Anthropic, ts.Gemini} {
		f.EchoWholeMessage() // outputs carry the canaries too
	}
	run := strings.ToUpper(randomHex(t, 6))
	canaryRE := regexp.MustCompile(`CANARY-` + run + `-[a-z0-9_]+`)
	var mu sync.Mutex
	var canaries []string
	canary := func(label string) string {
		c := "CANARY-" + run + "-" + label
		mu.Lock()
		canaries = append(canaries, c)
		mu.Unlock()
		return c
	}
	oa := ts.openAIClient(ts.AdminKey)
	an := ts.anthropicClient(ts.AdminKey)
	ctx := context.Background()

	// clientSaw collects everything the client received, to prove the
	// canaries made the round trip (a positive control for the scanner).
	var clientSaw syncBuffer

	// Upstream failures whose error bodies echo the prompt, as real
	// providers' sometimes do. They run first and one at a time: FailNext
	// scripts the fake's next request.
	t.Run("failing upstreams", func(t *testing.T) {
		failures := []struct {
			model  string
			fake   *fakeupstream.Server
			status int
			body   func(c string) string
		}{
			{modelOpenAI, ts.OpenAI, 400, func(c string) string {
				return `{"error":{"message":"Invalid content in messages[1]: '` + c + `'","type":"invalid_request_error","param":"messages","code":"invalid_value"}}`
			}},
			{modelAnthropic, ts.Anthropic, 500, func(c string) string {
				return `{"type":"error","error":{"type":"api_error","message":"Internal error while processing: ` + c + `"},"request_id":"req_x"}`
			}},
			{modelGemini, ts.Gemini, 429, func(c string) string {
				return `{"error":{"code":429,"message":"Quota exceeded for prompt ` + c + `","status":"RESOURCE_EXHAUSTED"}}`
			}},
		}
		for i, f := range failures {
			c := canary(fmt.Sprintf("upstream_error_%d", i))
			for range 3 { // fail every attempt the plan may make
				f.fake.FailNext(f.status, f.body(canary(fmt.Sprintf("upstream_error_body_%d", i))), nil)
			}
			_, err := oa.Chat.Completions.New(ctx, userParams(f.model, "Please repeat "+c))
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("%s: got %v, want an API error", f.model, err)
			}
			f.fake.ClearFailures() // a 400 is not retried: its spare failures must not hit later requests
			raw := apiErr.RawJSON()
			clientSaw.Write([]byte(raw))
			if canaryRE.MatchString(raw) {
				t.Errorf("%s: the client's error body repeats upstream text: %s", f.model, raw)
			}
		}
		// A cut stream: part of the echoed answer was relayed, then an error.
		ts.Gemini.CutStreamAfter(2)
		params := userParams(modelGemini, "Please repeat "+canary("cut_stream"))
		r := runStream(t, oa, params)
		if r.err == nil {
			t.Error("the cut stream ended cleanly")
		}
		if len(r.acc.Choices) > 0 {
			clientSaw.Write([]byte(r.acc.Choices[0].Message.Content))
		}
		// A sim fault, hinted through metadata.
		params = userParams(modelSim, "Please repeat "+canary("sim_fault"))
		params.Metadata = shared.Metadata{"sim_fault": "500"}
		if _, err := oa.Chat.Completions.New(ctx, params); err == nil {
			t.Error("the sim fault hint did not fail the request")
		}
		// An unknown model named by the caller.
		if _, err := oa.Chat.Completions.New(ctx, userParams("no-such-"+canary("model_name"), "hi")); err == nil {
			t.Error("an unknown model was served")
		}
	})

	t.Run("requests", func(t *testing.T) {
		for _, model := range chatModels {
			label := strings.NewReplacer("/", "_", "-", "_", ".", "_").Replace(model)
			t.Run(model+"/plain", func(t *testing.T) {
				t.Parallel()
				params := userParams(model, "Please repeat "+canary(label+"_plain"))
				params.Messages[0] = openai.SystemMessage("Secret system prompt " + canary(label+"_system"))
				params.User = openai.String(canary(label + "_enduser"))
				resp, err := oa.Chat.Completions.New(ctx, params)
				if err != nil {
					t.Fatal(err)
				}
				clientSaw.Write([]byte(resp.Choices[0].Message.Content))
			})
			t.Run(model+"/stream", func(t *testing.T) {
				t.Parallel()
				params := userParams(model, "Please repeat "+canary(label+"_stream"))
				params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
				r := runStream(t, oa, params)
				if r.err != nil {
					t.Fatal(r.err)
				}
				clientSaw.Write([]byte(r.acc.Choices[0].Message.Content))
			})
			t.Run(model+"/tools", func(t *testing.T) {
				t.Parallel()
				params := userParams(model, "Look up "+canary(label+"_tool_prompt"))
				params.Tools = openAITools()
				params.Tools[0].OfFunction.Function.Description = openai.String("Weather lookup " + canary(label+"_tool_description"))
				params.ToolChoice = openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")}
				resp, err := oa.Chat.Completions.New(ctx, params)
				if err != nil {
					t.Fatal(err)
				}
				msg := resp.Choices[0].Message
				if len(msg.ToolCalls) == 0 {
					t.Fatalf("no tool calls: %q", msg.Content)
				}
				for _, tc := range msg.ToolCalls {
					clientSaw.Write([]byte(tc.Function.Arguments))
				}
				params.Messages = append(params.Messages, msg.ToParam())
				for _, tc := range msg.ToolCalls {
					params.Messages = append(params.Messages, openai.ToolMessage(`{"answer":"`+canary(label+"_tool_result")+`"}`, tc.ID))
				}
				params.ToolChoice = openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("auto")}
				resp, err = oa.Chat.Completions.New(ctx, params)
				if err != nil {
					t.Fatal(err)
				}
				clientSaw.Write([]byte(resp.Choices[0].Message.Content))
			})
			t.Run(model+"/messages", func(t *testing.T) {
				t.Parallel()
				params := messageParams(model, "Please repeat "+canary(label+"_messages"))
				st := an.Messages.NewStreaming(ctx, params)
				defer st.Close()
				var msg anthropic.Message
				for st.Next() {
					msg.Accumulate(st.Current())
				}
				if err := st.Err(); err != nil {
					t.Fatal(err)
				}
				clientSaw.Write([]byte(messageText(&msg)))
			})
		}
		for _, model := range []string{embedOpenAI, embedGemini, embedSim} {
			label := strings.NewReplacer("/", "_", "-", "_", ".", "_").Replace(model)
			t.Run(model, func(t *testing.T) {
				t.Parallel()
				in := []string{"Embed " + canary(label+"_a"), "Embed " + canary(label+"_b")}
				if _, err := oa.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: model, Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: in}}); err != nil {
					t.Fatal(err)
				}
			})
		}
	})

	// Positive controls: the canaries went upstream and came back, the
	// scanner sees them, and the server logged at debug level.
	var upstream []byte
	for _, f := range []*fakeupstream.Server{ts.OpenAI, ts.Anthropic, ts.Gemini} {
		for _, r := range f.Requests() {
			upstream = append(upstream, r.RawBody...)
		}
	}
	for _, c := range canaries {
		if strings.Contains(c, "sim") || strings.Contains(c, "model_name") || strings.Contains(c, "upstream_error_body") ||
			strings.Contains(c, "gemini") && strings.Contains(c, "enduser") {
			continue // never sent to a fake (Gemini has no field for the end user)
		}
		if !bytes.Contains(upstream, []byte(c)) {
			t.Errorf("canary %s never reached a fake upstream: the test would not see it leak", c)
		}
	}
	if got := len(canaryRE.FindAll(clientSaw.Bytes(), -1)); got < 10 {
		t.Errorf("only %d canaries came back to the client in answers; the echo is not working", got)
	}
	stderrText := ts.Stderr.Bytes()
	if !bytes.Contains(stderrText, []byte("level=DEBUG")) || !bytes.Contains(stderrText, []byte("level=INFO")) {
		t.Errorf("stderr holds no debug-level log lines; the scan of the logs would prove little:\n%s", stderrText)
	}

	metrics := ts.get(t, "/metrics")
	if !bytes.Contains(metrics, []byte("octomesh_")) {
		t.Errorf("GET /metrics returned no OctoMesh metrics:\n%s", metrics)
	}
	checkNoCanary(t, canaryRE, "GET /metrics", metrics)

	// Secrets get the same treatment: the admin key is stored as a hash,
	// provider keys only live in memory.
	secretRE := regexp.MustCompile(regexp.QuoteMeta(ts.AdminKey) + "|" + regexp.QuoteMeta(ts.OpenAI.Key()) + "|" +
		regexp.QuoteMeta(ts.Anthropic.Key()) + "|" + regexp.QuoteMeta(ts.Gemini.Key()))
	checkNoCanary(t, secretRE, "GET /metrics", metrics)

	scanDataDir(t, canaryRE, ts.DataDir, "while running")
	scanDataDir(t, secretRE, ts.DataDir, "while running")
	ts.stop() // flushes and checkpoints the database
	for _, out := range []struct {
		name string
		data []byte
	}{{"stdout", ts.Stdout.Bytes()}, {"stderr", ts.Stderr.Bytes()}} {
		checkNoCanary(t, canaryRE, out.name, out.data)
		checkNoCanary(t, secretRE, out.name, out.data)
	}
	scanDataDir(t, canaryRE, ts.DataDir, "after shutdown")
	scanDataDir(t, secretRE, ts.DataDir, "after shutdown")
}

// findLeaks returns each distinct match of re in data, with some context.
func findLeaks(re *regexp.Regexp, data []byte) []string {
	seen := map[string]bool{}
	var out []string
	for _, loc := range re.FindAllIndex(data, -1) {
		c := string(data[loc[0]:loc[1]])
		if seen[c] {
			continue
		}
		seen[c] = true
		lo, hi := max(loc[0]-160, 0), min(loc[1]+80, len(data))
		out = append(out, fmt.Sprintf("%s\n\tcontext: %q", c, data[lo:hi]))
	}
	sort.Strings(out)
	return out
}

// checkNoCanary fails the test for every match of re in data.
func checkNoCanary(t *testing.T, re *regexp.Regexp, where string, data []byte) {
	t.Helper()
	for _, leak := range findLeaks(re, data) {
		t.Errorf("leaked into %s: %s", where, leak)
	}
}

// scanDir returns the leaks in every file under dir, prefixed by the file's
// path, and how many files it read.
func scanDir(re *regexp.Regexp, dir string) (leaks []string, files int, err error) {
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		rel, _ := filepath.Rel(dir, path)
		for _, l := range findLeaks(re, b) {
			leaks = append(leaks, rel+": "+l)
		}
		return nil
	})
	return leaks, files, err
}

// scanDataDir checks every file under dir.
func scanDataDir(t *testing.T, re *regexp.Regexp, dir, when string) {
	t.Helper()
	leaks, n, err := scanDir(re, dir)
	if err != nil {
		t.Fatalf("scan %s: %v", dir, err)
	}
	if n == 0 {
		t.Errorf("the data directory holds no files %s; nothing was scanned", when)
	}
	for _, l := range leaks {
		t.Errorf("leaked into data file (%s) %s", when, l)
	}
}

// TestScanDirFindsCanaries is the scanner's own positive control: a canary
// in a nested binary file is found.
func TestScanDirFindsCanaries(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	data := append([]byte{0, 1, 2, 0xff}, []byte("xxCANARY-ABC-probe_1\x00yy")...)
	if err := os.WriteFile(filepath.Join(sub, "probe.db-wal"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	leaks, files, err := scanDir(regexp.MustCompile(`CANARY-ABC-[a-z0-9_]+`), dir)
	if err != nil || files != 1 || len(leaks) != 1 || !strings.HasPrefix(leaks[0], filepath.Join("a", "b", "probe.db-wal")+": CANARY-ABC-probe_1") {
		t.Errorf("scanDir = %q, %d files, %v; want the probe's canary", leaks, files, err)
	}
}

// get fetches path from the server without credentials.
func (ts *testServer) get(t *testing.T, path string) []byte {
	t.Helper()
	resp, err := http.Get(ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return b
}
