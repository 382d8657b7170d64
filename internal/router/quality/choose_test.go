package quality

import (
	"math"
	"math/rand/v2"
	"testing"
)

// On a fixed set of prompts, the total expected cost (and, prompt by
// prompt, the chosen model's expected cost) never decreases as the
// tradeoff grows, T=0 picks the cheapest candidate and T=1 the best
// predicted one.
func TestChooseMonotoneInTradeoff(t *testing.T) {
	r := trainSynth(t, "lr", 600)
	rng := rand.New(rand.NewPCG(11, 11))
	cands := []string{"cheap", "smart", "coder"}
	var prompts []string
	for i := 0; i < 60; i++ {
		prompts = append(prompts, synthPrompt(rng, synthTopicNames[i%3]))
	}
	prevTotal := -1.0
	distinct := map[string]bool{}
	prev := make([]float64, len(prompts))
	for step := 0; step <= 50; step++ {
		tr := float64(step) / 50
		total := 0.0
		for i, p := range prompts {
			m := r.Choose(p, cands, tr)
			distinct[m] = true
			c, ok := r.ExpectedCost(p, m)
			if !ok {
				t.Fatalf("Choose returned %q, unknown to ExpectedCost", m)
			}
			if c < prev[i]-1e-15 {
				t.Errorf("prompt %d: expected cost fell from %g to %g when tradeoff rose to %.2f", i, prev[i], c, tr)
			}
			prev[i] = c
			total += c
		}
		if total < prevTotal-1e-12 {
			t.Errorf("tradeoff %.2f: total expected cost %g < %g at the previous step", tr, total, prevTotal)
		}
		prevTotal = total
	}
	if len(distinct) < 3 {
		t.Errorf("the sweep chose only %v; want all three models somewhere on the curve", distinct)
	}
	for _, p := range prompts {
		est := r.Estimate(p, cands)
		cheapest, best := 0, 0
		for j, e := range est {
			if e.CostUSD < est[cheapest].CostUSD {
				cheapest = j
			}
			if e.Quality > est[best].Quality {
				best = j
			}
		}
		// T=0: the cheapest, unless another is nearly as cheap and far better
		// ("cheapest acceptable"); on this data that never happens.
		if got := r.Choose(p, cands, 0); got != cands[cheapest] {
			t.Errorf("Choose(T=0) = %s, want the cheapest %s", got, cands[cheapest])
		}
		if got := r.Choose(p, cands, 1); got != cands[best] {
			t.Errorf("Choose(T=1) = %s, want the best predicted %s", got, cands[best])
		}
	}
}

func TestChooseFloorAndCap(t *testing.T) {
	q := []float64{0.5, 0.9, 0.86, 0.2}
	c := []float64{1, 10, 4, 0.5}
	for _, tc := range []struct {
		floor float64
		want  int
	}{
		{1, 1}, {0.95, 2}, {0.5, 0}, {0, 3},
	} {
		if got := chooseFloor(q, c, tc.floor); got != tc.want {
			t.Errorf("chooseFloor(floor %.2f) = %d, want %d", tc.floor, got, tc.want)
		}
	}
	for _, tc := range []struct {
		cap  float64
		want int
	}{
		{100, 1}, {5, 2}, {1, 0}, {0.5, 3}, {0.1, 3}, // nothing fits under 0.1: the cheapest
	} {
		if got := chooseCapped(q, c, tc.cap); got != tc.want {
			t.Errorf("chooseCapped(cap %.2f) = %d, want %d", tc.cap, got, tc.want)
		}
	}
	// chooseLambda: λ=0 → best quality; huge λ → cheapest; ties → cheaper.
	if got := chooseLambda(q, c, 0, 1); got != 1 {
		t.Errorf("chooseLambda(λ=0) = %d, want 1", got)
	}
	if got := chooseLambda(q, c, 1e6, 1); got != 3 {
		t.Errorf("chooseLambda(λ=1e6) = %d, want 3", got)
	}
	if got := chooseLambda([]float64{0.7, 0.7}, []float64{2, 1}, 0, 1); got != 1 {
		t.Errorf("chooseLambda(tie) = %d, want the cheaper 1", got)
	}
}

func TestLambdaMapping(t *testing.T) {
	r := trainSynth(t, "lr", 300)
	if len(r.lambdaKnots) < 2 {
		t.Fatalf("no calibrated tradeoff mapping (inner folds %d)", fastConfig("lr").InnerFolds)
	}
	prev := math.Inf(1)
	for i := 0; i <= 100; i++ {
		l := r.Lambda(float64(i) / 100)
		if l > prev || l < 0 {
			t.Fatalf("Lambda(%.2f) = %g after %g: want non-increasing and ≥ 0", float64(i)/100, l, prev)
		}
		prev = l
	}
	if r.Lambda(1) != 0 {
		t.Errorf("Lambda(1) = %g, want 0", r.Lambda(1))
	}
	if r.Lambda(-3) != r.Lambda(0) || r.Lambda(7) != r.Lambda(1) || r.Lambda(math.NaN()) != r.Lambda(0.5) {
		t.Error("Lambda does not clamp out-of-range tradeoffs")
	}
}

func TestChooseEdgeCases(t *testing.T) {
	r := trainSynth(t, "lr", 200)
	if got := r.Choose("hi", nil, 0.5); got != "" {
		t.Errorf("Choose(no candidates) = %q, want empty", got)
	}
	if got := r.ChooseFloor("hi", nil, 0.9); got != "" {
		t.Errorf("ChooseFloor(no candidates) = %q, want empty", got)
	}
	if got := r.ChooseCapped("hi", nil, 1); got != "" {
		t.Errorf("ChooseCapped(no candidates) = %q, want empty", got)
	}
	// Unknown candidates get the known ones' mean prediction and median
	// cost, and are choosable: alone, or among each other.
	if got := r.Choose("", []string{"new-a"}, 0.3); got != "new-a" {
		t.Errorf("Choose(one unknown) = %q, want new-a", got)
	}
	if got := r.Choose("x", []string{"new-a", "new-b"}, 1); got != "new-a" {
		t.Errorf("Choose(two unknowns) = %q, want the first, new-a", got)
	}
	q := r.Predict("a river and a forest", []string{"cheap", "smart", "mystery"})
	if want := (q[0] + q[1]) / 2; math.Abs(q[2]-want) > 1e-12 {
		t.Errorf("Predict(unknown) = %v, want the known candidates' mean %v", q[2], want)
	}
	if q := r.Predict("x", []string{"mystery"}); q[0] != r.Prior() {
		t.Errorf("Predict(only unknown) = %v, want the prior %v", q[0], r.Prior())
	}
	// Deterministic: the same call gives the same answer.
	for i := 0; i < 20; i++ {
		if a, b := r.Choose("a river and a theorem", []string{"cheap", "smart", "coder", "x"}, 0.6), r.Choose("a river and a theorem", []string{"cheap", "smart", "coder", "x"}, 0.6); a != b {
			t.Fatalf("Choose is not deterministic: %s then %s", a, b)
		}
	}
}
