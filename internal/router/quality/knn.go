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
	MaxDF float64 // features in more than this fraction of the training prompts are not indexed
}

// knnIndex predicts a model's score on a prompt from its scores on the most
// similar training prompts: cosine similarity of the hashed feature vectors,
// searched through an inverted index (bucket → prompts). Features common to
// more than MaxDF of the prompts are left out of the index: they say little
// about which prompts are alike and would make every query touch every
// prompt.
type knnIndex struct {
	N      int       // training prompts
	Start  []int32   // CSR over buckets: postings of bucket j are [Start[j], Start[j+1])
	Doc    []int32   // posting prompt
	Val    []float32 // posting weight (the prompt's normalised feature value)
	LStart []int32   // CSR offsets into Labels per prompt, N+1
	Labels []modelScore
	Prior  []float64 // per model mean score
	cfg    KNNConfig
}

// neighbour is one search hit.
type neighbour struct {
	Ex  int32
	Sim float32
}

// newKNNIndex indexes the training vectors X (indices below buckets only:
// the dense shape block is left out) with their labels.
func newKNNIndex(X []Sparse, byEx [][]modelScore, buckets int, prior []float64, cfg KNNConfig) *knnIndex {
	k := &knnIndex{N: len(X), Prior: prior, cfg: cfg}
	// A vector may hold a bucket more than once (blocks share the hashed
	// space): postings are per (bucket, prompt), so count each once.
	df := make([]int32, buckets)
	lastDoc := make([]int32, buckets)
	for j := range lastDoc {
		lastDoc[j] = -1
	}
	norms := make([]float32, len(X))
	for i, x := range X {
		var ss float32
		for t, j := range x.Idx {
			if int(j) < buckets {
				if lastDoc[j] != int32(i) {
					df[j]++
					lastDoc[j] = int32(i)
				}
				ss += x.Val[t] * x.Val[t]
			}
		}
		if ss > 0 {
			norms[i] = 1 / float32(math.Sqrt(float64(ss)))
		}
	}
	maxDF := int32(math.Max(1, cfg.MaxDF*float64(len(X))))
	k.Start = make([]int32, buckets+1)
	for j, n := range df {
		if n > maxDF {
			n = 0
		}
		k.Start[j+1] = k.Start[j] + n
	}
	k.Doc = make([]int32, k.Start[buckets])
	k.Val = make([]float32, k.Start[buckets])
	fill := append([]int32(nil), k.Start[:buckets]...)
	for i, x := range X {
		for t, j := range x.Idx {
			if int(j) >= buckets || df[j] > maxDF {
				continue
			}
			if p := fill[j] - 1; p >= k.Start[j] && k.Doc[p] == int32(i) {
				k.Val[p] += x.Val[t] * norms[i] // the same prompt again
				continue
			}
			p := fill[j]
			fill[j]++
			k.Doc[p] = int32(i)
			k.Val[p] = x.Val[t] * norms[i]
		}
	}
	k.LStart = make([]int32, 0, len(X)+1)
	for _, ms := range byEx {
		k.LStart = append(k.LStart, int32(len(k.Labels)))
		k.Labels = append(k.Labels, ms...)
	}
	k.LStart = append(k.LStart, int32(len(k.Labels)))
	return k
}

// search returns the training prompts most similar to x, most similar
// first: 4K of them, so that each model usually finds K among them. acc is
// scratch of length N (all zero on entry and on return).
func (k *knnIndex) search(x Sparse, acc []float32, touched []int32, dst []neighbour) ([]neighbour, []int32) {
	buckets := len(k.Start) - 1
	var ss float32
	for t, j := range x.Idx {
		if int(j) < buckets {
			ss += x.Val[t] * x.Val[t]
		}
	}
	if ss == 0 {
		return dst, touched
	}
	inv := 1 / float32(math.Sqrt(float64(ss)))
	touched = touched[:0]
	for t, j := range x.Idx {
		if int(j) >= buckets {
			continue
		}
		v := x.Val[t] * inv
		for p := k.Start[j]; p < k.Start[j+1]; p++ {
			d := k.Doc[p]
			if acc[d] == 0 {
				touched = append(touched, d)
			}
			acc[d] += v * k.Val[p]
			if acc[d] == 0 {
				acc[d] = 1e-30
			}
		}
	}
	for _, d := range touched {
		dst = append(dst, neighbour{Ex: d, Sim: acc[d]})
		acc[d] = 0
	}
	want := 4 * k.cfg.K
	sort.Slice(dst, func(a, b int) bool {
		if dst[a].Sim != dst[b].Sim {
			return dst[a].Sim > dst[b].Sim
		}
		return dst[a].Ex < dst[b].Ex
	})
	if len(dst) > want {
		dst = dst[:want]
	}
	return dst, touched
}

// estimate returns model m's predicted score from the neighbours: the
// similarity-weighted mean of its scores on the first K neighbours that have
// one (weights (cosine / the best cosine)^Power, so the nearest weighs 1),
// shrunk towards its mean score by Alpha pseudo-neighbours.
func (k *knnIndex) estimate(nbrs []neighbour, m int) float64 {
	var sw, swy float64
	found := 0
	top := 0.0
	if len(nbrs) > 0 {
		top = float64(nbrs[0].Sim)
	}
	for _, nb := range nbrs {
		for _, l := range k.Labels[k.LStart[nb.Ex]:k.LStart[nb.Ex+1]] {
			if int(l.M) != m {
				continue
			}
			w := math.Pow(max(0, float64(nb.Sim))/top, k.cfg.Power)
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
