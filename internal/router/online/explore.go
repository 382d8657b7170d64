package online

import "github.com/octomesh/octomesh"

// Candidate is one eligible candidate of a decision, as Explore sees it.
type Candidate struct {
	Model string         // deployment name
	Cost  octomesh.Money // expected cost of the request on it
}

// Explore decides whether an auto decision explores, and where. cands are
// the decision's eligible candidates in the router's order: cands[0] is the
// router's choice, and only candidates the router found eligible for the
// request may be passed. costCap, when hasCap, is the request's cost cap.
//
// It returns -1 (keep the router's choice), or the index i ≥ 1 of the
// candidate to try first: one with fewer than MinObservations (decayed)
// observations in cluster, the fewest of them (ties to the earlier), whose
// expected cost is within the request's cap and within MaxCostRatio × the
// router's choice's. Exploration happens only in clusters whose total
// weight reaches MinClusterWeight, with probability ExploreRate per call,
// and only while the budget (refilled by ExploreRate per call, holding at
// most ExploreBurst) has a whole exploration left: over any N calls at
// most ExploreBurst + ExploreRate·N explore.
//
// Explore is safe for concurrent use and allocates nothing.
func (l *Learner) Explore(cluster int, cands []Candidate, costCap octomesh.Money, hasCap bool) int {
	rate := l.cfg.ExploreRate
	if rate <= 0 {
		return -1
	}
	l.decisions.Add(1)
	l.refill(rate)
	if l.cfg.Rand() >= rate || len(cands) < 2 || cluster < 0 || cluster >= l.cfg.Clusters {
		return -1
	}
	now := l.cfg.Now().UnixNano()
	if l.cfg.MinClusterWeight > 0 {
		var total float64
		for j := range l.models {
			n, _ := l.stats(l.cell(cluster, j), now)
			total += n
		}
		if total < l.cfg.MinClusterWeight {
			return -1
		}
	}
	limit := octomesh.Money(-1) // none
	if r := l.cfg.MaxCostRatio; r > 0 {
		limit = octomesh.Money(r * float64(cands[0].Cost))
	}
	best, bestN := -1, 0.0
	for i := 1; i < len(cands); i++ {
		c := &cands[i]
		j, ok := l.index[c.Model]
		if !ok || hasCap && c.Cost > costCap || limit >= 0 && c.Cost > limit {
			continue
		}
		n, _ := l.stats(l.cell(cluster, j), now)
		if n < l.cfg.MinObservations && (best < 0 || n < bestN) {
			best, bestN = i, n
		}
	}
	if best < 0 || !l.spend() {
		return -1
	}
	l.explored.Add(1)
	return best
}

// refill adds rate to the exploration budget, up to ExploreBurst.
func (l *Learner) refill(rate float64) {
	for {
		c := l.credit.load()
		if c >= l.cfg.ExploreBurst || l.credit.cas(c, min(c+rate, l.cfg.ExploreBurst)) {
			return
		}
	}
}

// spend takes one exploration from the budget, if it has one.
func (l *Learner) spend() bool {
	for {
		c := l.credit.load()
		if c < 1 {
			return false
		}
		if l.credit.cas(c, c-1) {
			return true
		}
	}
}
