package router

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/octomesh/octomesh"
)

// Outcome is what one upstream attempt reports back.
type Outcome struct {
	// Err is the attempt's error; nil on success. Only retryable upstream
	// codes (octomesh.ErrorCode.Retryable) count against the deployment's
	// health; client errors (EINVALID, ECONTEXTLENGTH, ECONTENTFILTER …) and
	// context.Canceled do not.
	Err error
	// Canceled marks an attempt abandoned by us or the client (a hedge that
	// lost the race, a client disconnect): it does not count for health.
	Canceled bool
	// TTFB is the time to the first streamed content chunk; 0 if none
	// arrived. An executor that abandons a silent attempt at its first-byte
	// deadline may report the deadline here (a censored sample).
	TTFB time.Duration
	// Duration is the attempt's length; 0 means measure it from Begin.
	Duration time.Duration
	// OutputTokens are the completion tokens of a successful attempt.
	OutputTokens int
}

func (o *Outcome) kind() outcomeKind {
	if o.Canceled || errors.Is(o.Err, context.Canceled) {
		return outcomeNeutral
	}
	if o.Err == nil {
		return outcomeSuccess
	}
	if octomesh.ErrorCodeOf(o.Err).Retryable() {
		return outcomeFailure
	}
	return outcomeNeutral
}

// Inflight is one attempt in progress. End it exactly once.
type Inflight struct {
	r     *Router
	d     *deployment
	start int64
	probe bool
	ended atomic.Bool
}

// Probe reports whether the attempt is a half-open circuit's probe: its
// outcome closes or re-opens the circuit.
func (in *Inflight) Probe() bool { return in.probe }

// Deployment returns the deployment's name ("" for an unknown one).
func (in *Inflight) Deployment() string {
	if in.d == nil {
		return ""
	}
	return in.d.d.Name
}

// Begin starts an attempt to the named deployment unconditionally: it
// counts as outstanding until End, and claims a half-open circuit's probe
// slot when one is free. Prefer Acquire, which also enforces cool-downs and
// open circuits. An unknown name yields an Inflight whose End does nothing.
func (r *Router) Begin(name string) *Inflight {
	d := r.byName[name]
	if d == nil {
		return &Inflight{}
	}
	in, _ := r.acquire(d, r.now().UnixNano(), true)
	return in
}

// Acquire starts the planned attempt if its deployment may be tried now:
// not cooling down, and its circuit closed, half-open with a free probe slot
// (the attempt becomes the probe), or open but kept eligible by the panic
// floor (a.Panic), or the plan's last resort (a.LastResort). Otherwise it returns an EUNAVAILABLE *octomesh.Error with
// RetryAfter, and the executor should move on to the next attempt. It
// re-checks because state changes between Decide and a fallback's turn.
func (r *Router) Acquire(a PlannedAttempt) (*Inflight, error) {
	in := new(Inflight)
	if err := r.AcquireInto(in, a); err != nil {
		return nil, err
	}
	return in, nil
}

// AcquireInto is Acquire starting the attempt in *in, which the caller
// owns (an executor keeps it with the rest of the attempt's state, saving
// an allocation per attempt). *in must not be in use: never acquired, or
// ended. On an error *in is left as it was.
func (r *Router) AcquireInto(in *Inflight, a PlannedAttempt) error {
	d := r.lookup(a)
	if d == nil {
		return octomesh.Errorf(octomesh.EUNAVAILABLE, "unknown deployment")
	}
	now := r.now().UnixNano()
	if cu := d.coolUntil.Load(); now < cu {
		e := octomesh.Errorf(octomesh.EUNAVAILABLE, "model %q is cooling down (Retry-After)", d.d.Name)
		e.RetryAfter = time.Duration(cu - now)
		return e
	}
	probe, err := r.admitAttempt(d, now, a.Panic || a.LastResort)
	if err != nil {
		return err
	}
	*in = Inflight{r: r, d: d, start: now, probe: probe}
	return nil
}

// lookup finds a planned attempt's deployment state.
func (r *Router) lookup(a PlannedAttempt) *deployment {
	if a.idx >= 0 && a.idx < len(r.deps) && a.Deployment == &r.deps[a.idx].d {
		return r.deps[a.idx]
	}
	if a.Deployment == nil {
		return nil
	}
	return r.byName[a.Deployment.Name]
}

func (r *Router) acquire(d *deployment, now int64, force bool) (*Inflight, error) {
	probe, err := r.admitAttempt(d, now, force)
	if err != nil {
		return nil, err
	}
	return &Inflight{r: r, d: d, start: now, probe: probe}, nil
}

// admitAttempt counts an attempt to d as outstanding if its circuit lets
// it through (force: whatever the circuit), reporting whether it is the
// half-open circuit's probe.
func (r *Router) admitAttempt(d *deployment, now int64, force bool) (probe bool, _ error) {
	if d.openUntil.Load() == 0 {
		d.outstanding.Add(1)
		return false, nil
	}
	d.mu.Lock()
	ou := d.openUntil.Load()
	var err *octomesh.Error
	switch {
	case ou == 0:
	case now < ou:
		if !force {
			err = octomesh.Errorf(octomesh.EUNAVAILABLE, "model %q is failing; its circuit is open", d.d.Name)
			err.RetryAfter = time.Duration(ou - now)
		}
	case int(d.probing.Load()) < r.cfg.Health.HalfOpenProbes:
		d.probing.Add(1)
		probe = true
	case !force:
		err = octomesh.Errorf(octomesh.EUNAVAILABLE, "model %q is recovering; its probe is in flight", d.d.Name)
		err.RetryAfter = time.Second
	}
	d.mu.Unlock()
	if err != nil {
		return false, err
	}
	d.outstanding.Add(1)
	return probe, nil
}

// End records the attempt's outcome: it stops counting as outstanding,
// feeds the latency statistics (TTFB when reported; tokens per second and
// completion length on success), and moves the circuit. Calls after the
// first do nothing. Safe for concurrent use.
func (in *Inflight) End(o Outcome) {
	d := in.d
	if d == nil || in.ended.Swap(true) {
		return
	}
	r := in.r
	d.outstanding.Add(-1)
	now := r.now().UnixNano()
	dur := o.Duration
	if dur <= 0 {
		dur = time.Duration(now - in.start)
	}
	kind := o.kind()
	alpha := r.cfg.Stats.Alpha
	d.mu.Lock()
	changed := false
	if o.TTFB > 0 {
		d.lat.addTTFB(float64(o.TTFB)/float64(time.Millisecond), alpha)
		changed = true
	}
	if kind == outcomeSuccess && o.OutputTokens > 0 {
		ewma(&d.lat.outEWMA, &d.lat.outSamples, float64(o.OutputTokens), alpha)
		gen := dur - o.TTFB
		if o.TTFB <= 0 || gen <= 0 {
			gen = dur
		}
		if gen > 0 {
			ewma(&d.lat.tpsEWMA, &d.lat.tpsSamples, float64(o.OutputTokens)/gen.Seconds(), alpha)
		}
		changed = true
	}
	if changed {
		d.publishLatency(r.quantile)
	}
	if kind == outcomeFailure && !in.probe && d.h.closedAt > in.start {
		// Begun before the circuit last closed (in flight through the
		// ejection, or let through by the panic floor while it was open),
		// the attempt reports on the outage the probe already ended: it
		// must not count against the circuit that probe closed.
		kind = outcomeNeutral
	}
	r.recordHealth(d, in.probe, kind, now)
	d.mu.Unlock()
}
