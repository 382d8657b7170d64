package online

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/octomesh/octomesh"
)

// seeded returns a deterministic Rand safe for concurrent use.
func seeded(seed uint64) func() float64 {
	var mu sync.Mutex
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		return r.Float64()
	}
}

// TestExploreRateIsBounded makes 100,000 auto decisions with a seeded RNG
// and checks: the explorations stay within the budget (at most burst +
// rate·N) and near the configured rate; every explored index is one of
// the candidates passed in, never the router's own choice, within the
// request's cost cap and the cost ratio; and the least-observed candidate
// is the one explored.
func TestExploreRateIsBounded(t *testing.T) {
	const (
		n     = 100_000
		rate  = 0.05
		burst = 5
	)
	l := newLearner(t, Config{Clusters: 2, Models: []string{"a", "b", "c", "d", "e"}, ExploreRate: rate, ExploreBurst: burst,
		MinObservations: 1e9, // never enough: every eligible candidate stays explorable
		MaxCostRatio:    3, Rand: seeded(1)})
	observe(t, l, 1, "a", 1, 2) // the cluster gets feedback, so it is explored
	observe(t, l, 1, "b", 1, 1) // b has one observation, c none: c goes first
	// The request's candidates, router's choice first. "d" is over the
	// request's cost cap of 50; "e" costs more than 3× the choice; "x" is
	// unknown to the learner.
	cands := []Candidate{{"a", 10}, {"b", 20}, {"x", 1}, {"d", 60}, {"c", 25}, {"e", 31}}
	counts := map[int]int{}
	for range n {
		if i := l.Explore(1, cands, 50, true); i >= 0 {
			counts[i]++
		}
	}
	explored := 0
	for i, k := range counts {
		explored += k
		if i != 4 {
			t.Errorf("explored candidate %d (%s) %d times; only c (index 4), the least observed eligible one, may be", i, cands[i].Model, k)
		}
	}
	if explored > burst+rate*n {
		t.Errorf("explored %d of %d, over the budget %v", explored, n, burst+rate*n)
	}
	// The seeded run: 4,555 explorations, 4.56%: the coin allows 5%, and
	// the budget, refilled at the same rate, clips its lucky streaks.
	if explored != 4555 {
		t.Errorf("explored %d of %d with seed 1, want 4555", explored, n)
	}
	snap := l.Snapshot()
	if snap.Decisions != n || snap.Explored != int64(explored) {
		t.Errorf("counters: %d decisions, %d explored; want %d and %d", snap.Decisions, snap.Explored, n, explored)
	}
}

// TestExploreBudgetHoldsUnderABurst: with the coin always saying yes, the
// budget alone bounds explorations to burst + rate·N over any prefix.
func TestExploreBudgetHoldsUnderABurst(t *testing.T) {
	const rate, burst = 0.02, 3
	l := newLearner(t, Config{ExploreRate: rate, ExploreBurst: burst, MinObservations: 1e9, Rand: func() float64 { return 0 }})
	observe(t, l, 0, "cheap", 1, 1)
	cands := []Candidate{{"cheap", 1}, {"mid", 2}}
	explored := 0
	for i := 1; i <= 1000; i++ {
		if l.Explore(0, cands, 0, false) >= 0 {
			explored++
		}
		if limit := burst + rate*float64(i); float64(explored) > limit+1e-9 {
			t.Fatalf("after %d decisions %d explorations, over %v", i, explored, limit)
		}
	}
	// 3 banked, plus 0.02 per later decision: ⌊3 + 0.02·999⌋ = 22 (the
	// first decision's refill finds the budget full).
	if explored != 22 {
		t.Errorf("explored %d of 1000, want 22", explored)
	}
}

func TestExploreChoosesOnlyWhereItCanLearn(t *testing.T) {
	always := func() float64 { return 0 }
	cands := []Candidate{{"cheap", 100}, {"mid", 200}, {"dear", 1000}}
	t.Run("no feedback in the cluster", func(t *testing.T) {
		l := newLearner(t, Config{Rand: always})
		observe(t, l, 2, "cheap", 1, 5) // another cluster
		if i := l.Explore(1, cands, 0, false); i != -1 {
			t.Errorf("explored %d in a cluster without feedback", i)
		}
	})
	t.Run("everywhere when MinClusterWeight is negative", func(t *testing.T) {
		l := newLearner(t, Config{Rand: always, MinClusterWeight: -1})
		if i := l.Explore(1, cands, 0, false); i != 1 {
			t.Errorf("explored %d, want 1 (mid: within 4× the choice's cost; dear is 10×)", i)
		}
	})
	t.Run("well-observed candidates are not explored", func(t *testing.T) {
		l := newLearner(t, Config{Rand: always, MaxCostRatio: -1})
		observe(t, l, 1, "mid", 1, 10) // MinObservations: 10
		observe(t, l, 1, "dear", 1, 9)
		if i := l.Explore(1, cands, 0, false); i != 2 {
			t.Errorf("explored %d, want 2 (dear: 9 observations < 10; no cost ratio)", i)
		}
		observe(t, l, 1, "dear", 1, 1)
		if i := l.Explore(1, cands, 0, false); i != -1 {
			t.Errorf("explored %d with every candidate observed 10 times", i)
		}
	})
	t.Run("the request's cost cap holds", func(t *testing.T) {
		l := newLearner(t, Config{Rand: always, MaxCostRatio: -1, MinClusterWeight: -1})
		if i := l.Explore(1, cands, 199, true); i != -1 {
			t.Errorf("explored %d over the cost cap of 199", i)
		}
		if i := l.Explore(1, cands, 200, true); i != 1 {
			t.Errorf("explored %d, want 1 (exactly at the cap)", i)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		l := newLearner(t, Config{Rand: always, ExploreRate: -1, MinClusterWeight: -1})
		if i := l.Explore(1, cands, 0, false); i != -1 {
			t.Errorf("explored %d with exploration disabled", i)
		}
		if l.Snapshot().Decisions != 0 {
			t.Errorf("disabled exploration counted decisions")
		}
	})
	t.Run("a single candidate", func(t *testing.T) {
		l := newLearner(t, Config{Rand: always, MinClusterWeight: -1})
		if i := l.Explore(1, cands[:1], 0, false); i != -1 {
			t.Errorf("explored %d with one candidate", i)
		}
	})
}

// TestExploreNeverPicksAnIneligibleCandidate draws random candidate lists
// (subsets of the models, random costs and caps) and checks every answer.
func TestExploreNeverPicksAnIneligibleCandidate(t *testing.T) {
	models := []string{"m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"}
	r := rand.New(rand.NewPCG(7, 8))
	l := newLearner(t, Config{Models: models, Clusters: 3, ExploreRate: 1, ExploreBurst: 1e6, MinClusterWeight: -1, Rand: seeded(3)})
	for i := range 2000 {
		if i%3 == 0 {
			observe(t, l, r.IntN(3), models[r.IntN(len(models))], r.Float64(), 1)
		}
		k := 1 + r.IntN(len(models))
		perm := r.Perm(len(models))[:k]
		cands := make([]Candidate, k)
		for j, p := range perm {
			cands[j] = Candidate{models[p], octomesh.Money(r.IntN(1000))}
		}
		capped := r.IntN(2) == 0
		costCap := octomesh.Money(r.IntN(1000))
		cluster := r.IntN(3)
		got := l.Explore(cluster, cands, costCap, capped)
		if got == -1 {
			continue
		}
		c := cands[got]
		w, _, _ := l.Stats(cluster, c.Model)
		switch {
		case got < 1 || got >= k:
			t.Fatalf("index %d of %d candidates", got, k)
		case capped && c.Cost > costCap:
			t.Fatalf("explored %s at cost %d over the cap %d", c.Model, c.Cost, costCap)
		case float64(c.Cost) > 4*float64(cands[0].Cost):
			t.Fatalf("explored %s at cost %d, over 4× the choice's %d", c.Model, c.Cost, cands[0].Cost)
		case w >= 10:
			t.Fatalf("explored %s with weight %v ≥ MinObservations", c.Model, w)
		}
	}
}
