package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// routerData writes a small synthetic routing data file: "cheap" is good at
// geography prompts, "smart" at everything but costs 20×.
func routerData(t *testing.T, dir string, n int) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	geo := strings.Fields("river mountain forest valley ocean island desert glacier")
	maths := strings.Fields("theorem integral matrix vector eigenvalue derivative lemma proof")
	path := filepath.Join(dir, "synthetic.jsonl.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	for i := 0; i < n; i++ {
		words, cheapSkill := geo, 0.9
		if i%2 == 1 {
			words, cheapSkill = maths, 0.1
		}
		var p []string
		for k := 0; k < 15; k++ {
			p = append(p, words[rng.IntN(len(words))], "the")
		}
		prompt := strings.Join(p, " ")
		score := func(skill float64) float64 {
			if rng.Float64() < skill {
				return 1
			}
			return 0
		}
		tin := float64(len(prompt)) / 4
		row := map[string]any{
			"id": fmt.Sprintf("s%d", i), "dataset": []string{"geo", "maths"}[i%2], "prompt": prompt,
			"models": map[string]any{
				"cheap": map[string]any{"score": score(cheapSkill), "cost_usd": 1e-7 * (tin + 20), "tokens_in": tin, "tokens_out": 20},
				"smart": map[string]any{"score": score(0.95), "cost_usd": 2e-6 * (tin + 20), "tokens_in": tin, "tokens_out": 20},
			},
		}
		b, _ := json.Marshal(row)
		zw.Write(append(b, '\n'))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// runRouter runs "octomesh router args…" and returns stdout, stderr, error.
func runRouter(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), append([]string{"router"}, args...), func(string) string { return "" }, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

const fastTrain = "features.bits=14,inner_folds=2,lr.rate=0.1"

func TestRouterTrainDecideEndToEnd(t *testing.T) {
	dir := t.TempDir()
	data := routerData(t, dir, 300)
	model := filepath.Join(dir, "router.bin")
	out, stderr, err := runRouter(t, "train", "--data", data, "--out", model, "--set", fastTrain)
	if err != nil {
		t.Fatalf("router train: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "wrote "+model) || !strings.Contains(stderr, "100%") {
		t.Errorf("train output %q, progress %q; want a summary and a finished progress bar", out, stderr)
	}

	// Decide: order preserved, ids echoed, unknown candidates choosable.
	var in strings.Builder
	var wantIDs []any
	for i := 0; i < 200; i++ {
		prompt := "river the mountain the forest the valley the ocean the island the desert the glacier the river the forest the"
		if i%2 == 1 {
			prompt = "theorem the integral the matrix the lemma the proof the vector the derivative the eigenvalue the theorem the proof the"
		}
		cands := []string{"cheap", "smart"}
		if i%10 == 0 {
			cands = []string{"unknown-1", "unknown-2"}
		}
		id := any(fmt.Sprintf("id-%d", i))
		if i%3 == 0 {
			id = float64(i)
		}
		wantIDs = append(wantIDs, id)
		b, _ := json.Marshal(map[string]any{"id": id, "prompt": prompt, "candidates": cands})
		in.Write(append(b, '\n'))
	}
	inPath := filepath.Join(dir, "prompts.jsonl")
	if err := os.WriteFile(inPath, []byte(in.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	outPath := filepath.Join(dir, "decisions.jsonl")
	// The quality-floor form: "at least 80% of the best predicted quality,
	// cheapest first" sends geography to cheap and maths to smart.
	if _, stderr, err := runRouter(t, "decide", "--model", model, "--in", inPath, "--out", outPath, "--floor", "0.8"); err != nil {
		t.Fatalf("router decide: %v\n%s", err, stderr)
	}
	b, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var gotIDs []any
	for i, l := range lines {
		var d struct {
			ID    any    `json:"id"`
			Model string `json:"model"`
		}
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("output line %d: %v", i+1, err)
		}
		gotIDs = append(gotIDs, d.ID)
		want := map[bool]string{true: "cheap", false: "smart"}[i%2 == 0]
		if i%10 == 0 {
			want = "unknown-1"
		}
		if d.Model != want {
			t.Errorf("line %d: chose %q, want %q", i+1, d.Model, want)
		}
	}
	if diff := cmp.Diff(wantIDs, gotIDs); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}

	// Tradeoff 1 sends everything known to the best predicted model, 0 to
	// the cheapest, and the share of smart grows in between.
	prevSmart := -1
	for _, tr := range []string{"0", "0.25", "0.5", "0.75", "1"} {
		out, _, err = runRouter(t, "decide", "--model", model, "--in", inPath, "--tradeoff", tr)
		if err != nil {
			t.Fatal(err)
		}
		n := strings.Count(out, `"model":"smart"`)
		switch {
		case tr == "0" && n != 0:
			t.Errorf("tradeoff 0 chose smart on %d lines, want none", n)
		case tr == "1" && n < 170:
			t.Errorf("tradeoff 1 chose smart on %d of 180 known lines, want nearly all", n)
		case n < prevSmart:
			t.Errorf("tradeoff %s chose smart on %d lines, fewer than the lower tradeoff's %d", tr, n, prevSmart)
		}
		prevSmart = n
	}

	// A bad line fails with its line number, and no output file appears.
	bad := in.String() + "{\"id\": \"x\", \"prompt\": \"p\"}\n"
	badPath := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(badPath, []byte(bad), 0o600)
	badOut := filepath.Join(dir, "bad-out.jsonl")
	_, _, err = runRouter(t, "decide", "--model", model, "--in", badPath, "--out", badOut)
	if err == nil || !strings.Contains(err.Error(), "line 201") {
		t.Errorf("decide on a bad line: error %v, want one naming line 201", err)
	}
	if _, statErr := os.Stat(badOut); !os.IsNotExist(statErr) {
		t.Errorf("a failed decide left %s behind", badOut)
	}
	// A corrupt artifact is rejected with a clear error.
	corrupt := filepath.Join(dir, "corrupt.bin")
	art, _ := os.ReadFile(model)
	art[len(art)/2] ^= 1
	os.WriteFile(corrupt, art, 0o600)
	if _, _, err := runRouter(t, "decide", "--model", corrupt, "--in", inPath); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("decide with a corrupt artifact: error %v, want a checksum error", err)
	}
}

func TestRouterEvalCommand(t *testing.T) {
	dir := t.TempDir()
	data := routerData(t, dir, 200)
	plot := filepath.Join(dir, "curves.svg")
	out, stderr, err := runRouter(t, "eval", "--data", data, "--folds", "2", "--plot", plot, "--quiet", "--set", "features.bits=14,inner_folds=0,lr.rate=0.1")
	if err != nil {
		t.Fatalf("router eval: %v\n%s", err, stderr)
	}
	for _, want := range []string{"2-fold cross-validation", "== synthetic: 200 prompts, 2 models ==", "APGR", "per task"} {
		if !strings.Contains(out, want) {
			t.Errorf("eval output lacks %q:\n%s", want, out)
		}
	}
	svg, err := os.ReadFile(plot)
	if err != nil || !bytes.HasPrefix(svg, []byte("<svg")) {
		t.Errorf("plot: %v, %.40q", err, svg)
	}
}

func TestRouterUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"nope"},
		{"train"},
		{"eval"},
		{"train", "--data", "x", "--out", "y", "--set", "no.such=1"},
		{"decide", "--tradeoff", "2"},
		{"decide", "--floor", "0.9", "--max-cost", "1"},
	} {
		_, _, err := runRouter(t, args...)
		var ue usageError
		if err == nil || !errors.As(err, &ue) {
			t.Errorf("router %v: error %v, want a usage error", args, err)
		}
	}
}
