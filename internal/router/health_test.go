package router

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
)

func circuit(r *Router, name string) string { return r.Stats(name).Circuit }

func TestCircuitOpensAfterConsecutiveFailures(t *testing.T) {
	r, clk := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a")}})
	fail(r, "a", 4)
	succeed(r, "a", 1, 0)
	fail(r, "a", 4)
	if got := circuit(r, "a"); got != CircuitClosed {
		t.Fatalf("after 4+4 failures split by a success: circuit %s, want closed", got)
	}
	fail(r, "a", 1)
	s := r.Stats("a")
	if s.Circuit != CircuitOpen || !s.OpenUntil.Equal(clk.Now().Add(10*time.Second)) || s.Ejections != 1 {
		t.Fatalf("after 5 consecutive failures: %+v; want open for 10s, 1 ejection", s)
	}
}

func TestOnlyRetryableFailuresCount(t *testing.T) {
	tests := []struct {
		name  string
		o     Outcome
		count bool
	}{
		{"rate limited", Outcome{Err: octomesh.Errorf(octomesh.ERATELIMITED, "x")}, true},
		{"upstream", Outcome{Err: octomesh.Errorf(octomesh.EUPSTREAM, "x")}, true},
		{"overloaded", Outcome{Err: octomesh.Errorf(octomesh.EOVERLOADED, "x")}, true},
		{"timeout", Outcome{Err: octomesh.Errorf(octomesh.ETIMEOUT, "x")}, true},
		{"deadline", Outcome{Err: fmt.Errorf("read: %w", context.DeadlineExceeded)}, true},
		{"upstream auth", Outcome{Err: octomesh.Errorf(octomesh.EUPSTREAMAUTH, "x")}, true},
		{"invalid", Outcome{Err: octomesh.Errorf(octomesh.EINVALID, "x")}, false},
		{"context length", Outcome{Err: octomesh.Errorf(octomesh.ECONTEXTLENGTH, "x")}, false},
		{"content filter", Outcome{Err: octomesh.Errorf(octomesh.ECONTENTFILTER, "x")}, false},
		{"client cancelled", Outcome{Err: fmt.Errorf("read: %w", context.Canceled)}, false},
		{"hedge loser", Outcome{Err: octomesh.Errorf(octomesh.ETIMEOUT, "x"), Canceled: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a")}})
			for range 5 {
				r.Begin("a").End(tt.o)
			}
			want := CircuitClosed
			if tt.count {
				want = CircuitOpen
			}
			if got := circuit(r, "a"); got != want {
				t.Errorf("after 5 × %s: circuit %s, want %s", tt.name, got, want)
			}
		})
	}
}

func TestCircuitOpensOnErrorRate(t *testing.T) {
	r, clk := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a")}})
	alternate := func(n int) {
		for i := range n {
			if i%2 == 0 {
				succeed(r, "a", 1, 0)
			} else {
				fail(r, "a", 1)
			}
		}
	}
	alternate(18)
	clk.Advance(31 * time.Second) // the window forgets those
	alternate(18)
	if got := circuit(r, "a"); got != CircuitClosed {
		t.Fatalf("after 18 old and 18 recent outcomes at 50%%: %s, want closed", got)
	}
	if s := r.Stats("a"); s.WindowRequests != 18 || s.WindowFailures != 9 {
		t.Fatalf("window = %d/%d, want 9 failures of 18", s.WindowFailures, s.WindowRequests)
	}
	alternate(1) // success: 19
	if got := circuit(r, "a"); got != CircuitClosed {
		t.Fatalf("at 19 outcomes: %s, want closed (below the 20-request minimum)", got)
	}
	fail(r, "a", 1) // 10 of 20 failed
	if got := circuit(r, "a"); got != CircuitOpen {
		t.Fatalf("at 10 failures of 20: %s, want open", got)
	}
}

// TestHalfOpenProbe runs with the panic floor off, so that the circuit
// alone decides; with it on, a lone deployment is never ejected (see
// TestPanicFloor "keeps a lone deployment").
func TestHalfOpenProbe(t *testing.T) {
	r, clk := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a")}, Health: HealthConfig{MaxEjectedFraction: 1}})
	fail(r, "a", 5)
	if _, err := r.Decide(chat("a"), octomesh.RouteOptions{}, KeyScope{}); octomesh.ErrorCodeOf(err) != octomesh.EUNAVAILABLE {
		t.Fatalf("Decide while open: %v, want unavailable", err)
	}
	clk.Advance(10 * time.Second)
	if got := circuit(r, "a"); got != CircuitHalfOpen {
		t.Fatalf("after the ejection: %s, want half_open", got)
	}
	p, err := r.Decide(chat("a"), octomesh.RouteOptions{}, KeyScope{})
	if err != nil {
		t.Fatalf("Decide while half-open: %v", err)
	}
	if !p.Attempts[0].Probe {
		t.Fatalf("attempt not marked as a probe: %+v", p.Attempts[0])
	}
	probe, err := r.Acquire(p.Attempts[0])
	if err != nil || !probe.Probe() {
		t.Fatalf("Acquire probe = %v, %v; want the probe", probe, err)
	}
	// Exactly one probe: a second request can neither plan it nor acquire it.
	_, err = r.Decide(chat("a"), octomesh.RouteOptions{}, KeyScope{})
	if e := asError(t, err); e.Code != octomesh.EUNAVAILABLE || e.RetryAfter != time.Second {
		t.Fatalf("Decide with the probe in flight: %v (retry %v), want unavailable, retry 1s", err, e.RetryAfter)
	}
	if in, err := r.Acquire(p.Attempts[0]); err == nil {
		t.Fatalf("second Acquire = %v; want refused while the probe is in flight", in)
	}
	probe.End(Outcome{TTFB: 100 * time.Millisecond, OutputTokens: 10})
	if got := circuit(r, "a"); got != CircuitClosed {
		t.Fatalf("after a successful probe: %s, want closed", got)
	}
	p, err = r.Decide(chat("a"), octomesh.RouteOptions{}, KeyScope{})
	if err != nil || p.Attempts[0].Probe {
		t.Fatalf("Decide after recovery: %v probe=%v; want a normal attempt", err, p != nil && p.Attempts[0].Probe)
	}
}

func TestProbeFailureDoublesEjection(t *testing.T) {
	r, clk := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a")}})
	fail(r, "a", 5)
	var got []time.Duration
	for range 7 {
		s := r.Stats("a")
		got = append(got, s.OpenUntil.Sub(clk.Now()))
		clk.Advance(s.OpenUntil.Sub(clk.Now()))
		p, err := r.Decide(chat("a"), octomesh.RouteOptions{}, KeyScope{})
		if err != nil {
			t.Fatal(err)
		}
		in, err := r.Acquire(p.Attempts[0])
		if err != nil || !in.Probe() {
			t.Fatalf("Acquire = %v, %v; want a probe", in, err)
		}
		in.End(Outcome{Err: octomesh.Errorf(octomesh.EOVERLOADED, "still down")})
	}
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 300 * time.Second, 300 * time.Second}
	if !cmp.Equal(got, want) {
		t.Errorf("ejections = %v, want %v", got, want)
	}
}

func TestEjectionLevelDecays(t *testing.T) {
	r, clk := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a")}})
	recover := func() {
		clk.Advance(r.Stats("a").OpenUntil.Sub(clk.Now()))
		in := r.Begin("a")
		if !in.Probe() {
			t.Fatal("Begin on a half-open circuit did not claim the probe")
		}
		in.End(Outcome{})
	}
	fail(r, "a", 5) // 10s
	recover()
	fail(r, "a", 5) // soon after: 20s
	if d := r.Stats("a").OpenUntil.Sub(clk.Now()); d != 20*time.Second {
		t.Fatalf("re-ejection soon after recovery = %v, want 20s", d)
	}
	recover()
	clk.Advance(5 * time.Minute)
	fail(r, "a", 5)
	if d := r.Stats("a").OpenUntil.Sub(clk.Now()); d != 10*time.Second {
		t.Fatalf("ejection after 5 healthy minutes = %v, want 10s again", d)
	}
}

func TestOutcomesWhileOpenDoNotMoveCircuit(t *testing.T) {
	r, clk := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a")}})
	early := r.Begin("a") // started before the ejection
	fail(r, "a", 5)
	early.End(Outcome{})
	if got := circuit(r, "a"); got != CircuitOpen {
		t.Fatalf("a late success while open: %s, want still open", got)
	}
	clk.Advance(10 * time.Second)
	late := r.Begin("a") // the probe
	late.End(Outcome{Err: octomesh.Errorf(octomesh.EINVALID, "bad request")})
	if got := circuit(r, "a"); got != CircuitHalfOpen {
		t.Fatalf("after a probe ending in a client error: %s, want still half_open", got)
	}
	if s := r.Stats("a"); s.ProbesInFlight != 0 {
		t.Fatalf("probes in flight = %d, want the slot released", s.ProbesInFlight)
	}
}

func TestPanicFloor(t *testing.T) {
	t.Run("keeps a lone deployment", func(t *testing.T) {
		r, clk := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a")}})
		fail(r, "a", 5)
		if got := circuit(r, "a"); got != CircuitOpen {
			t.Fatalf("after 5 failures: circuit %s, want open", got)
		}
		// ⌊0.5·1⌋ = 0 may be ejected: the circuit is open, but the only
		// deployment stays in service, marked panic, and nothing is excluded.
		p, err := r.Decide(chat("a"), octomesh.RouteOptions{}, KeyScope{})
		if err != nil {
			t.Fatalf("Decide with the lone circuit open: %v; want a plan", err)
		}
		if got := planNames(p); !cmp.Equal(got, []string{"a"}) || !p.Attempts[0].Panic || p.Attempts[0].Probe {
			t.Fatalf("plan = %v attempt %+v, want [a] kept by the panic floor, not a probe", got, p.Attempts[0])
		}
		if c := p.Decision.Candidates; len(c) != 1 || !c[0].PanicFloor || c[0].Probe || len(p.Decision.Excluded) != 0 {
			t.Fatalf("decision candidates %+v excluded %+v, want a marked panic_floor and nothing excluded", c, p.Decision.Excluded)
		}
		in, err := r.Acquire(p.Attempts[0])
		if err != nil || in.Probe() {
			t.Fatalf("Acquire of the panic-floor attempt = %v, %v; want a normal attempt", in, err)
		}
		// Its failure while open neither extends nor closes the ejection.
		in.End(Outcome{Err: octomesh.Errorf(octomesh.EOVERLOADED, "still down")})
		if s := r.Stats("a"); s.Circuit != CircuitOpen || !s.OpenUntil.Equal(clk.Now().Add(10*time.Second)) {
			t.Fatalf("after a panic-floor failure: %+v, want still open for 10s", s)
		}

		// After the ejection the half-open probe still works: the first
		// request is the probe, the next (probe in flight) is kept by the
		// floor, and the probe's failure doubles the ejection.
		clk.Advance(10 * time.Second)
		p, err = r.Decide(chat("a"), octomesh.RouteOptions{}, KeyScope{})
		if err != nil || !p.Attempts[0].Probe || p.Attempts[0].Panic {
			t.Fatalf("Decide while half-open: %v, want a probe", err)
		}
		probe, err := r.Acquire(p.Attempts[0])
		if err != nil || !probe.Probe() {
			t.Fatalf("Acquire probe = %v, %v; want the probe", probe, err)
		}
		p, err = r.Decide(chat("a"), octomesh.RouteOptions{}, KeyScope{})
		if err != nil || !p.Attempts[0].Panic || p.Attempts[0].Probe {
			t.Fatalf("Decide with the probe in flight: %v, want a kept by the panic floor", err)
		}
		in, err = r.Acquire(p.Attempts[0])
		if err != nil || in.Probe() {
			t.Fatalf("Acquire with the probe in flight = %v, %v; want a normal attempt", in, err)
		}
		in.End(Outcome{Canceled: true})
		probe.End(Outcome{Err: octomesh.Errorf(octomesh.EOVERLOADED, "still down")})
		if s := r.Stats("a"); s.Circuit != CircuitOpen || !s.OpenUntil.Equal(clk.Now().Add(20*time.Second)) || s.Ejections != 2 {
			t.Fatalf("after a failed probe: %+v, want open for 20s, 2 ejections", s)
		}
	})
	t.Run("keeps the least bad of two", func(t *testing.T) {
		r, clk := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a", groups("g")), dep("b", groups("g"))}})
		fail(r, "a", 5)
		clk.Advance(time.Second)
		fail(r, "b", 5) // opened later: recovers later
		p, err := r.Decide(chat("g"), octomesh.RouteOptions{}, KeyScope{})
		if err != nil {
			t.Fatalf("Decide: %v", err)
		}
		if got := planNames(p); !cmp.Equal(got, []string{"a"}) || !p.Attempts[0].Panic {
			t.Fatalf("plan = %v panic=%v, want [a] kept by the panic floor", got, p.Attempts[0].Panic)
		}
		if len(p.Decision.Excluded) != 1 || p.Decision.Excluded[0].Deployment != "b" || p.Decision.Excluded[0].Constraint != "circuit_open" {
			t.Fatalf("excluded = %+v, want b circuit_open", p.Decision.Excluded)
		}
		if in, err := r.Acquire(p.Attempts[0]); err != nil {
			t.Fatalf("Acquire of a panic-floor attempt: %v", err)
		} else {
			in.End(Outcome{Canceled: true})
		}
	})
	t.Run("sets of three and four", func(t *testing.T) {
		r, _ := newRouter(t, Config{Deployments: []octomesh.Deployment{
			dep("a", groups("three", "four")), dep("b", groups("three", "four")), dep("c", groups("three", "four")), dep("d", groups("four")),
		}, Groups: []GroupConfig{{Name: "four", Strategy: StrategyObjective}}})
		fail(r, "a", 5)
		fail(r, "b", 5)
		fail(r, "c", 5)
		p, err := r.Decide(chat("three"), octomesh.RouteOptions{}, KeyScope{})
		if err != nil {
			t.Fatal(err)
		}
		// max(1, ⌊0.5·3⌋) = 1 may be ejected: two are kept.
		if got := planNames(p); !cmp.Equal(got, []string{"a", "b"}) || !p.Attempts[0].Panic || !p.Attempts[1].Panic {
			t.Fatalf("plan for three = %v, want [a b] both panic", got)
		}
		p, err = r.Decide(chat("four"), octomesh.RouteOptions{}, KeyScope{})
		if err != nil {
			t.Fatal(err)
		}
		// ⌊0.5·4⌋ = 2 may be ejected: one of three is kept, after the healthy one.
		if got := planNames(p); !cmp.Equal(got, []string{"d", "a"}) || p.Attempts[0].Panic || !p.Attempts[1].Panic {
			t.Fatalf("plan for four = %v, want [d a], a panic", got)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		r, _ := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a", groups("g")), dep("b", groups("g"))},
			Health: HealthConfig{MaxEjectedFraction: 1}})
		fail(r, "a", 5)
		fail(r, "b", 5)
		_, err := r.Decide(chat("g"), octomesh.RouteOptions{}, KeyScope{})
		if e := asError(t, err); e.Code != octomesh.EUNAVAILABLE || e.RetryAfter != 10*time.Second {
			t.Fatalf("error = %v retry %v, want unavailable retry 10s", err, e.RetryAfter)
		}
	})
}

func TestCoolDown(t *testing.T) {
	r, clk := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a", groups("g")), dep("b", groups("g"))}})
	p, err := r.Decide(chat("a"), octomesh.RouteOptions{}, KeyScope{})
	if err != nil {
		t.Fatal(err)
	}
	until := clk.Now().Add(5 * time.Second)
	r.CoolDown("a", until)
	r.CoolDown("a", clk.Now().Add(time.Second)) // never shortens
	if got := r.CoolingUntil("a"); !got.Equal(until) {
		t.Fatalf("CoolingUntil = %v, want %v", got, until)
	}
	// A plan made before the cool-down must not reach the deployment.
	_, err = r.Acquire(p.Attempts[0])
	if e := asError(t, err); e.Code != octomesh.EUNAVAILABLE || e.RetryAfter != 5*time.Second {
		t.Fatalf("Acquire while cooling: %v retry %v, want unavailable retry 5s", err, e.RetryAfter)
	}
	for range 20 {
		p, err := r.Decide(chat("g"), octomesh.RouteOptions{}, KeyScope{})
		if err != nil {
			t.Fatal(err)
		}
		if got := planNames(p); !cmp.Equal(got, []string{"b"}) || p.Decision.Excluded[0].Constraint != "cooling_down" {
			t.Fatalf("plan = %v excluded %+v; want [b], a cooling_down", got, p.Decision.Excluded)
		}
	}
	// The panic floor does not override Retry-After.
	r.CoolDown("b", clk.Now().Add(2*time.Second))
	_, err = r.Decide(chat("g"), octomesh.RouteOptions{}, KeyScope{})
	if e := asError(t, err); e.Code != octomesh.EUNAVAILABLE || e.RetryAfter != 2*time.Second {
		t.Fatalf("all cooling: %v retry %v, want unavailable retry 2s", err, e.RetryAfter)
	}
	clk.Advance(5 * time.Second)
	if got := r.CoolingUntil("a"); !got.IsZero() {
		t.Fatalf("CoolingUntil after expiry = %v, want zero", got)
	}
	if in, err := r.Acquire(p.Attempts[0]); err != nil {
		t.Fatalf("Acquire after the cool-down: %v", err)
	} else {
		in.End(Outcome{})
	}
}

// TestAcquireRechecksCircuit: a plan with somewhere else to go does not
// send an attempt to a circuit that opened after the plan was made. (The
// plan's only deployment is let through: TestLastResortPassesACircuitThatChanged.)
func TestAcquireRechecksCircuit(t *testing.T) {
	r, _ := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a", groups("g")), dep("b", groups("g"))}})
	p, err := r.Decide(chat("g"), octomesh.RouteOptions{}, KeyScope{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Attempts) != 2 || p.Attempts[0].LastResort || p.Attempts[1].LastResort {
		t.Fatalf("plan %v, want two attempts, neither a last resort", planNames(p))
	}
	first := p.Attempts[0].Deployment.Name
	fail(r, first, 5)
	_, err = r.Acquire(p.Attempts[0])
	if e := asError(t, err); e.Code != octomesh.EUNAVAILABLE || e.RetryAfter != 10*time.Second {
		t.Fatalf("Acquire after the circuit opened: %v retry %v, want unavailable retry 10s", err, e.RetryAfter)
	}
	if got := r.Stats(first).Outstanding; got != 0 {
		t.Fatalf("outstanding after a refused Acquire = %d, want 0", got)
	}
}

func TestBeginEndBookkeeping(t *testing.T) {
	r, _ := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a")}})
	in := r.Begin("a")
	if got := r.Stats("a").Outstanding; got != 1 {
		t.Fatalf("outstanding = %d, want 1", got)
	}
	in.End(Outcome{TTFB: 200 * time.Millisecond, Duration: 2200 * time.Millisecond, OutputTokens: 100})
	in.End(Outcome{Err: octomesh.Errorf(octomesh.EUPSTREAM, "x")}) // ignored
	s := r.Stats("a")
	want := StatsSnapshot{Deployment: "a", TTFBSamples: 1, TTFB: 200 * time.Millisecond, TTFBP50: 200 * time.Millisecond,
		TTFBP90: 200 * time.Millisecond, TTFBP99: 200 * time.Millisecond, TokensPerSecond: 50, OutputTokens: 100,
		WindowRequests: 1, Circuit: CircuitClosed}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	if in := r.Begin("nope"); in.Deployment() != "" {
		t.Errorf("Begin(unknown) = %q, want a no-op", in.Deployment())
	} else {
		in.End(Outcome{})
	}
}

// TestAcquireIntoReusesAnEndedSlot: an executor keeps one Inflight for its
// sequential attempts. Each AcquireInto starts a fresh attempt in it (the
// previous End does not make the next one a no-op), and a refused one
// leaves the slot as it was.
func TestAcquireIntoReusesAnEndedSlot(t *testing.T) {
	r, _ := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a", groups("g")), dep("b", groups("g"))}})
	p, err := r.Decide(chat("g"), octomesh.RouteOptions{}, KeyScope{})
	if err != nil {
		t.Fatal(err)
	}
	var slot Inflight
	for i := range 5 {
		if err := r.AcquireInto(&slot, p.Attempts[0]); err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		if got := r.Stats(slot.Deployment()).Outstanding; got != 1 {
			t.Fatalf("attempt %d: outstanding %d, want 1", i, got)
		}
		slot.End(Outcome{Err: octomesh.Errorf(octomesh.EUPSTREAM, "x")})
		if got := r.Stats(slot.Deployment()).Outstanding; got != 0 {
			t.Fatalf("attempt %d ended: outstanding %d, want 0", i, got)
		}
	}
	// Five failures, each counted: the circuit opened.
	first := p.Attempts[0].Deployment.Name
	if got := circuit(r, first); got != CircuitOpen {
		t.Fatalf("after 5 failures through one slot: circuit %s, want open", got)
	}
	d, start := slot.d, slot.start
	if err := r.AcquireInto(&slot, p.Attempts[0]); err == nil {
		t.Fatal("AcquireInto on an open circuit succeeded")
	}
	if slot.d != d || slot.start != start || !slot.ended.Load() {
		t.Error("a refused AcquireInto changed the slot")
	}
}
