package builtin

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
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

// prompts2KB returns n varied prompts of about 2 KB.
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

// BenchmarkDecide measures one decision (featurisation, prediction for
// each candidate, expected costs, the choice) for a 2 KB prompt and 12
// candidates, over 512 different prompts, and reports the p50 and p99
// latency besides the mean.
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
	prompts := prompts2KB(512)
	lat := make([]time.Duration, 0, 1<<16)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		t0 := time.Now()
		if r.Choose(prompts[i%len(prompts)], cands, 0.5) == "" {
			b.Fatal("no choice")
		}
		if len(lat) < cap(lat) {
			lat = append(lat, time.Since(t0))
		}
		i++
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
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
