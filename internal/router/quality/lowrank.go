package quality

import (
	"math"
	"math/rand/v2"
)

// LowRankConfig tunes the shared low-rank model.
type LowRankConfig struct {
	Dim    int     // embedding dimension d
	Epochs int     // passes over the data
	Rate   float64 // AdaGrad base learning rate
	L2     float64 // L2 penalty on the projection and model vectors
}

// lowRank is a shared low-rank model: a prompt's embedding is a linear
// projection of its features, e = Pᵀx (d dims), and model m's predicted
// score is σ(u_m·e + b_m). All models share P, so a model seen on few
// prompts borrows what the others taught the embedding; a new model needs
// only u and b, fitted from a few hundred labelled prompts (FitModel).
type lowRank struct {
	D int
	P []float32 // feature-major: P[j*D : j*D+D] is feature j's row
	U []float32 // model-major: U[m*D : m*D+D]
	B []float32
}

// embed returns Pᵀx in dst (resized to D).
func (l *lowRank) embed(x Sparse, dst []float32) []float32 {
	d := l.D
	if cap(dst) < d {
		dst = make([]float32, d)
	}
	dst = dst[:d]
	clear(dst)
	for k, j := range x.Idx {
		v := x.Val[k]
		row := l.P[int(j)*d : int(j)*d+d]
		for t := range row {
			dst[t] += v * row[t]
		}
	}
	return dst
}

func (l *lowRank) logit(e []float32, m int) float64 {
	u := l.U[m*l.D : m*l.D+l.D]
	var z float32
	for t := range u {
		z += u[t] * e[t]
	}
	return float64(z + l.B[m])
}

// trainLowRank fits the low-rank model jointly on all models' labels.
// byEx[i] lists example i's (model, score) pairs.
func trainLowRank(X []Sparse, byEx [][]modelScore, numModels, dim int, cfg LowRankConfig, seed uint64, progress func(float64)) *lowRank {
	d := cfg.Dim
	l := &lowRank{D: d, P: make([]float32, dim*d), U: make([]float32, numModels*d), B: make([]float32, numModels)}
	rng := rand.New(rand.NewPCG(seed, 0x10a4))
	scale := float32(1 / math.Sqrt(float64(d)))
	for i := range l.P {
		l.P[i] = float32(rng.NormFloat64()) * scale * 0.5
	}
	for i := range l.U {
		l.U[i] = float32(rng.NormFloat64()) * scale * 0.5
	}
	// Bias starts at each model's base rate.
	sum := make([]float64, numModels)
	cnt := make([]float64, numModels)
	for _, ms := range byEx {
		for _, s := range ms {
			sum[s.M] += float64(s.Score)
			cnt[s.M]++
		}
	}
	for m := range l.B {
		if cnt[m] > 0 {
			l.B[m] = float32(logit(sum[m] / cnt[m]))
		}
	}
	gP := make([]float32, dim)
	gU := make([]float32, len(l.U))
	gB := make([]float32, len(l.B))
	e := make([]float32, d)
	ge := make([]float32, d)
	order := make([]int, len(X))
	for i := range order {
		order[i] = i
	}
	rate := float32(cfg.Rate)
	l2 := float32(cfg.L2)
	for ep := 0; ep < cfg.Epochs; ep++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			if len(byEx[i]) == 0 {
				continue
			}
			x := X[i]
			e = l.embed(x, e)
			clear(ge)
			for _, s := range byEx[i] {
				m := int(s.M)
				u := l.U[m*d : m*d+d]
				g := float32(sigmoid(l.logit(e, m)) - float64(s.Score))
				gu := gU[m*d : m*d+d]
				for t := range u {
					ge[t] += g * u[t]
					gt := g*e[t] + l2*u[t]
					gu[t] += gt * gt
					u[t] -= rate * gt / sqrt32(gu[t])
				}
				gB[m] += g * g
				l.B[m] -= rate * g / sqrt32(gB[m])
			}
			// Row-wise AdaGrad on P: one accumulator per feature row (the
			// mean squared gradient of the row), so an update costs one
			// square root per feature, not one per weight.
			var ge2 float32
			for t := range ge {
				ge2 += ge[t] * ge[t]
			}
			ge2 /= float32(d)
			for k, j := range x.Idx {
				v := x.Val[k]
				row := l.P[int(j)*d : int(j)*d+d]
				gP[j] += v * v * ge2
				step := rate / sqrt32(gP[j])
				for t := range row {
					row[t] -= step * (v*ge[t] + l2*row[t])
				}
			}
		}
		if progress != nil {
			progress(float64(ep+1) / float64(cfg.Epochs))
		}
	}
	return l
}

func sqrt32(v float32) float32 { return float32(math.Sqrt(float64(v) + 1e-8)) }

// modelScore is one (model index, score) label of an example.
type modelScore struct {
	M     int32
	Score float32
}
