package quality

import (
	"bufio"
	"bytes"
	"compress/gzip"
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
	per := 800
	if testing.Short() || raceEnabled {
		per = 300
	}
	var files []DataFile
	for i, p := range paths {
		files = append(files, DataFile{Name: names[i], Examples: subsample(t, p, per)})
	}
	cfg := DefaultTrainConfig()
	cfg.Features.Bits = 16
	cfg.InnerFolds = 0
	ev, err := CrossValidate(t.Context(), files, EvalConfig{Folds: 2, Train: cfg, Steps: 21}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Small samples: each file's predictions must not be much worse than
	// the per-model means, and all files together must be better.
	var ll, base float64
	for _, f := range ev.Files {
		r := f.Overall
		ll += r.LogLoss * float64(r.Prompts)
		base += r.BaseLogLoss * float64(r.Prompts)
		if r.LogLoss > r.BaseLogLoss+0.02 {
			t.Errorf("%s: log loss %.4f, worse than the per-model means' %.4f", f.Name, r.LogLoss, r.BaseLogLoss)
		}
		first, last := r.Curve[0], r.Curve[len(r.Curve)-1]
		if !(first.Cost < last.Cost) {
			t.Errorf("%s: the tradeoff sweep does not raise cost: %v → %v", f.Name, first, last)
		}
		if r.Prompts == 0 || len(r.Models) < 2 {
			t.Errorf("%s: %d prompts, %d models", f.Name, r.Prompts, len(r.Models))
		}
	}
	if !(ll < base) {
		t.Errorf("pooled log loss %.4f, not better than the per-model means' %.4f", ll, base)
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

// subsample returns n examples evenly spaced through a gzipped data file,
// decoding only those lines.
func subsample(t *testing.T, path string, n int) []Example {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, maxLine)
	var lines [][]byte
	for sc.Scan() {
		lines = append(lines, bytes.Clone(sc.Bytes()))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var keep bytes.Buffer
	for k := 0; k < n && k < len(lines); k++ {
		keep.Write(lines[k*len(lines)/min(n, len(lines))])
		keep.WriteByte('\n')
	}
	ex, err := ReadExamples(&keep)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return ex
}
