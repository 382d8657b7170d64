package quality

import (
	"math"
	"math/rand/v2"
)

// LogisticConfig tunes the per-model logistic regressions.
type LogisticConfig struct {
	Epochs int     // passes over the data
	Rate   float64 // AdaGrad base learning rate
	L2     float64 // L2 penalty per update, applied to touched weights
	// Bags, when above 1, trains that many regressions on different
	// orders of the data and averages their weights: one linear model
	// still, so prediction costs the same, with less of the noise of
	// one stochastic run.
	Bags int
}

// label is one training target of a per-model task: example index and score.
type label struct {
	Ex    int32
	Score float32
}

// sigmoid is the logistic function.
func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// logit is the inverse of sigmoid, clamped away from ±Inf.
func logit(p float64) float64 {
	p = min(1-1e-6, max(1e-6, p))
	return math.Log(p / (1 - p))
}

// linearModel is a logistic regression over the feature space.
type linearModel struct {
	W    []float32
	Bias float32
}

func (m *linearModel) predict(x Sparse) float64 {
	return sigmoid(float64(x.Dot(m.W) + m.Bias))
}

// trainLogistic fits one logistic regression on labels (soft labels in
// [0,1] allowed) with AdaGrad and lazy L2, in a deterministic order.
func trainLogistic(X []Sparse, labels []label, dim int, cfg LogisticConfig, seed uint64) linearModel {
	if cfg.Bags <= 1 {
		return trainLogistic1(X, labels, dim, cfg, seed)
	}
	avg := linearModel{W: make([]float32, dim)}
	inv := 1 / float32(cfg.Bags)
	for b := range cfg.Bags {
		m := trainLogistic1(X, labels, dim, cfg, seed+uint64(b)*0x9e3779b97f4a7c15)
		for j, w := range m.W {
			avg.W[j] += w * inv
		}
		avg.Bias += m.Bias * inv
	}
	return avg
}

// trainLogistic1 is one stochastic run of trainLogistic.
func trainLogistic1(X []Sparse, labels []label, dim int, cfg LogisticConfig, seed uint64) linearModel {
	m := linearModel{W: make([]float32, dim)}
	if len(labels) == 0 {
		return m
	}
	// Start the bias at the base rate's logit: the first epochs then learn
	// deviations, not the mean.
	var mean float64
	for _, l := range labels {
		mean += float64(l.Score)
	}
	m.Bias = float32(logit(mean / float64(len(labels))))
	g2 := make([]float32, dim)
	var gb2 float64
	order := make([]int32, len(labels))
	for i := range order {
		order[i] = int32(i)
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	rate := float32(cfg.Rate)
	l2 := float32(cfg.L2)
	for ep := 0; ep < cfg.Epochs; ep++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, oi := range order {
			l := labels[oi]
			x := X[l.Ex]
			g := float32(m.predict(x) - float64(l.Score))
			for k, j := range x.Idx {
				gj := g*x.Val[k] + l2*m.W[j]
				g2[j] += gj * gj
				m.W[j] -= rate * gj / float32(math.Sqrt(float64(g2[j])+1e-8))
			}
			gb2 += float64(g * g)
			m.Bias -= float32(cfg.Rate * float64(g) / math.Sqrt(gb2+1e-8))
		}
	}
	return m
}
