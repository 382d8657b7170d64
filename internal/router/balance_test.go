package router

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
)

// primaries counts each deployment's share of first places over n decisions.
func primaries(t *testing.T, r *Router, model string, n int) map[string]float64 {
	t.Helper()
	counts := map[string]float64{}
	for range n {
		p, err := r.Decide(chat(model), octomesh.RouteOptions{}, KeyScope{})
		if err != nil {
			t.Fatal(err)
		}
		counts[p.Attempts[0].Deployment.Name]++
	}
	for k := range counts {
		counts[k] /= float64(n)
	}
	return counts
}

func checkShares(t *testing.T, got, want map[string]float64, tol float64) {
	t.Helper()
	for name, w := range want {
		if math.Abs(got[name]-w) > tol {
			t.Errorf("share of %s = %.4f, want %.2f ± %.2f (all: %v)", name, got[name], w, tol, got)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected primary %s (all: %v)", name, got)
		}
	}
}

func TestWeightedBalancing(t *testing.T) {
	r, _ := newRouter(t, Config{Deployments: []octomesh.Deployment{
		dep("a", groups("g")), // weight 0 counts as 1
		dep("b", groups("g"), weight(2)),
		dep("c", groups("g"), weight(7)),
	}, Rand: seeded(42)})
	got := primaries(t, r, "g", 10_000)
	checkShares(t, got, map[string]float64{"a": 0.1, "b": 0.2, "c": 0.7}, 0.03)
}

// TestObjectiveTiesBalanceByWeight: under "auto", deployments with equal
// scores (the same model at two providers) share traffic by weight.
func TestObjectiveTiesBalanceByWeight(t *testing.T) {
	r, _ := newRouter(t, Config{Deployments: []octomesh.Deployment{
		dep("x1", weight(1)),
		dep("x2", weight(3)),
		dep("dear", price("9", "9")),
	}, Rand: seeded(7)})
	got := primaries(t, r, "auto", 10_000)
	checkShares(t, got, map[string]float64{"x1": 0.25, "x2": 0.75}, 0.03)
}

func TestPowerOfTwoChoices(t *testing.T) {
	r, _ := newRouter(t, Config{
		Deployments: []octomesh.Deployment{dep("a", groups("g")), dep("b", groups("g")), dep("c", groups("g"))},
		Groups:      []GroupConfig{{Name: "g", Strategy: StrategyLeastOutstanding}},
		Rand:        seeded(3),
	})
	busy := func(name string, n int) {
		for range n {
			r.Begin(name)
		}
	}
	busy("c", 10)
	got := primaries(t, r, "g", 6000)
	// The busiest member loses every pair it is drawn in.
	checkShares(t, got, map[string]float64{"a": 0.5, "b": 0.5}, 0.03)

	busy("b", 5)
	busy("a", 1)
	// Pairs {a,b} and {a,c} go to a, {b,c} to b.
	got = primaries(t, r, "g", 6000)
	checkShares(t, got, map[string]float64{"a": 2.0 / 3, "b": 1.0 / 3}, 0.03)

	p, err := r.Decide(chat("g"), octomesh.RouteOptions{}, KeyScope{})
	if err != nil {
		t.Fatal(err)
	}
	if last := p.Attempts[2].Deployment.Name; last != "c" {
		t.Errorf("last attempt = %s, want c, the most loaded", last)
	}
	outstanding := map[string]int{}
	for _, c := range p.Decision.Candidates {
		outstanding[c.Deployment] = c.Outstanding
	}
	if want := map[string]int{"a": 1, "b": 5, "c": 10}; !cmp.Equal(outstanding, want) {
		t.Errorf("recorded outstanding = %v, want %v", outstanding, want)
	}
}

// TestPowerOfTwoUsesWeight: load is outstanding requests per unit of weight.
func TestPowerOfTwoUsesWeight(t *testing.T) {
	r, _ := newRouter(t, Config{
		Deployments: []octomesh.Deployment{dep("small", groups("g")), dep("big", groups("g"), weight(10))},
		Groups:      []GroupConfig{{Name: "g", Strategy: StrategyLeastOutstanding}},
	})
	for range 2 {
		r.Begin("small")
	}
	for range 5 {
		r.Begin("big")
	}
	got := primaries(t, r, "g", 100)
	checkShares(t, got, map[string]float64{"big": 1}, 0)
}

func TestExplicitFallbacks(t *testing.T) {
	r, _ := newRouter(t, Config{
		Deployments: []octomesh.Deployment{
			dep("a", groups("g")),
			dep("b", groups("g")),
			dep("c"),
			dep("d", func(d *octomesh.Deployment) { d.Capabilities.Tools = false }),
			dep("e1", price("1", "1"), groups("fb")),
			dep("e2", price("2", "2"), groups("fb")),
		},
		Groups: []GroupConfig{{Name: "fb", Strategy: StrategyObjective}},
	})
	req := chat("g")
	req.Tools = []octomesh.Tool{{Type: "function", Function: octomesh.FunctionDef{Name: "f"}}}
	p, err := r.Decide(req, octomesh.RouteOptions{Fallbacks: []string{"c", "d", "a", "fb"}}, KeyScope{})
	if err != nil {
		t.Fatal(err)
	}
	got := planNames(p)
	if !cmp.Equal(sorted(got[:2]), []string{"a", "b"}) || !cmp.Equal(got[2:], []string{"c", "e1", "e2"}) {
		t.Errorf("plan = %v, want the group's a and b, then c, e1, e2 (d excluded, a not repeated)", got)
	}
	var flags []bool
	for _, a := range p.Attempts {
		flags = append(flags, a.Fallback)
	}
	if want := []bool{false, false, true, true, true}; !cmp.Equal(flags, want) {
		t.Errorf("fallback flags = %v, want %v", flags, want)
	}
	want := []octomesh.Exclusion{{Deployment: "d", Constraint: "capability:tools", Reason: "it does not support tools"}}
	if diff := cmp.Diff(want, p.Decision.Excluded); diff != "" {
		t.Errorf("excluded (-want +got):\n%s", diff)
	}

	// When every member of the requested name is excluded, the fallbacks
	// alone make the plan.
	req.Model = "d"
	p, err = r.Decide(req, octomesh.RouteOptions{Fallbacks: []string{"c"}}, KeyScope{})
	if err != nil {
		t.Fatal(err)
	}
	if got := planNames(p); !cmp.Equal(got, []string{"c"}) {
		t.Errorf("plan = %v, want [c]", got)
	}
}
