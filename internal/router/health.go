package router

import (
	"time"
)

// healthState is a deployment's outlier-detection state, guarded by its mutex.
//
// The circuit is closed (openUntil 0), open (now < openUntil: no attempts),
// or half-open (openUntil ≤ now: HalfOpenProbes probes may run). A probe's
// success closes it; its failure re-opens it for twice as long.
type healthState struct {
	consecutive int   // retryable failures in a row
	level       int   // ejections in a row; the next lasts BaseEjection·2^level
	closedAt    int64 // unix ns of the last close; 0: never opened
	window      errWindow
}

// errWindowBuckets is how many buckets the error-rate window has.
const errWindowBuckets = 10

// errWindow counts outcomes over a sliding time window in buckets.
type errWindow struct {
	b [errWindowBuckets]struct {
		epoch       int64
		total, fail int32
	}
}

func bucketEpoch(now int64, window time.Duration) int64 {
	return now / max(int64(window)/errWindowBuckets, 1)
}

func (w *errWindow) add(now int64, window time.Duration, failed bool) {
	e := bucketEpoch(now, window)
	b := &w.b[e%errWindowBuckets]
	if b.epoch != e {
		b.epoch, b.total, b.fail = e, 0, 0
	}
	b.total++
	if failed {
		b.fail++
	}
}

// sum returns the outcomes and failures in the window ending at now.
func (w *errWindow) sum(now time.Time, window time.Duration) (total, fail int) {
	e := bucketEpoch(now.UnixNano(), window)
	for i := range w.b {
		b := &w.b[i]
		if b.epoch <= e && b.epoch > e-errWindowBuckets {
			total += int(b.total)
			fail += int(b.fail)
		}
	}
	return total, fail
}

func (w *errWindow) reset() { *w = errWindow{} }

// outcomeKind is how an attempt's outcome counts for health.
type outcomeKind uint8

const (
	outcomeSuccess outcomeKind = iota
	outcomeFailure             // a retryable upstream failure
	outcomeNeutral             // a client error or a cancellation
)

// recordHealth applies an outcome to d's circuit. The caller holds d.mu.
func (r *Router) recordHealth(d *deployment, probe bool, kind outcomeKind, now int64) {
	hc := &r.cfg.Health
	h := &d.h
	if probe {
		d.probing.Add(-1)
	}
	switch kind {
	case outcomeNeutral:
		return
	case outcomeSuccess:
		h.consecutive = 0
		h.window.add(now, hc.Window, false)
	case outcomeFailure:
		h.consecutive++
		h.window.add(now, hc.Window, true)
	}
	ou := d.openUntil.Load()
	if ou != 0 {
		// Open or half-open: only a probe's outcome moves the circuit;
		// attempts begun before the ejection finish without effect.
		if !probe || now < ou {
			return
		}
		if kind == outcomeSuccess {
			d.openUntil.Store(0)
			h.closedAt = now
			h.consecutive = 0
			h.window.reset()
			return
		}
		r.open(d, now)
		return
	}
	if kind != outcomeFailure {
		return
	}
	tripped := h.consecutive >= hc.ConsecutiveFailures
	if !tripped {
		total, fail := h.window.sum(time.Unix(0, now), hc.Window)
		tripped = total >= hc.MinRequests && float64(fail) >= hc.ErrorRate*float64(total)
	}
	if tripped {
		if h.closedAt != 0 && now-h.closedAt >= int64(hc.MaxEjection) {
			h.level = 0 // healthy long enough: start again from the base ejection
		}
		r.open(d, now)
	}
}

// open ejects d for the next ejection length. The caller holds d.mu.
func (r *Router) open(d *deployment, now int64) {
	hc := &r.cfg.Health
	h := &d.h
	dur := hc.MaxEjection
	if h.level < 30 {
		dur = min(hc.BaseEjection<<h.level, hc.MaxEjection)
	}
	h.level++
	d.level.Store(int32(h.level))
	h.consecutive = 0
	h.window.reset()
	d.openUntil.Store(now + int64(dur))
}

// CoolDown stops every attempt to the named deployment before until (a
// provider's Retry-After). Decide excludes it with "cooling_down" and
// Acquire refuses it until then. A shorter cool-down never shortens a longer
// one. Unknown names are ignored.
func (r *Router) CoolDown(name string, until time.Time) {
	d := r.byName[name]
	if d == nil {
		return
	}
	u := until.UnixNano()
	for {
		cur := d.coolUntil.Load()
		if u <= cur || d.coolUntil.CompareAndSwap(cur, u) {
			return
		}
	}
}

// CoolingUntil returns the end of the named deployment's cool-down, or the
// zero time if it is not cooling down.
func (r *Router) CoolingUntil(name string) time.Time {
	d := r.byName[name]
	if d == nil {
		return time.Time{}
	}
	cu := d.coolUntil.Load()
	if cu == 0 || cu <= r.now().UnixNano() {
		return time.Time{}
	}
	return time.Unix(0, cu)
}
