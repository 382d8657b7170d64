package router

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
)

// rankFixture: A is cheap, slow and mediocre; B mid-priced, fast and good;
// C dear, medium and best. Each has one sample: 100 output tokens at 100
// tokens/s, so the expected latency is TTFB + 1000ms.
func rankFixture(t *testing.T, q QualityPredictor) *Router {
	t.Helper()
	r, _ := newRouter(t, Config{
		Deployments: []octomesh.Deployment{
			dep("A", price("0.1", "0.2")),
			dep("B", price("1", "2")),
			dep("C", price("10", "20")),
		},
		QualityPriors: map[string]float64{"A": 0.6, "B": 0.9, "C": 1.0},
		Quality:       q,
	})
	for name, ttfb := range map[string]time.Duration{"A": 2 * time.Second, "B": 100 * time.Millisecond, "C": 500 * time.Millisecond} {
		r.Begin(name).End(Outcome{TTFB: ttfb, Duration: ttfb + time.Second, OutputTokens: 100})
	}
	return r
}

func TestObjectives(t *testing.T) {
	r := rankFixture(t, nil)
	tests := []struct {
		name   string
		opts   octomesh.RouteOptions
		want   []string
		scores []float64 // optional
	}{
		// 10 prompt + 100 output tokens: A $0.000021, B $0.00021, C $0.0021.
		{"cheapest", octomesh.RouteOptions{Objective: octomesh.ObjectiveCheapest}, []string{"A", "B", "C"}, []float64{-0.000021, -0.00021, -0.0021}},
		{"fastest", octomesh.RouteOptions{Objective: octomesh.ObjectiveFastest}, []string{"B", "C", "A"}, []float64{-1100, -1500, -3000}},
		// Floor 0.9 × best 1.0: B and C qualify, B is cheaper; A trails.
		{"quality", octomesh.RouteOptions{Objective: octomesh.ObjectiveQuality}, []string{"B", "C", "A"}, []float64{2, 1, 0.6}},
		{"quality, tradeoff 1", octomesh.RouteOptions{Objective: octomesh.ObjectiveQuality, Tradeoff: ptr(1.0)}, []string{"C", "B", "A"}, []float64{2, 1, 0.6}},
		{"quality, low floor", octomesh.RouteOptions{Objective: octomesh.ObjectiveQuality, QualityFloor: ptr(0.5)}, []string{"A", "B", "C"}, nil},
		{"weighted latency", octomesh.RouteOptions{Objective: octomesh.ObjectiveWeighted, Weights: &octomesh.Weights{Latency: 1}}, []string{"B", "C", "A"}, nil},
		{"weighted quality", octomesh.RouteOptions{Objective: octomesh.ObjectiveWeighted, Weights: &octomesh.Weights{Quality: 1}}, []string{"C", "B", "A"}, nil},
		{"weighted cost", octomesh.RouteOptions{Objective: octomesh.ObjectiveWeighted, Weights: &octomesh.Weights{Cost: 1}}, []string{"A", "B", "C"}, nil},
		// Equal weights: A (0+1+0)/3, B (0.75+0.909+1)/3, C (1+0+0.789)/3.
		{"weighted even", octomesh.RouteOptions{Objective: octomesh.ObjectiveWeighted}, []string{"B", "C", "A"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := r.Decide(chat("auto"), tt.opts, KeyScope{})
			if err != nil {
				t.Fatal(err)
			}
			if got := planNames(p); !cmp.Equal(got, tt.want) {
				t.Errorf("plan = %v, want %v", got, tt.want)
			}
			if tt.scores != nil {
				var got []float64
				for _, c := range p.Decision.Candidates {
					got = append(got, c.Score)
				}
				if !cmp.Equal(got, tt.scores, cmp.Comparer(func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 })) {
					t.Errorf("scores = %v, want %v", got, tt.scores)
				}
			}
			if p.Decision.Objective != tt.opts.Objective {
				t.Errorf("decision objective = %q, want %q", p.Decision.Objective, tt.opts.Objective)
			}
		})
	}
}

func TestDefaultObjectiveFromConfig(t *testing.T) {
	r, _ := newRouter(t, Config{
		Deployments: []octomesh.Deployment{dep("dear", price("5", "5")), dep("cheap", price("1", "1"))},
		Defaults:    octomesh.RouteOptions{Objective: octomesh.ObjectiveCheapest},
	})
	p, err := r.Decide(chat("auto"), octomesh.RouteOptions{}, KeyScope{})
	if err != nil {
		t.Fatal(err)
	}
	if got := planNames(p); !cmp.Equal(got, []string{"cheap", "dear"}) || p.Decision.Objective != octomesh.ObjectiveCheapest {
		t.Errorf("plan %v objective %q, want [cheap dear] cheapest", got, p.Decision.Objective)
	}
}

// fakePredictor returns fixed qualities by name and records its calls.
type fakePredictor struct {
	mu      sync.Mutex
	q       map[string]float64
	prompts []string
	short   bool // set no value
}

func (f *fakePredictor) Predict(prompt string, deployments []string, out []float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prompts = append(f.prompts, prompt)
	if f.short {
		return
	}
	for i, d := range deployments {
		out[i] = f.q[d]
	}
}

func TestQualityPredictor(t *testing.T) {
	fp := &fakePredictor{q: map[string]float64{"A": 1.0, "B": 0.2, "C": 0.3}}
	r := rankFixture(t, fp)
	req := chat("auto")
	req.Messages = []octomesh.Message{
		{Role: octomesh.RoleSystem, Content: octomesh.TextContent("be brief")},
		{Role: octomesh.RoleUser, Content: octomesh.TextContent("first question")},
		{Role: octomesh.RoleAssistant, Content: octomesh.TextContent("answer")},
		{Role: octomesh.RoleUser, Content: octomesh.TextContent("prove the lemma")},
	}
	p, err := r.Decide(req, octomesh.RouteOptions{Objective: octomesh.ObjectiveQuality}, KeyScope{})
	if err != nil {
		t.Fatal(err)
	}
	if got := planNames(p); !cmp.Equal(got, []string{"A", "C", "B"}) {
		t.Errorf("plan = %v, want [A C B] (the predictor's order)", got)
	}
	if !cmp.Equal(fp.prompts, []string{"prove the lemma"}) {
		t.Errorf("predictor saw prompts %q, want the last user message", fp.prompts)
	}
	// Cheapest does not consult the (possibly expensive) predictor.
	if _, err := r.Decide(req, octomesh.RouteOptions{Objective: octomesh.ObjectiveCheapest}, KeyScope{}); err != nil {
		t.Fatal(err)
	}
	if len(fp.prompts) != 1 {
		t.Errorf("predictor called %d times, want 1", len(fp.prompts))
	}
	// A predictor that sets no value falls back to the priors.
	fp.short = true
	p, err = r.Decide(req, octomesh.RouteOptions{Objective: octomesh.ObjectiveQuality}, KeyScope{})
	if err != nil {
		t.Fatal(err)
	}
	if got := planNames(p); !cmp.Equal(got, []string{"B", "C", "A"}) {
		t.Errorf("plan with a short predictor = %v, want the priors' [B C A]", got)
	}
}

func TestExpectedOutputTokens(t *testing.T) {
	r, _ := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a", price("0", "1"))}})
	cost := func(req *octomesh.ChatRequest) octomesh.Money {
		p, err := r.Decide(req, octomesh.RouteOptions{}, KeyScope{})
		if err != nil {
			t.Fatal(err)
		}
		return p.Decision.Candidates[0].ExpectedCost
	}
	// $1 per Mtok of output: 1000 nano-dollars per token.
	if got, want := cost(chat("a")), octomesh.Money(256_000); got != want {
		t.Errorf("cost before samples = %d, want %d (256 default tokens)", got, want)
	}
	r.Begin("a").End(Outcome{OutputTokens: 40, Duration: time.Second})
	if got, want := cost(chat("a")), octomesh.Money(40_000); got != want {
		t.Errorf("cost after one 40-token answer = %d, want %d", got, want)
	}
	req := chat("a")
	req.MaxTokens = ptr(1000)
	if got, want := cost(req), octomesh.Money(1_000_000); got != want {
		t.Errorf("cost with max_tokens 1000 = %d, want %d", got, want)
	}
}
