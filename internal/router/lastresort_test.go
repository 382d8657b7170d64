package router

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/octomesh/octomesh"
)

// A lone deployment whose circuit is open is still ejected when the plan
// has healthy fallbacks: they take its traffic, and no request pays for
// trying it first. Only when nothing else is left does the floor keep it.
func TestPanicFloorEjectsALoneDeploymentWithFallbacks(t *testing.T) {
	r, _ := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a"), dep("b")}})
	fail(r, "a", 5)
	p, err := r.Decide(chat("a"), octomesh.RouteOptions{Fallbacks: []string{"b"}}, KeyScope{})
	if err != nil {
		t.Fatal(err)
	}
	if got := planNames(p); !cmp.Equal(got, []string{"b"}) || p.Attempts[0].Panic {
		t.Fatalf("plan = %v, want [b] with a ejected", got)
	}
	if ex := p.Decision.Excluded; len(ex) != 1 || ex[0].Deployment != "a" || ex[0].Constraint != "circuit_open" {
		t.Fatalf("excluded = %+v, want a circuit_open", ex)
	}
	// Both open: the least bad is kept, once, for the whole plan.
	fail(r, "b", 5)
	p, err = r.Decide(chat("a"), octomesh.RouteOptions{Fallbacks: []string{"b"}}, KeyScope{})
	if err != nil {
		t.Fatal(err)
	}
	if got := planNames(p); len(got) != 1 || !p.Attempts[0].Panic {
		t.Fatalf("plan = %v, want one deployment kept by the panic floor", got)
	}
}

// The plan's only deployment is let through even when its circuit changed
// state between Decide and the attempt: it opened, or its half-open probe
// slot was taken by another request. Refusing it would be a 503 for a
// request that has nowhere else to go.
func TestLastResortPassesACircuitThatChanged(t *testing.T) {
	r, clk := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a")}})
	p, err := r.Decide(chat("a"), octomesh.RouteOptions{}, KeyScope{})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Attempts[0].LastResort || p.Attempts[0].Panic {
		t.Fatalf("attempt %+v, want the last resort, not panic (the circuit is closed)", p.Attempts[0])
	}
	fail(r, "a", 5) // the circuit opens after the plan was made
	in, err := r.Acquire(p.Attempts[0])
	if err != nil {
		t.Fatalf("Acquire after the circuit opened: %v; want the last resort let through", err)
	}
	in.End(Outcome{Canceled: true})

	clk.Advance(10 * time.Second) // half-open
	p1, _ := r.Decide(chat("a"), octomesh.RouteOptions{}, KeyScope{})
	p2, _ := r.Decide(chat("a"), octomesh.RouteOptions{}, KeyScope{})
	if !p1.Attempts[0].Probe || !p2.Attempts[0].Probe {
		t.Fatalf("both plans made before the probe started should be probes: %+v %+v", p1.Attempts[0], p2.Attempts[0])
	}
	probe, err := r.Acquire(p1.Attempts[0])
	if err != nil || !probe.Probe() {
		t.Fatalf("first Acquire = %v, %v; want the probe", probe, err)
	}
	second, err := r.Acquire(p2.Attempts[0])
	if err != nil || second.Probe() {
		t.Fatalf("second Acquire = %v, %v; want a normal attempt (the probe slot is taken)", second, err)
	}
	second.End(Outcome{Err: octomesh.Errorf(octomesh.EUPSTREAM, "boom")}) // not the probe: moves nothing
	probe.End(Outcome{TTFB: time.Millisecond})
	if got := circuit(r, "a"); got != CircuitClosed {
		t.Fatalf("after the probe succeeded: %s, want closed", got)
	}

	// With the floor off there is no last resort: a plan made before the
	// circuit opened is refused at Acquire, as before.
	off, _ := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a")}, Health: HealthConfig{MaxEjectedFraction: 1}})
	p, err = off.Decide(chat("a"), octomesh.RouteOptions{}, KeyScope{})
	if err != nil || p.Attempts[0].LastResort {
		t.Fatalf("floor off: %v, %+v; want a plan without a last resort", err, p.Attempts[0])
	}
	fail(off, "a", 5)
	if _, err := off.Acquire(p.Attempts[0]); octomesh.ErrorCodeOf(err) != octomesh.EUNAVAILABLE {
		t.Fatalf("floor off, Acquire after the circuit opened: %v; want unavailable", err)
	}
}

// An attempt let through while the circuit was open that fails after a
// probe closed it reports on the outage the probe ended: it does not count
// towards re-opening the new circuit.
func TestAttemptsFromBeforeTheCloseDoNotCount(t *testing.T) {
	r, clk := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a")}})
	fail(r, "a", 5)
	p, err := r.Decide(chat("a"), octomesh.RouteOptions{}, KeyScope{})
	if err != nil || !p.Attempts[0].Panic {
		t.Fatalf("Decide with the lone circuit open: %v; want a panic-floor attempt", err)
	}
	old, err := r.Acquire(p.Attempts[0])
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * time.Second)
	p, _ = r.Decide(chat("a"), octomesh.RouteOptions{}, KeyScope{})
	probe, err := r.Acquire(p.Attempts[0])
	if err != nil || !probe.Probe() {
		t.Fatalf("Acquire = %v, %v; want the probe", probe, err)
	}
	clk.Advance(time.Millisecond)
	probe.End(Outcome{TTFB: time.Millisecond})
	if got := circuit(r, "a"); got != CircuitClosed {
		t.Fatalf("after the probe: %s, want closed", got)
	}
	clk.Advance(time.Millisecond)
	old.End(Outcome{Err: octomesh.Errorf(octomesh.EUPSTREAM, "boom")})
	fail(r, "a", 4) // four fresh failures: one short of the five that open it
	if got := circuit(r, "a"); got != CircuitClosed {
		t.Fatalf("after the old attempt's failure and 4 new ones: %s, want closed (the old one must not count)", got)
	}
	fail(r, "a", 1)
	if got := circuit(r, "a"); got != CircuitOpen {
		t.Fatalf("after 5 new failures: %s, want open", got)
	}
}
