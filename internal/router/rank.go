package router

import (
	"math"
	"slices"

	"github.com/octomesh/octomesh"
)

// score sets each eligible candidate's score (higher is better) under the
// objective.
//
//   - cheapest: minus the expected cost in dollars;
//   - fastest: minus the expected latency in ms;
//   - quality: candidates whose predicted quality reaches floor × the best
//     score in [1,2] — 1 + (1−tradeoff)·cheapness + tradeoff·quality, both
//     normalised over those candidates — and the rest quality/best, below 1;
//   - weighted: the weighted mean of quality, cheapness and speed, each
//     min-max normalised over the eligible candidates.
func (r *Router) score(sc *scratch, f *facts, opts *octomesh.RouteOptions) {
	switch f.objective {
	case octomesh.ObjectiveFastest:
		for _, ci := range sc.elig {
			c := &sc.cands[ci]
			c.score = -c.latency
		}
	case octomesh.ObjectiveQuality:
		floor, tradeoff := DefaultQualityFloor, 0.0
		if opts.QualityFloor != nil {
			floor = *opts.QualityFloor
		}
		if opts.Tradeoff != nil {
			tradeoff = *opts.Tradeoff
		}
		best := 0.0
		for _, ci := range sc.elig {
			best = max(best, sc.cands[ci].quality)
		}
		threshold := floor*best - 1e-12
		var cost, qual span
		for _, ci := range sc.elig {
			if c := &sc.cands[ci]; c.quality >= threshold {
				cost.add(float64(c.cost))
				qual.add(c.quality)
			}
		}
		for _, ci := range sc.elig {
			c := &sc.cands[ci]
			if c.quality >= threshold {
				c.score = 1 + (1-tradeoff)*cost.low(float64(c.cost)) + tradeoff*qual.high(c.quality)
			} else {
				c.score = c.quality / best
			}
		}
	case octomesh.ObjectiveWeighted:
		w := octomesh.Weights{Quality: 1, Cost: 1, Latency: 1}
		if opts.Weights != nil {
			w = *opts.Weights
		}
		sum := w.Quality + w.Cost + w.Latency
		var cost, qual, lat span
		for _, ci := range sc.elig {
			c := &sc.cands[ci]
			cost.add(float64(c.cost))
			qual.add(c.quality)
			lat.add(c.latency)
		}
		for _, ci := range sc.elig {
			c := &sc.cands[ci]
			c.score = (w.Quality*qual.high(c.quality) + w.Cost*cost.low(float64(c.cost)) + w.Latency*lat.low(c.latency)) / sum
		}
	default: // cheapest
		for _, ci := range sc.elig {
			c := &sc.cands[ci]
			c.score = -float64(c.cost) / float64(octomesh.Dollar)
		}
	}
}

// randomize draws weighted-random priorities for xs. Efraimidis–Spirakis:
// ordering by u^(1/w) descending is a weighted random permutation; its log
// gives the same order.
func (r *Router) randomize(sc *scratch, xs []int) {
	for _, ci := range xs {
		c := &sc.cands[ci]
		c.key = math.Log(r.rand()) / r.deps[c.dep].weight
	}
}

// breakTies reorders each run of xs that eq considers equal (xs being
// sorted) in weighted random order, drawing priorities only for ties.
func (r *Router) breakTies(sc *scratch, xs []int, eq func(a, b *candidate) bool) {
	for i := 0; i < len(xs); {
		j := i + 1
		for j < len(xs) && eq(&sc.cands[xs[i]], &sc.cands[xs[j]]) {
			j++
		}
		if j-i > 1 {
			r.randomize(sc, xs[i:j])
			sortCands(sc, xs[i:j], byKey)
		}
		i = j
	}
}

// span tracks a value's range for min-max normalisation.
type span struct {
	lo, hi float64
	set    bool
}

func (s *span) add(v float64) {
	if !s.set {
		s.lo, s.hi, s.set = v, v, true
		return
	}
	s.lo, s.hi = min(s.lo, v), max(s.hi, v)
}

// low maps v to [0,1], 1 at the low end (lower is better).
func (s *span) low(v float64) float64 {
	if s.hi == s.lo {
		return 1
	}
	return (s.hi - v) / (s.hi - s.lo)
}

// high maps v to [0,1], 1 at the high end (higher is better).
func (s *span) high(v float64) float64 {
	if s.hi == s.lo {
		return 1
	}
	return (v - s.lo) / (s.hi - s.lo)
}

// order builds sc.order: each candidate set (the requested name, then each
// fallback) ordered by its strategy, then the panic-floor candidates,
// least bad first.
func (r *Router) order(sc *scratch) {
	order := sc.order[:0]
	panics := sc.tmp[:0]
	for seg, t := range sc.targets {
		start := len(order)
		for _, ci := range sc.elig {
			c := &sc.cands[ci]
			if c.seg != seg {
				continue
			}
			if c.panic {
				panics = append(panics, ci)
				continue
			}
			order = append(order, ci)
		}
		xs := order[start:]
		if len(xs) < 2 {
			continue
		}
		strategy := t.group.Strategy
		if t.kind == kindAuto {
			strategy = StrategyObjective
		}
		switch strategy {
		case StrategyWeighted:
			r.randomize(sc, xs)
			sortCands(sc, xs, byKey)
		case StrategyLeastOutstanding:
			r.powerOfTwo(sc, xs)
		default:
			sortCands(sc, xs, byScore)
			r.breakTies(sc, xs, func(a, b *candidate) bool { return a.score == b.score })
		}
	}
	for i := 1; i < len(panics); i++ {
		for j := i; j > 0 && r.lessBad(sc, panics[j], panics[j-1]); j-- {
			panics[j], panics[j-1] = panics[j-1], panics[j]
		}
	}
	sc.order = append(order, panics...)
	sc.tmp = panics
}

// powerOfTwo picks two distinct members at random and puts the one with
// fewer outstanding requests per weight first (the first drawn on a tie);
// the others follow, least loaded first.
func (r *Router) powerOfTwo(sc *scratch, xs []int) {
	n := len(xs)
	i := min(int(r.rand()*float64(n)), n-1)
	j := min(int(r.rand()*float64(n-1)), n-2)
	if j >= i {
		j++
	}
	win := i
	if sc.cands[xs[j]].load < sc.cands[xs[i]].load {
		win = j
	}
	xs[0], xs[win] = xs[win], xs[0]
	sortCands(sc, xs[1:], byLoad)
	r.breakTies(sc, xs[1:], func(a, b *candidate) bool { return a.load == b.load })
}

func byScore(a, b *candidate) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.dep < b.dep
}

func byKey(a, b *candidate) bool {
	if a.key != b.key {
		return a.key > b.key
	}
	return a.dep < b.dep
}

func byLoad(a, b *candidate) bool {
	if a.load != b.load {
		return a.load < b.load
	}
	return a.dep < b.dep
}

// sortCands sorts candidate indexes by less.
func sortCands(sc *scratch, xs []int, less func(a, b *candidate) bool) {
	if len(xs) <= 16 {
		for i := 1; i < len(xs); i++ {
			for j := i; j > 0 && less(&sc.cands[xs[j]], &sc.cands[xs[j-1]]); j-- {
				xs[j], xs[j-1] = xs[j-1], xs[j]
			}
		}
		return
	}
	slices.SortFunc(xs, func(a, b int) int {
		switch {
		case less(&sc.cands[a], &sc.cands[b]):
			return -1
		case less(&sc.cands[b], &sc.cands[a]):
			return 1
		}
		return 0
	})
}
