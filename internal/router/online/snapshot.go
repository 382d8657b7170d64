package online

import (
	"cmp"
	"slices"
	"time"
)

// Snapshot is everything a Learner holds, for inspection: cluster ids,
// model names, decayed weights and mean scores, label counts and the
// exploration counters. It is JSON-encodable.
type Snapshot struct {
	Time      time.Time    `json:"time"`
	Decisions int64        `json:"decisions"` // Explore calls
	Explored  int64        `json:"explored"`  // of which explored
	Cells     []CellStats  `json:"cells"`     // cells with feedback, by cluster then model
	Labels    []LabelCount `json:"labels"`    // by model then label
}

// CellStats is one (cluster, model) cell with feedback.
type CellStats struct {
	Cluster int     `json:"cluster"`
	Model   string  `json:"model"`
	Weight  float64 `json:"weight"` // decayed observation count n
	Mean    float64 `json:"mean"`   // s / n
}

// LabelCount is how often a label was given to a model's answers.
type LabelCount struct {
	Model string `json:"model"`
	Label string `json:"label"`
	Count int64  `json:"count"`
}

// Stats returns the decayed weight and mean score of model in cluster now;
// ok is false for an unknown model or cluster. A cell without feedback has
// weight 0 and mean 0.
func (l *Learner) Stats(cluster int, model string) (weight, mean float64, ok bool) {
	j, found := l.index[model]
	c := l.cell(cluster, 0)
	if !found || c == nil {
		return 0, 0, false
	}
	n, s := l.stats(l.cell(cluster, j), l.cfg.Now().UnixNano())
	if n > 0 {
		mean = s / n
	}
	return n, mean, true
}

// Snapshot returns the Learner's statistics now. It is safe to call
// concurrently with decisions and feedback.
func (l *Learner) Snapshot() Snapshot {
	now := l.cfg.Now()
	ns := now.UnixNano()
	snap := Snapshot{Time: now, Decisions: l.decisions.Load(), Explored: l.explored.Load(), Cells: []CellStats{}, Labels: []LabelCount{}}
	for k := 0; k < l.cfg.Clusters; k++ {
		for j, m := range l.models {
			n, s := l.stats(l.cell(k, j), ns)
			if n > 0 {
				snap.Cells = append(snap.Cells, CellStats{Cluster: k, Model: m, Weight: n, Mean: s / n})
			}
		}
	}
	l.labelMu.Lock()
	for k, n := range l.labels {
		snap.Labels = append(snap.Labels, LabelCount{Model: l.models[k.model], Label: k.label, Count: n})
	}
	l.labelMu.Unlock()
	slices.SortFunc(snap.Labels, func(a, b LabelCount) int {
		return cmp.Or(cmp.Compare(a.Model, b.Model), cmp.Compare(a.Label, b.Label))
	})
	return snap
}
