package online

import (
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newLearner(t *testing.T, cfg Config) *Learner {
	t.Helper()
	if cfg.Clusters == 0 {
		cfg.Clusters = 4
	}
	if cfg.Models == nil {
		cfg.Models = []string{"cheap", "mid", "dear"}
	}
	if cfg.Now == nil {
		cfg.Now = newClock().Now // a stopped clock: nothing decays
	}
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12 }

func observe(t *testing.T, l *Learner, cluster int, model string, score float64, times int) {
	t.Helper()
	for range times {
		if _, err := l.Observe(cluster, model, score, ""); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBlendShrinksTowardsTheObservedMean(t *testing.T) {
	clk := newClock()
	l := newLearner(t, Config{Now: clk.Now}) // k = 10
	models := []string{"cheap", "mid", "unknown"}

	q := []float64{0.8, 0.6, 0.7}
	l.Blend(1, models, q)
	if q[0] != 0.8 || q[1] != 0.6 || q[2] != 0.7 {
		t.Fatalf("without feedback: %v, want the predictions unchanged", q)
	}

	observe(t, l, 1, "cheap", 0, 5)   // five thumbs down
	observe(t, l, 1, "mid", 1, 10)    // ten thumbs up
	observe(t, l, 2, "cheap", 1, 100) // another cluster: must not count in cluster 1
	q = []float64{0.8, 0.6, 0.7}
	l.Blend(1, models, q)
	for i, want := range []float64{
		(10*0.8 + 0) / (10 + 5), // 0.5333…
		(10*0.6 + 10) / (10 + 10),
		0.7, // no statistics: unchanged
	} {
		if !near(q[i], want) {
			t.Errorf("%s: posterior %.15f, want %.15f", models[i], q[i], want)
		}
	}

	// A lot of feedback overrides the prior: 990 zeros leave 1% of it.
	observe(t, l, 1, "cheap", 0, 985)
	q = []float64{0.8}
	l.Blend(1, []string{"cheap"}, q)
	if want := 10 * 0.8 / 1000; !near(q[0], want) {
		t.Errorf("after 990 zeros: %.15f, want %.15f", q[0], want)
	}
	// Out-of-range clusters leave predictions alone.
	q = []float64{0.8}
	l.Blend(4, []string{"cheap"}, q)
	l.Blend(-1, []string{"cheap"}, q)
	if q[0] != 0.8 {
		t.Errorf("out-of-range cluster changed the prediction to %v", q[0])
	}
}

func TestObservationsDecayByHalfLife(t *testing.T) {
	clk := newClock()
	l := newLearner(t, Config{Now: clk.Now, HalfLife: time.Hour, PriorWeight: 2})
	observe(t, l, 0, "mid", 1, 4)
	if w, mean, _ := l.Stats(0, "mid"); w != 4 || mean != 1 {
		t.Fatalf("fresh: weight %v mean %v, want 4 and 1", w, mean)
	}
	clk.Add(time.Hour)
	if w, mean, _ := l.Stats(0, "mid"); !near(w, 2) || !near(mean, 1) {
		t.Errorf("one half-life later: weight %v mean %v, want 2 and 1", w, mean)
	}
	q := []float64{0}
	l.Blend(0, []string{"mid"}, q)
	if want := (2*0 + 2.0) / (2 + 2); !near(q[0], want) {
		t.Errorf("posterior after one half-life: %v, want %v", q[0], want)
	}
	// New feedback adds to the decayed old: 2 + one zero = weight 3, mean 2/3.
	observe(t, l, 0, "mid", 0, 1)
	if w, mean, _ := l.Stats(0, "mid"); !near(w, 3) || !near(mean, 2.0/3) {
		t.Errorf("after one more zero: weight %v mean %v, want 3 and 2/3", w, mean)
	}
	clk.Add(10 * time.Hour)
	if w, _, _ := l.Stats(0, "mid"); !near(w, 3.0/1024) {
		t.Errorf("ten half-lives later: weight %v, want 3/1024", w)
	}
	// A clock going backwards does not inflate the weight.
	clk.Add(-20 * time.Hour)
	if w, _, _ := l.Stats(0, "mid"); w != 3 {
		t.Errorf("clock before the last update: weight %v, want 3 (no decay)", w)
	}
}

func TestWeightIsCapped(t *testing.T) {
	clk := newClock()
	l := newLearner(t, Config{Now: clk.Now, MaxWeight: 10})
	observe(t, l, 3, "dear", 1, 10)
	observe(t, l, 3, "dear", 0, 10)
	w, mean, ok := l.Stats(3, "dear")
	if !ok || w != 10 {
		t.Fatalf("weight %v ok %v, want capped at 10", w, ok)
	}
	// Each zero past the cap scales the cell by 10/11 and adds 0: the
	// mean after ten zeros is (10/11)^10.
	if want := math.Pow(10.0/11, 10); !near(mean, want) {
		t.Errorf("mean %.15f, want %.15f", mean, want)
	}
}

func TestRetractUndoesAnObservation(t *testing.T) {
	clk := newClock()
	l := newLearner(t, Config{Now: clk.Now, HalfLife: time.Hour})
	observe(t, l, 1, "cheap", 1, 3)
	o, err := l.Observe(1, "cheap", 0.2, "too_long")
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	l.Retract(o)
	w, mean, _ := l.Stats(1, "cheap")
	if !near(w, 1.5) || !near(mean, 1) {
		t.Errorf("after retracting: weight %v mean %v, want 1.5 and 1 (the three ones, decayed by half)", w, mean)
	}
	if got := l.Snapshot().Labels; len(got) != 0 {
		t.Errorf("labels after retracting: %+v, want none", got)
	}
	// Retracting everything empties the cell; the zero Observation is a no-op.
	l.Retract(Observation{})
	for range 3 {
		l.Retract(Observation{cluster: 1, model: 0, score: 1, at: clk.Now().Add(-time.Hour).UnixNano()})
	}
	if w, mean, _ := l.Stats(1, "cheap"); w != 0 || mean != 0 {
		t.Errorf("after retracting all: weight %v mean %v, want 0 and 0", w, mean)
	}
}

func TestObserveRejectsBadInput(t *testing.T) {
	l := newLearner(t, Config{})
	for _, tt := range []struct {
		name    string
		cluster int
		model   string
		score   float64
		label   string
		code    octomesh.ErrorCode
	}{
		{"unknown model", 0, "nope", 0.5, "", octomesh.ENOTFOUND},
		{"negative cluster", -1, "cheap", 0.5, "", octomesh.EINVALID},
		{"cluster past the end", 4, "cheap", 0.5, "", octomesh.EINVALID},
		{"score above 1", 0, "cheap", 1.01, "", octomesh.EINVALID},
		{"negative score", 0, "cheap", -0.01, "", octomesh.EINVALID},
		{"NaN score", 0, "cheap", math.NaN(), "", octomesh.EINVALID},
		{"label with a space", 0, "cheap", 0.5, "wrong answer", octomesh.EINVALID},
		{"long label", 0, "cheap", 0.5, strings.Repeat("x", 65), octomesh.EINVALID},
	} {
		if _, err := l.Observe(tt.cluster, tt.model, tt.score, tt.label); octomesh.ErrorCodeOf(err) != tt.code {
			t.Errorf("%s: error %v, want code %s", tt.name, err, tt.code)
		}
	}
	if s := l.Snapshot(); len(s.Cells) != 0 || len(s.Labels) != 0 {
		t.Errorf("rejected feedback left statistics: %+v", s)
	}
}

func TestLabelsAreBounded(t *testing.T) {
	l := newLearner(t, Config{MaxLabels: 2})
	for _, lb := range []string{"wrong", "wrong", "too_long", "rude", "slow"} {
		if _, err := l.Observe(0, "cheap", 0, lb); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Observe(0, "mid", 1, "wrong"); err != nil {
		t.Fatal(err)
	}
	got := l.Snapshot().Labels
	want := []LabelCount{{"cheap", "_other", 2}, {"cheap", "too_long", 1}, {"cheap", "wrong", 2}, {"mid", "_other", 1}}
	if len(got) != len(want) {
		t.Fatalf("labels %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("label %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no clusters", Config{Models: []string{"a"}}, "clusters"},
		{"no models", Config{Clusters: 1}, "models"},
		{"duplicate model", Config{Clusters: 1, Models: []string{"a", "a"}}, `lists "a" twice`},
		{"empty model", Config{Clusters: 1, Models: []string{""}}, "empty name"},
		{"rate above 1", Config{Clusters: 1, Models: []string{"a"}, ExploreRate: 1.5}, "explore_rate"},
		{"negative prior weight", Config{Clusters: 1, Models: []string{"a"}, PriorWeight: -1}, "prior_weight"},
		{"NaN ratio", Config{Clusters: 1, Models: []string{"a"}, MaxCostRatio: math.NaN()}, "max_cost_ratio"},
		{"too many clusters", Config{Clusters: 5000, Models: []string{"a"}}, "clusters"},
	} {
		_, err := New(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tt.name, err, tt.want)
		}
	}
}

func TestClusterFuncIsClamped(t *testing.T) {
	l := newLearner(t, Config{})
	if got := l.Cluster("anything"); got != 0 {
		t.Errorf("no cluster func: %d, want 0", got)
	}
	l = newLearner(t, Config{Cluster: func(p string) int { return len(p) - 1 }})
	for p, want := range map[string]int{"": 0, "a": 0, "abc": 2, "abcd": 3, "abcde": 0} {
		if got := l.Cluster(p); got != want {
			t.Errorf("Cluster(%q) = %d, want %d", p, got, want)
		}
	}
}

// TestConcurrentUse runs decisions and feedback together under -race and
// checks no update is lost.
func TestConcurrentUse(t *testing.T) {
	l := newLearner(t, Config{ExploreRate: 0.5})
	var wg sync.WaitGroup
	const writers, each = 4, 500
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, err := l.Observe(1, "mid", float64(i%2), "w"+string(rune('0'+w))); err != nil {
					t.Error(err)
					return
				}
			}
		})
		wg.Go(func() {
			cands := []Candidate{{"cheap", 10}, {"mid", 20}, {"dear", 30}}
			q := make([]float64, 3)
			for range each {
				q[0], q[1], q[2] = 0.5, 0.5, 0.5
				l.Blend(1, []string{"cheap", "mid", "dear"}, q)
				if q[1] < 0 || q[1] > 1 {
					t.Errorf("posterior %v out of [0,1]", q[1])
					return
				}
				if i := l.Explore(1, cands, 0, false); i == 0 || i >= len(cands) {
					t.Errorf("explore index %d", i)
					return
				}
			}
		})
	}
	wg.Wait()
	w, mean, _ := l.Stats(1, "mid")
	if w != writers*each || mean != 0.5 {
		t.Errorf("weight %v mean %v, want %d and 0.5", w, mean, writers*each)
	}
}
