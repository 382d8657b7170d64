package quality

import (
	"math"
	"sort"
)

// KNNConfig tunes the nearest-neighbour predictor.
type KNNConfig struct {
	K     int     // neighbours per model
	Power float64 // neighbour weight = max(0, cosine)^Power
	Alpha float64 // prior strength: pseudo-neighbours at the model's mean score
}

// knnIndex predicts a model's score on a prompt from its scores on the most
// similar training prompts (cosine over the low-rank embeddings, which the
// training shaped to separate prompts the models answer differently).
type knnIndex struct {
	D      int
	Emb    []float32 // N×D, each row L2-normalised
	Start  []int32   // CSR offsets into Labels, N+1
	Labels []modelScore
	Prior  []float64 // per model mean score
	cfg    KNNConfig
}

// neighbour is one search hit.
type neighbour struct {
	Ex  int32
	Sim float32
}

func normalise(v []float32) {
	var ss float32
	for _, x := range v {
		ss += x * x
	}
	if ss == 0 {
		return
	}
	inv := 1 / float32(math.Sqrt(float64(ss)))
	for i := range v {
		v[i] *= inv
	}
}

func newKNNIndex(embs [][]float32, byEx [][]modelScore, prior []float64, cfg KNNConfig) *knnIndex {
	d := 0
	if len(embs) > 0 {
		d = len(embs[0])
	}
	k := &knnIndex{D: d, Prior: prior, cfg: cfg, Start: make([]int32, 0, len(embs)+1)}
	for i, e := range embs {
		row := append([]float32(nil), e...)
		normalise(row)
		k.Emb = append(k.Emb, row...)
		k.Start = append(k.Start, int32(len(k.Labels)))
		k.Labels = append(k.Labels, byEx[i]...)
	}
	k.Start = append(k.Start, int32(len(k.Labels)))
	return k
}

// search returns the nearest training prompts to e, most similar first:
// 4K of them, so that each model usually finds K among them.
func (k *knnIndex) search(e []float32, dst []neighbour) []neighbour {
	want := 4 * k.cfg.K
	q := make([]float32, len(e))
	copy(q, e)
	normalise(q)
	n := len(k.Start) - 1
	minSim := float32(math.Inf(-1))
	for i := 0; i < n; i++ {
		row := k.Emb[i*k.D : i*k.D+k.D]
		var s float32
		for t, v := range row {
			s += v * q[t]
		}
		if len(dst) == want && s <= minSim {
			continue
		}
		dst = append(dst, neighbour{Ex: int32(i), Sim: s})
		if len(dst) > want {
			// Keep the best `want`: drop the minimum.
			mi := 0
			for j := range dst {
				if dst[j].Sim < dst[mi].Sim {
					mi = j
				}
			}
			dst[mi] = dst[len(dst)-1]
			dst = dst[:len(dst)-1]
		}
		if len(dst) == want {
			minSim = dst[0].Sim
			for _, nb := range dst {
				minSim = min(minSim, nb.Sim)
			}
		}
	}
	sort.Slice(dst, func(a, b int) bool {
		if dst[a].Sim != dst[b].Sim {
			return dst[a].Sim > dst[b].Sim
		}
		return dst[a].Ex < dst[b].Ex
	})
	return dst
}

// estimate returns model m's predicted score from the neighbours: the
// similarity-weighted mean of its scores on the first K neighbours that have
// one, shrunk towards its mean score.
func (k *knnIndex) estimate(nbrs []neighbour, m int) float64 {
	var sw, swy float64
	found := 0
	for _, nb := range nbrs {
		for _, l := range k.Labels[k.Start[nb.Ex]:k.Start[nb.Ex+1]] {
			if int(l.M) != m {
				continue
			}
			w := math.Pow(max(0, float64(nb.Sim)), k.cfg.Power)
			sw += w
			swy += w * float64(l.Score)
			found++
			break
		}
		if found == k.cfg.K {
			break
		}
	}
	a := k.cfg.Alpha
	return (swy + a*k.Prior[m]) / (sw + a)
}
