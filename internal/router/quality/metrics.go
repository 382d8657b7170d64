package quality

import (
	"math"
	"sort"
)

// Point is one operating point of a router or a single model: the mean
// cost per prompt (USD) and the mean score.
type Point struct {
	Cost    float64
	Quality float64
}

// Envelope returns the upper concave envelope of points: the best mean
// score reachable at each cost by choosing one of the points or randomly
// mixing two of them. It is non-decreasing and sorted by cost.
func Envelope(points []Point) []Point {
	ps := append([]Point(nil), points...)
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Cost != ps[j].Cost {
			return ps[i].Cost < ps[j].Cost
		}
		return ps[i].Quality > ps[j].Quality
	})
	var hull []Point
	for _, p := range ps {
		if len(hull) > 0 && p.Quality <= hull[len(hull)-1].Quality {
			continue // dominated: costs more, not better
		}
		for len(hull) >= 2 {
			a, b := hull[len(hull)-2], hull[len(hull)-1]
			// Drop b if it lies on or below the segment a→p.
			if (b.Quality-a.Quality)*(p.Cost-a.Cost) <= (p.Quality-a.Quality)*(b.Cost-a.Cost) {
				hull = hull[:len(hull)-1]
				continue
			}
			break
		}
		hull = append(hull, p)
	}
	return hull
}

// envelopeAt returns the envelope's quality at cost c: flat left of its
// first point and right of its last, linear between.
func envelopeAt(env []Point, c float64) float64 {
	if len(env) == 0 {
		return math.NaN()
	}
	if c <= env[0].Cost {
		return env[0].Quality
	}
	for i := 1; i < len(env); i++ {
		if c <= env[i].Cost {
			a, b := env[i-1], env[i]
			return a.Quality + (b.Quality-a.Quality)*(c-a.Cost)/(b.Cost-a.Cost)
		}
	}
	return env[len(env)-1].Quality
}

// CostToReach returns the least mean cost at which curve reaches quality q,
// walking its points in order of cost and interpolating linearly within the
// first segment that crosses q. ok is false if no point reaches q.
func CostToReach(curve []Point, q float64) (cost float64, ok bool) {
	ps := append([]Point(nil), curve...)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Cost < ps[j].Cost })
	for i, p := range ps {
		if p.Quality >= q {
			if i == 0 {
				return p.Cost, true
			}
			a := ps[i-1]
			// a is below q (else we would have stopped there).
			return a.Cost + (p.Cost-a.Cost)*(q-a.Quality)/(p.Quality-a.Quality), true
		}
	}
	return math.NaN(), false
}

// AIQ is the average quality over the cost range [c0, c1] of the envelope
// of curve: (1/(c1−c0)) ∫ Q̂(c) dc, where Q̂ is the upper concave envelope
// (Envelope), extended flat beyond its ends. RouterBench's "average
// improvement in quality" in spirit; here c0 and c1 are the cheapest and
// the best single model's mean costs.
func AIQ(curve []Point, c0, c1 float64) float64 {
	env := Envelope(curve)
	if len(env) == 0 {
		return math.NaN()
	}
	if c1 <= c0 {
		return envelopeAt(env, c0)
	}
	// Exact integral of a piecewise linear function: sum trapezoids over
	// the breakpoints inside [c0, c1].
	xs := []float64{c0}
	for _, p := range env {
		if p.Cost > c0 && p.Cost < c1 {
			xs = append(xs, p.Cost)
		}
	}
	xs = append(xs, c1)
	var area float64
	for i := 1; i < len(xs); i++ {
		area += (xs[i] - xs[i-1]) * (envelopeAt(env, xs[i-1]) + envelopeAt(env, xs[i])) / 2
	}
	return area / (c1 - c0)
}

// NormalisedAIQ rescales an AIQ so that 0 is the cheapest single model's
// quality q0 and 1 the best single model's q1: 1 means "as good as always
// using the best model, at every budget from the cheapest to the best
// model's cost"; above 1 beats it.
func NormalisedAIQ(aiq, q0, q1 float64) float64 {
	if q1 == q0 {
		return math.NaN()
	}
	return (aiq - q0) / (q1 - q0)
}

// PairCurve is a two-model router evaluated as RouteLLM does.
type PairCurve struct {
	StrongPct []float64 // % of calls routed to the strong model, ascending
	Accuracy  []float64 // mean score at each point
	Strong    float64   // the strong model's mean score
	Weak      float64   // the weak model's mean score
}

// RouteLLMCurve evaluates a two-model router exactly as RouteLLM's
// evaluate.py does: thresholds are the 11 edges of 10 equal-count bins of
// the router's per-prompt strong-win scores (pandas qcut: linear-
// interpolated quantiles 0, 0.1, …, 1); threshold i routes a prompt to the
// strong model when its score is ≥ the edge (> for the last edge), giving
// one (strong %, accuracy) point per threshold, sorted by strong %.
func RouteLLMCurve(score, strong, weak []float64) PairCurve {
	n := len(score)
	pc := PairCurve{}
	if n == 0 {
		return pc
	}
	sorted := append([]float64(nil), score...)
	sort.Float64s(sorted)
	for i := range n {
		pc.Strong += strong[i]
		pc.Weak += weak[i]
	}
	pc.Strong /= float64(n)
	pc.Weak /= float64(n)
	type pt struct{ pct, acc float64 }
	var pts []pt
	for b := 0; b <= 10; b++ {
		t := quantile(sorted, float64(b)/10)
		var calls int
		var acc float64
		for i, s := range score {
			sel := s >= t
			if b == 10 {
				sel = s > t
			}
			if sel {
				calls++
				acc += strong[i]
			} else {
				acc += weak[i]
			}
		}
		pts = append(pts, pt{100 * float64(calls) / float64(n), acc / float64(n)})
	}
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].pct < pts[j].pct })
	for _, p := range pts {
		pc.StrongPct = append(pc.StrongPct, p.pct)
		pc.Accuracy = append(pc.Accuracy, p.acc)
	}
	return pc
}

// quantile is numpy's default (linear) quantile of sorted values.
func quantile(sorted []float64, q float64) float64 {
	p := q * float64(len(sorted)-1)
	lo := int(math.Floor(p))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (sorted[hi]-sorted[lo])*(p-float64(lo))
}

// APGR is RouteLLM's average performance gap recovered: the area under the
// accuracy curve over the strong-call fraction, less the weak model's area,
// over the strong model's area less the weak model's (trapezoidal rule over
// the curve's own points, as evaluate.py's np.trapz).
func (pc PairCurve) APGR() float64 {
	n := len(pc.StrongPct)
	if n < 2 || pc.Strong == pc.Weak {
		return math.NaN()
	}
	var auc float64
	for i := 1; i < n; i++ {
		auc += (pc.StrongPct[i] - pc.StrongPct[i-1]) / 100 * (pc.Accuracy[i] + pc.Accuracy[i-1]) / 2
	}
	span := (pc.StrongPct[n-1] - pc.StrongPct[0]) / 100
	if span == 0 {
		return math.NaN()
	}
	return (auc - pc.Weak*span) / ((pc.Strong - pc.Weak) * span)
}

// CPT is RouteLLM's "calls to the strong model needed to reach x of the
// performance gap" (x in [0,1], e.g. 0.5 for CPT(50%)), in percent:
// np.interp of the target accuracy weak + x·(strong − weak) over the curve
// (accuracy → strong %). For a curve whose accuracy rises with strong %
// that is the interpolated crossing; otherwise this takes the first
// crossing in order of strong %, which is what np.interp means for a
// monotone curve. Below the curve's start it is the first point's %,
// above its maximum the last point's %.
func (pc PairCurve) CPT(x float64) float64 {
	n := len(pc.StrongPct)
	if n == 0 {
		return math.NaN()
	}
	target := pc.Weak + x*(pc.Strong-pc.Weak)
	if target <= pc.Accuracy[0] {
		return pc.StrongPct[0]
	}
	for i := 1; i < n; i++ {
		if pc.Accuracy[i] >= target {
			a0, a1 := pc.Accuracy[i-1], pc.Accuracy[i]
			p0, p1 := pc.StrongPct[i-1], pc.StrongPct[i]
			if a1 == a0 {
				return p1
			}
			return p0 + (p1-p0)*(target-a0)/(a1-a0)
		}
	}
	return pc.StrongPct[n-1]
}
