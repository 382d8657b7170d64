package router

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
)

// feedTTFB ends successes on name with TTFBs of the given milliseconds.
func feedTTFB(r *Router, name string, ms ...int) {
	for _, v := range ms {
		ttfb := time.Duration(v) * time.Millisecond
		r.Begin(name).End(Outcome{TTFB: ttfb, Duration: ttfb + time.Second, OutputTokens: 50})
	}
}

func seq(from, to int) []int {
	var out []int
	for v := from; v <= to; v++ {
		out = append(out, v)
	}
	return out
}

func TestTTFBPercentiles(t *testing.T) {
	r, _ := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a")}})
	ms := seq(1, 100)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
	feedTTFB(r, "a", ms...)
	s := r.Stats("a")
	got := []time.Duration{s.TTFBP50, s.TTFBP90, s.TTFBP99}
	want := []time.Duration{50 * time.Millisecond, 90 * time.Millisecond, 99 * time.Millisecond}
	if !cmp.Equal(got, want) {
		t.Errorf("p50/p90/p99 of 1..100ms = %v, want %v", got, want)
	}
	// The window keeps the last 128: after 1..200 it holds 73..200.
	r2, _ := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a")}})
	feedTTFB(r2, "a", seq(1, 200)...)
	s = r2.Stats("a")
	got = []time.Duration{s.TTFBP50, s.TTFBP90, s.TTFBP99}
	want = []time.Duration{136 * time.Millisecond, 188 * time.Millisecond, 199 * time.Millisecond}
	if !cmp.Equal(got, want) || s.TTFBSamples != 200 {
		t.Errorf("after 1..200ms: p50/p90/p99 = %v (%d samples), want %v (200)", got, s.TTFBSamples, want)
	}
}

func TestFastestUsesLiveStats(t *testing.T) {
	r, _ := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a"), dep("b")}})
	opts := octomesh.RouteOptions{Objective: octomesh.ObjectiveFastest}
	first := func() string {
		p, err := r.Decide(chat("auto"), opts, KeyScope{})
		if err != nil {
			t.Fatal(err)
		}
		return p.Attempts[0].Deployment.Name
	}
	feedTTFB(r, "a", 300)
	feedTTFB(r, "b", 400)
	if got := first(); got != "a" {
		t.Fatalf("fastest = %s, want a (300ms vs 400ms)", got)
	}
	// a degrades; its EWMA moves past b's.
	feedTTFB(r, "a", 2000, 2000, 2000)
	if got := first(); got != "b" {
		t.Fatalf("fastest after a slowed = %s, want b", got)
	}
}

// TestFastestTail: with equal EWMAs, the deployment with the heavier tail
// is slower.
func TestFastestTail(t *testing.T) {
	r, _ := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("steady"), dep("spiky")},
		Stats: StatsConfig{Alpha: 1}}) // EWMA = last sample
	steady, spiky := []int{}, []int{}
	for i := range 40 {
		steady = append(steady, 500)
		v := 100
		if i%4 == 0 {
			v = 3000
		}
		spiky = append(spiky, v)
	}
	spiky = append(spiky, 500)
	feedTTFB(r, "steady", steady...)
	feedTTFB(r, "spiky", spiky...)
	p, err := r.Decide(chat("auto"), octomesh.RouteOptions{Objective: octomesh.ObjectiveFastest}, KeyScope{})
	if err != nil {
		t.Fatal(err)
	}
	// Both: EWMA 500ms + 50 tokens at 50 tok/s (1s). spiky's p90 is 3000ms: + 0.5 × 2500.
	want := []octomesh.CandidateScore{
		{Deployment: "steady", Quality: 0.5, ExpectedCost: 110_000, ExpectedLatency: 1500, Score: -1500},
		{Deployment: "spiky", Quality: 0.5, ExpectedCost: 110_000, ExpectedLatency: 2750, Score: -2750},
	}
	if diff := cmp.Diff(want, p.Decision.Candidates); diff != "" {
		t.Errorf("candidates (-want +got):\n%s", diff)
	}
}

func TestHedgeSpec(t *testing.T) {
	cfg := func(gc GroupConfig) Config {
		gc.Name = "g"
		gc.Strategy = StrategyObjective
		return Config{Deployments: []octomesh.Deployment{
			dep("a", price("1", "1"), groups("g", "nohedge")),
			dep("b", price("2", "2"), groups("g", "nohedge")),
		}, Groups: []GroupConfig{gc}}
	}
	tests := []struct {
		name    string
		gc      GroupConfig
		samples int // TTFB samples 1..n ms fed to a
		model   string
		opts    octomesh.RouteOptions
		want    HedgeSpec
	}{
		{"p90 of live TTFB", GroupConfig{Hedge: true, HedgePercentile: 0.9}, 100, "g", octomesh.RouteOptions{}, HedgeSpec{Enabled: true, After: 90 * time.Millisecond}},
		{"default percentile 0.9", GroupConfig{Hedge: true}, 100, "g", octomesh.RouteOptions{}, HedgeSpec{Enabled: true, After: 90 * time.Millisecond}},
		{"p75", GroupConfig{Hedge: true, HedgePercentile: 0.75}, 100, "g", octomesh.RouteOptions{}, HedgeSpec{Enabled: true, After: 75 * time.Millisecond}},
		{"too few samples", GroupConfig{Hedge: true}, 19, "g", octomesh.RouteOptions{}, HedgeSpec{}},
		{"delay until samples", GroupConfig{Hedge: true, HedgeDelay: 250 * time.Millisecond}, 19, "g", octomesh.RouteOptions{}, HedgeSpec{Enabled: true, After: 250 * time.Millisecond}},
		{"options turn it off", GroupConfig{Hedge: true}, 100, "g", octomesh.RouteOptions{Hedge: ptr(false)}, HedgeSpec{}},
		{"group without hedging", GroupConfig{}, 100, "g", octomesh.RouteOptions{}, HedgeSpec{}},
		{"other group", GroupConfig{Hedge: true}, 100, "nohedge", octomesh.RouteOptions{}, HedgeSpec{}},
		{"a deployment", GroupConfig{Hedge: true}, 100, "a", octomesh.RouteOptions{}, HedgeSpec{}},
		{"nothing to hedge to", GroupConfig{Hedge: true}, 100, "g", octomesh.RouteOptions{Regions: []string{"us"}, MaxCostUSD: "0.0003"}, HedgeSpec{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := newRouter(t, cfg(tt.gc))
			feedTTFB(r, "a", seq(1, tt.samples)...)
			p, err := r.Decide(chat(tt.model), tt.opts, KeyScope{})
			if err != nil {
				t.Fatal(err)
			}
			if p.Hedge != tt.want {
				t.Errorf("hedge = %+v, want %+v (plan %v)", p.Hedge, tt.want, planNames(p))
			}
		})
	}
}

func TestAttemptTimeouts(t *testing.T) {
	prefill10 := 200 * time.Millisecond * time.Duration(chat("a").EstimateTokens()) / 1000
	tests := []struct {
		name string
		ttfb int // ms, 25 samples; 0 for none
		n    int
		opts octomesh.RouteOptions
		want Timeouts
	}{
		{"no samples", 0, 0, octomesh.RouteOptions{}, Timeouts{Connect: 10 * time.Second, FirstByte: 30 * time.Second, Idle: 30 * time.Second, Total: 10 * time.Minute}},
		{"too few samples", 1000, 19, octomesh.RouteOptions{}, Timeouts{Connect: 10 * time.Second, FirstByte: 30 * time.Second, Idle: 30 * time.Second, Total: 10 * time.Minute}},
		// chat("a") is a prompt of about 10 tokens: 2 ms of prefill allowance.
		{"3 × p99", 1000, 25, octomesh.RouteOptions{}, Timeouts{Connect: 10 * time.Second, FirstByte: 3*time.Second + prefill10, Idle: 30 * time.Second, Total: 10 * time.Minute}},
		{"floor", 100, 25, octomesh.RouteOptions{}, Timeouts{Connect: 10 * time.Second, FirstByte: 2*time.Second + prefill10, Idle: 30 * time.Second, Total: 10 * time.Minute}},
		{"cap", 20_000, 25, octomesh.RouteOptions{}, Timeouts{Connect: 10 * time.Second, FirstByte: 30 * time.Second, Idle: 30 * time.Second, Total: 10 * time.Minute}},
		{"request budget", 0, 0, octomesh.RouteOptions{TimeoutMS: 5000}, Timeouts{Connect: 5 * time.Second, FirstByte: 5 * time.Second, Idle: 5 * time.Second, Total: 5 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a")}})
			for range tt.n {
				feedTTFB(r, "a", tt.ttfb)
			}
			p, err := r.Decide(chat("a"), tt.opts, KeyScope{})
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Attempts[0].Timeouts; got != tt.want {
				t.Errorf("timeouts = %+v, want %+v", got, tt.want)
			}
		})
	}
}
