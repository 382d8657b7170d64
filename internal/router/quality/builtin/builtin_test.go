package builtin

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/octomesh/octomesh/internal/router/quality"
)

func TestBuiltinRouter(t *testing.T) {
	start := time.Now()
	r, err := Router()
	if err != nil {
		t.Fatalf("Router: %v", err)
	}
	t.Logf("built-in router: %d models, %.2f MB, decoded in %v", len(r.Models()), float64(Size())/(1<<20), time.Since(start))
	// It knows the models of all four shared data files.
	for _, m := range []string{"gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1", "gemini-1.5-pro-002", "qwen2.5-7b-instruct", "zero-one-ai/Yi-34B-Chat"} {
		if !r.Known(m) {
			t.Errorf("built-in router does not know %s", m)
		}
	}
	cands := []string{"gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"}
	cheap := r.Choose("What is 2+2?", cands, 0)
	best := r.Choose("What is 2+2?", cands, 1)
	if cheap == "" || best == "" {
		t.Fatalf("Choose returned %q and %q", cheap, best)
	}
	c1, _ := r.ExpectedCost("What is 2+2?", cheap)
	c2, _ := r.ExpectedCost("What is 2+2?", best)
	if c1 > c2 {
		t.Errorf("tradeoff 0 chose %s ($%g), dearer than tradeoff 1's %s ($%g)", cheap, c1, best, c2)
	}
	if c, ok := r.ExpectedCost("Summarise this paragraph for me.", "gpt-4-1106-preview"); !ok || c <= 0 || c > 0.1 {
		t.Errorf("ExpectedCost(gpt-4) = %g, %v; want a plausible positive cost", c, ok)
	}
}

// prompts2KB returns n varied synthetic prompts of about 2 KB: the fallback
// when the shared routing data is not at hand.
func prompts2KB(n int) []string {
	rng := rand.New(rand.NewPCG(1, 1))
	words := strings.Fields(`the of and to in is was for on that with as by at from which what how why
		river theorem function integral matrix court contract patient protein market equation python
		answer question following statement correct option explain describe compute write code list
		A. B. C. D. 12 3.5 100 x = y + 2 ( ) ; { } return def print because however therefore`)
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		for b.Len() < 2048 {
			b.WriteString(words[rng.IntN(len(words))])
			if rng.IntN(12) == 0 {
				b.WriteByte('\n')
			} else {
				b.WriteByte(' ')
			}
		}
		out[i] = b.String()[:2048]
	}
	return out
}

// dataDir is where the shared routing data lives (OCTOMESH_ROUTING_DATA,
// else ../shared/data/routing beside the checkout).
func dataDir() string {
	if d := os.Getenv("OCTOMESH_ROUTING_DATA"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "..", "..", "shared", "data", "routing")
}

// realPrompts2KB returns perFile real prompts of 2,048 bytes from each
// shared data file: consecutive prompts of the file (every 7th, so
// neighbours differ) joined by blank lines until there are 2 KB, of which
// the last 2,048 bytes (cut at a UTF-8 boundary) are kept, so every prompt
// ends with a real question. nil when the data is not there.
func realPrompts2KB(perFile int) []string {
	var out []string
	for _, name := range []string{"routerbench", "routellm", "mmlupro", "llmrouter"} {
		f, err := os.Open(filepath.Join(dataDir(), name+".jsonl.gz"))
		if err != nil {
			return nil
		}
		ex, err := quality.ReadExamples(f)
		f.Close()
		if err != nil || len(ex) < 7*perFile {
			return nil
		}
		for i := 0; i < perFile; i++ {
			var p string
			for k := 7 * i; len(p) < 2048; k = (k + 1) % len(ex) {
				if p != "" {
					p += "\n\n"
				}
				p += ex[k].Prompt
			}
			p = p[len(p)-2048:]
			for len(p) > 0 && !utf8.RuneStart(p[0]) {
				p = p[1:]
			}
			out = append(out, p)
		}
	}
	return out
}

// BenchmarkDecide measures one decision (featurisation, prediction for
// each candidate, expected costs, the choice) for a 2 KB prompt and 12
// candidates, cycling over 512 different real prompts (synthetic ones when
// the shared data is missing), and reports the p50, p99 and p99.9 wall
// latency of single decisions besides the mean, and the mean CPU time of a
// decision (on a busy machine the wall figures include waiting for a CPU).
func BenchmarkDecide(b *testing.B) {
	r, err := Router()
	if err != nil {
		b.Fatal(err)
	}
	models := r.Models()
	slices.Sort(models)
	if len(models) < 12 {
		b.Fatalf("only %d models", len(models))
	}
	// Twelve candidates spread over the model list (several data files).
	var cands []string
	for i := 0; i < 12; i++ {
		cands = append(cands, models[i*len(models)/12])
	}
	prompts := realPrompts2KB(128)
	if prompts == nil {
		b.Logf("shared routing data not found in %s: synthetic prompts", dataDir())
		prompts = prompts2KB(512)
	}
	lat := make([]time.Duration, 0, 1<<20)
	// The data loading above leaves garbage: collect it now, not during
	// the measured loop. The loop keeps to one OS thread so that the
	// thread's CPU time is the decisions' CPU time.
	runtime.GC()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	i := 0
	var cpu0 int64
	for b.Loop() {
		if i == 0 {
			cpu0, _ = threadCPU()
		}
		t0 := time.Now()
		if r.Choose(prompts[i%len(prompts)], cands, 0.5) == "" {
			b.Fatal("no choice")
		}
		if len(lat) < cap(lat) {
			lat = append(lat, time.Since(t0))
		}
		i++
	}
	if cpu1, ok := threadCPU(); ok && i > 0 {
		b.ReportMetric(float64(cpu1-cpu0)/float64(i)/1e3, "cpu-µs/op")
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) / 1e3 }
		b.ReportMetric(q(0.5), "p50-µs")
		b.ReportMetric(q(0.99), "p99-µs")
		b.ReportMetric(q(0.999), "p99.9-µs")
	}
}

func BenchmarkLoad(b *testing.B) {
	b.SetBytes(int64(Size()))
	for b.Loop() {
		if _, err := Router(); err != nil {
			b.Fatal(err)
		}
	}
}

func ExampleRouter() {
	r, err := Router()
	if err != nil {
		panic(err)
	}
	m := r.ChooseFloor("Translate 'good morning' into French.", []string{"gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"}, 0.95)
	fmt.Println(m != "")
	// Output: true
}
