package quality

import (
	"math"
	"os"
	"strings"
	"testing"
)

func TestReadExamples(t *testing.T) {
	in := `{"id": "1", "dataset": "d", "prompt": "p1", "models": {"b": {"score": 1, "cost_usd": 0.5, "tokens_in": 10}, "a": {"score": 0.25}}}

{"id": "2", "dataset": "d", "prompt": "p2", "models": {"a": {"cost_usd": 1}}}
{"id": "3", "dataset": "d", "prompt": "p3", "models": {"a": {"score": 0, "price_in_per_mtok": 2.5}}}
`
	ex, err := ReadExamples(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	// Example 2 has no scored outcome and is dropped.
	if len(ex) != 2 || ex[0].ID != "1" || ex[1].ID != "3" {
		t.Fatalf("got %d examples %v, want ids 1 and 3", len(ex), ex)
	}
	if got := ex[0].Models(); got[0] != "a" || got[1] != "b" {
		t.Errorf("outcomes not sorted by model: %v", got)
	}
	b := ex[0].Outcome("b")
	if b == nil || b.Score != 1 || b.Cost != 0.5 || b.TokensIn != 10 || !math.IsNaN(b.TokensOut) {
		t.Errorf("outcome b = %+v", b)
	}
	if p := ex[1].Outcome("a").PriceIn; math.Abs(p-2.5e-6) > 1e-15 {
		t.Errorf("price per token = %g, want 2.5e-6 (2.5 per million)", p)
	}
	if ex[0].Outcome("zzz") != nil {
		t.Error("Outcome of a missing model is not nil")
	}
	for _, bad := range []struct{ in, want string }{
		{`{"id": "1", "prompt": "p", "models": {}}` + "\n{oops}\n", "line 2: invalid JSON"},
		{`{"id": "1", "models": {"a": {"score": 1}}}`, "line 1: missing prompt"},
		{`{"id": "1", "prompt": "p", "models": {"a": {"score": "x"}}}`, `line 1: model "a"`},
	} {
		if _, err := ReadExamples(strings.NewReader(bad.in)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ReadExamples(%.30q) error = %v, want %q", bad.in, err, bad.want)
		}
	}
}

func TestLoadFilesGzip(t *testing.T) {
	path := writeSynthFile(t, t.TempDir(), "synthetic", synthExamples(30, 3))
	files, err := LoadFiles([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	if files[0].Name != "synthetic" || len(files[0].Examples) != 30 {
		t.Errorf("got %s with %d examples, want synthetic with 30", files[0].Name, len(files[0].Examples))
	}
	if _, err := LoadFiles([]string{path + ".missing"}); !os.IsNotExist(err) {
		t.Errorf("LoadFiles(missing) error = %v, want not-exist", err)
	}
}
