package quality

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedData is the routing data directory of the shared workspace,
// relative to this package.
const sharedData = "../../../../shared/data/routing"

// TestIntegrationSharedData cross-validates a small, fast router on a
// subsample of each shared data file: the pipeline runs end to end on the
// real formats, the predictions beat each model's mean score, and the
// report and plot render. Full-size figures come from `octomesh router
// eval` (see docs/quality-router.md).
func TestIntegrationSharedData(t *testing.T) {
	names := []string{"routerbench", "routellm", "mmlupro", "llmrouter"}
	var paths []string
	for _, n := range names {
		p := filepath.Join(sharedData, n+".jsonl.gz")
		if _, err := os.Stat(p); err != nil {
			t.Skipf("shared routing data not available (%v); this test needs %s", err, sharedData)
		}
		paths = append(paths, p)
	}
	files, err := LoadFiles(paths)
	if err != nil {
		t.Fatal(err)
	}
	per := 600
	if testing.Short() {
		per = 250
	}
	for i := range files {
		// A deterministic subsample: every k-th example.
		ex := files[i].Examples
		step := max(1, len(ex)/per)
		var sub []Example
		for j := 0; j < len(ex); j += step {
			sub = append(sub, ex[j])
		}
		files[i].Examples = sub
	}
	cfg := DefaultTrainConfig()
	cfg.Features.Bits = 16
	cfg.InnerFolds = 0
	ev, err := CrossValidate(t.Context(), files, EvalConfig{Folds: 3, Train: cfg, Steps: 21}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range ev.Files {
		r := f.Overall
		if !(r.LogLoss < r.BaseLogLoss) {
			t.Errorf("%s: log loss %.4f, not better than the per-model means' %.4f", f.Name, r.LogLoss, r.BaseLogLoss)
		}
		first, last := r.Curve[0], r.Curve[len(r.Curve)-1]
		if !(first.Cost < last.Cost) {
			t.Errorf("%s: the tradeoff sweep does not raise cost: %v → %v", f.Name, first, last)
		}
		if r.Prompts == 0 || len(r.Models) < 2 {
			t.Errorf("%s: %d prompts, %d models", f.Name, r.Prompts, len(r.Models))
		}
	}
	var text, svg bytes.Buffer
	if err := ev.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"routerbench", "RouteLLM on mmlu", "RouteLLM on gsm8k", "per task"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if err := ev.WriteSVG(&svg); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(svg.String(), "<svg") || !strings.Contains(svg.String(), "polyline") {
		t.Errorf("plot is not an SVG with curves: %.80q", svg.String())
	}
}
