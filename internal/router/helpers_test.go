package router

import (
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
)

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct{ ns atomic.Int64 }

func newClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// seeded returns a deterministic Rand, safe for concurrent use.
func seeded(seed uint64) func() float64 {
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		return rng.Float64()
	}
}

// usd parses a dollar amount for test fixtures.
func usd(s string) octomesh.Money {
	m, err := octomesh.ParseMoney(s)
	if err != nil {
		panic(err)
	}
	return m
}

// dep returns a capable, compliant chat deployment: every capability but
// embeddings, 128k context, 16k output, $1/$2 per Mtok, region us, retains
// nothing and trains on nothing. Options adjust it.
func dep(name string, opts ...func(*octomesh.Deployment)) octomesh.Deployment {
	d := octomesh.Deployment{
		Name:            name,
		Provider:        "sim",
		UpstreamModel:   name + "-up",
		ContextWindow:   128_000,
		MaxOutputTokens: 16_000,
		Capabilities:    octomesh.Capabilities{Tools: true, JSONSchema: true, Vision: true, Streaming: true},
		Price:           octomesh.Price{InputPerMTok: usd("1"), OutputPerMTok: usd("2")},
		Region:          "us",
		DataPolicy:      octomesh.DataPolicy{RetainsPrompts: octomesh.No, TrainsOnData: octomesh.No},
	}
	for _, o := range opts {
		o(&d)
	}
	return d
}

func price(in, out string) func(*octomesh.Deployment) {
	return func(d *octomesh.Deployment) { d.Price = octomesh.Price{InputPerMTok: usd(in), OutputPerMTok: usd(out)} }
}

func groups(g ...string) func(*octomesh.Deployment) {
	return func(d *octomesh.Deployment) { d.Groups = g }
}

func weight(w int) func(*octomesh.Deployment) {
	return func(d *octomesh.Deployment) { d.Weight = w }
}

// newRouter builds a router with a fake clock and a seeded Rand.
func newRouter(t testing.TB, cfg Config) (*Router, *fakeClock) {
	t.Helper()
	clk := newClock()
	if cfg.Now == nil {
		cfg.Now = clk.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = seeded(1)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r, clk
}

// chat returns a one-message chat request for model.
func chat(model string) *octomesh.ChatRequest {
	return &octomesh.ChatRequest{
		Model:    model,
		Messages: []octomesh.Message{{Role: octomesh.RoleUser, Content: octomesh.TextContent("hello there")}},
	}
}

// planNames returns the deployment names of a plan's attempts.
func planNames(p *Plan) []string {
	var out []string
	for _, a := range p.Attempts {
		out = append(out, a.Deployment.Name)
	}
	return out
}

// asError returns err as *octomesh.Error or fails the test.
func asError(t *testing.T, err error) *octomesh.Error {
	t.Helper()
	var e *octomesh.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not *octomesh.Error", err, err)
	}
	return e
}

// fail ends n retryable failures on name.
func fail(r *Router, name string, n int) {
	for range n {
		r.Begin(name).End(Outcome{Err: octomesh.Errorf(octomesh.EUPSTREAM, "boom")})
	}
}

// succeed ends n successes on name with the given TTFB.
func succeed(r *Router, name string, n int, ttfb time.Duration) {
	for range n {
		r.Begin(name).End(Outcome{TTFB: ttfb, Duration: ttfb + time.Second, OutputTokens: 100})
	}
}

func ptr[T any](v T) *T { return &v }

// sorted returns a sorted copy of names.
func sorted(names []string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return out
}
