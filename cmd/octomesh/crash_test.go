package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/apikey"
	"github.com/octomesh/octomesh/internal/fakeupstream"
	"github.com/octomesh/octomesh/internal/sqlite"
)

// TestLedgerSurvivesSIGKILL runs the real binary under concurrent load
// (plain and streamed requests), kills it with SIGKILL at random moments,
// restarts it, and repeats. Afterwards every response a client received in
// full has exactly one ok ledger entry whose tokens are those the fake
// upstream reported; no request id has two entries for one attempt; and the
// ledger's ok entries never outnumber the answers the upstream gave.
func TestLedgerSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	bin := buildTestBinary(t)
	fake := fakeupstream.NewOpenAI(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "octomesh.yaml")
	cfg := fmt.Sprintf(`server: {listen: "127.0.0.1:0"}
data_dir: %q
log: {level: warn}
sim: {enabled: false}
providers:
  - {name: fake, type: openai, base_url: %q, api_key: %q}
models:
  - {provider: fake, upstream_model: gpt-crash, context_window: 100000, max_output_tokens: 1000,
     capabilities: [streaming], price: {input: "0.15", output: "0.60"}, aliases: [crash]}
`, filepath.Join(dir, "data"), fake.BaseURL(), fake.Key())
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	admin := mintRawKey(t)

	type delivered struct {
		id               string
		prompt, complete int64
	}
	var (
		mu   sync.Mutex
		done []delivered
	)
	const rounds = 6
	for round := 0; round < rounds; round++ {
		proc, base := startBinary(t, bin, cfgPath, admin)
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var sent atomic.Int64
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					sent.Add(1)
					id, pt, ct, ok := crashRequest(ctx, base, admin, (w+i)%3 == 0)
					if ok {
						mu.Lock()
						done = append(done, delivered{id, pt, ct})
						mu.Unlock()
					}
				}
			}(w)
		}
		// Kill at a random moment under load (300–900 ms in).
		var b [1]byte
		rand.Read(b[:])
		time.Sleep(300*time.Millisecond + time.Duration(b[0])*600*time.Millisecond/256)
		proc.Process.Signal(syscall.SIGKILL)
		proc.Wait()
		stop()
		wg.Wait()
		t.Logf("round %d: %d requests sent, %d delivered in total so far", round, sent.Load(), len(done))
	}
	// A last clean start replays anything spooled, then stops.
	proc, _ := startBinary(t, bin, cfgPath, admin)
	proc.Process.Signal(syscall.SIGTERM)
	proc.Wait()

	if len(done) < 50 {
		t.Fatalf("only %d responses delivered; the load did not run", len(done))
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "data", "octomesh.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	entries := allEntries(t, db)
	byReq := map[string][]octomesh.LedgerEntry{}
	okEntries := 0
	for _, e := range entries {
		byReq[e.RequestID] = append(byReq[e.RequestID], e)
		if e.Outcome == "ok" {
			okEntries++
		}
	}
	for id, es := range byReq {
		seen := map[int]bool{}
		for _, e := range es {
			if seen[e.Attempt] {
				t.Errorf("request %s attempt %d has two ledger entries", id, e.Attempt)
			}
			seen[e.Attempt] = true
		}
	}
	for _, d := range done {
		var oks []octomesh.LedgerEntry
		for _, e := range byReq[d.id] {
			if e.Outcome == "ok" {
				oks = append(oks, e)
			}
		}
		if len(oks) != 1 {
			t.Errorf("delivered response %s has %d ok ledger entries, want 1", d.id, len(oks))
			continue
		}
		if oks[0].PromptTokens != d.prompt || oks[0].CompletionTokens != d.complete || oks[0].Estimated {
			t.Errorf("response %s: ledger tokens %d/%d (estimated %v), the upstream reported %d/%d",
				d.id, oks[0].PromptTokens, oks[0].CompletionTokens, oks[0].Estimated, d.prompt, d.complete)
		}
	}
	answered := 0
	for _, r := range fake.Requests() {
		if r.Path == "/v1/chat/completions" {
			answered++
		}
	}
	if okEntries > answered {
		t.Errorf("%d ok ledger entries but the upstream answered only %d requests", okEntries, answered)
	}
	t.Logf("%d rounds of SIGKILL: %d responses delivered, %d ledger entries (%d ok), upstream answered %d",
		rounds, len(done), len(entries), okEntries, answered)
}

// crashRequest sends one chat request and reports whether the whole
// response arrived (for a stream: through [DONE]) with the usage in it.
func crashRequest(ctx context.Context, base, key string, stream bool) (id string, prompt, completion int64, ok bool) {
	body := `{"model":"crash","messages":[{"role":"user","content":"count the ledger"}],"max_tokens":50}`
	if stream {
		body = `{"model":"crash","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"count the ledger"}],"max_tokens":50}`
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		time.Sleep(20 * time.Millisecond) // the server is down: wait for the restart
		return "", 0, 0, false
	}
	defer resp.Body.Close()
	id = resp.Header.Get("X-Request-Id")
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return "", 0, 0, false
	}
	var usage struct {
		PromptTokens     int64 `json:"prompt_tokens"`
		CompletionTokens int64 `json:"completion_tokens"`
	}
	if !stream {
		var out struct {
			Usage *json.RawMessage `json:"usage"`
		}
		raw, err := io.ReadAll(resp.Body)
		if err != nil || json.Unmarshal(raw, &out) != nil || out.Usage == nil || json.Unmarshal(*out.Usage, &usage) != nil {
			return "", 0, 0, false
		}
		return id, usage.PromptTokens, usage.CompletionTokens, true
	}
	sc := bufio.NewScanner(resp.Body)
	gotUsage := false
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte("data: ")) {
			continue
		}
		data := line[6:]
		if string(data) == "[DONE]" {
			return id, usage.PromptTokens, usage.CompletionTokens, gotUsage
		}
		var c struct {
			Usage *json.RawMessage `json:"usage"`
		}
		if json.Unmarshal(data, &c) == nil && c.Usage != nil && string(*c.Usage) != "null" {
			gotUsage = json.Unmarshal(*c.Usage, &usage) == nil
		}
	}
	return "", 0, 0, false
}

func allEntries(t *testing.T, db *sqlite.DB) []octomesh.LedgerEntry {
	t.Helper()
	var out []octomesh.LedgerEntry
	var after int64
	for {
		page, err := db.Entries(context.Background(), defaultOrgID, octomesh.EntryFilter{AfterSeq: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		after = page[len(page)-1].Seq
	}
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// buildTestBinary builds ./cmd/octomesh once per test run.
func buildTestBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "octomesh-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "octomesh")
		out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// startBinary starts `octomesh serve` and waits until it listens.
func startBinary(t *testing.T, bin, cfgPath, adminKey string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "OCTOMESH_ADMIN_KEY="+adminKey)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), "listening on http://"); ok {
				a, _, _ := strings.Cut(rest, " ")
				addr <- a
			}
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			t.Fatalf("octomesh serve exited before listening:\n%s", stderr.Bytes())
		}
		return cmd, "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatalf("octomesh serve did not listen within 30s:\n%s", stderr.Bytes())
	}
	return nil, ""
}

func mintRawKey(t *testing.T) string {
	t.Helper()
	raw, err := apikey.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
