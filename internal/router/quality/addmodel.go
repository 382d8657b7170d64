package quality

import (
	"fmt"
	"math"
	"slices"
)

// ModelPrice is the price of a model added with WithModel.
type ModelPrice struct {
	InPerToken    float64 // USD per input token
	OutPerToken   float64 // USD per output token
	MeanOutTokens float64 // expected output length
}

// WithModel returns a new router that also predicts model, fitted from
// prompts labelled with the model's scores in [0,1] (a few hundred prompts
// suffice). With a low-rank component the prompt embeddings stay frozen and
// only the model's vector u and bias b are fitted (a d+1 parameter
// logistic regression); otherwise a logistic regression on the features.
// The new model's prediction uses that fitted component alone. The
// receiver is not modified; the two routers share their read-only parts.
// It returns an error if model is already known, or the inputs are empty,
// of different lengths or out of range.
func (r *Router) WithModel(model string, prompts []string, scores []float64, price ModelPrice) (*Router, error) {
	if model == "" || r.Known(model) {
		return nil, fmt.Errorf("add model %q: empty or already known", model)
	}
	if len(prompts) == 0 || len(prompts) != len(scores) {
		return nil, fmt.Errorf("add model %q: %d prompts and %d scores", model, len(prompts), len(scores))
	}
	for _, s := range scores {
		if !(s >= 0 && s <= 1) {
			return nil, fmt.Errorf("add model %q: score %v out of [0,1]", model, s)
		}
	}
	f, err := NewFeaturiser(r.features)
	if err != nil {
		return nil, err
	}
	X := make([]Sparse, len(prompts))
	labels := make([]label, len(prompts))
	for i, p := range prompts {
		X[i] = f.Features(p).Clone()
		labels[i] = label{Ex: int32(i), Score: float32(scores[i])}
	}
	// Insert the model at its sorted position; every per-model slice
	// shifts by one from there.
	pos, _ := slices.BinarySearch(r.models, model)
	n := &Router{
		features: r.features, prior: r.prior, knn: r.knn, tokPerByte: r.tokPerByte,
		blend: r.blend, lambdaKnots: r.lambdaKnots,
		models: slices.Insert(slices.Clone(r.models), pos, model),
	}
	solo := [numComponents]float64{}
	if r.lowRank != nil {
		l := *r.lowRank
		u, b := fitFrozen(X, labels, r.lowRank)
		l.U = slices.Insert(slices.Clone(r.lowRank.U), pos*l.D, u...)
		l.B = slices.Insert(slices.Clone(r.lowRank.B), pos, b)
		n.lowRank = &l
		solo[compLowRank] = 1
	}
	if r.lr != nil {
		var m linearModel
		if r.lowRank == nil {
			m = trainLogistic(X, labels, r.features.Dim(), LogisticConfig{Epochs: 8, Rate: 0.05, L2: 1e-5}, 1)
			solo[compLR] = 1
		} else {
			m = linearModel{W: make([]float32, r.features.Dim())} // unused: the low-rank part predicts
		}
		n.lr = slices.Insert(slices.Clone(r.lr), pos, m)
	}
	if r.lowRank == nil && r.lr == nil {
		return nil, fmt.Errorf("add model %q: the router has neither a low-rank nor a logistic component", model)
	}
	n.modelBlend = slices.Insert(r.blendTable(), pos, solo)
	if r.calib != nil {
		n.calib = slices.Insert(slices.Clone(r.calib), pos, [2]float64{1, 0}) // its own component, fitted alone, needs none
	}
	if r.knn != nil {
		// kNN indices refer to the old model positions: shift them.
		k := *r.knn
		k.Labels = make([]modelScore, len(r.knn.Labels))
		for i, l := range r.knn.Labels {
			if int(l.M) >= pos {
				l.M++
			}
			k.Labels[i] = l
		}
		k.Prior = slices.Insert(slices.Clone(r.knn.Prior), pos, meanOf(scores))
		n.knn = &k
	}
	c := costModel{PriceIn: price.InPerToken, PriceOut: price.OutPerToken, OutMean: price.MeanOutTokens,
		HasOut: price.OutPerToken > 0, Samples: len(prompts)}
	var tin float64
	for _, p := range prompts {
		tin += r.tokPerByte * float64(len(p))
	}
	c.Typical = c.expected(tin/float64(len(prompts)), nil)
	n.cost = slices.Insert(slices.Clone(r.cost), pos, c)
	n.init()
	return n, nil
}

// blendTable returns a copy of the per-model blend weights.
func (r *Router) blendTable() [][numComponents]float64 {
	t := make([][numComponents]float64, len(r.models))
	for i := range t {
		if r.modelBlend != nil {
			t[i] = r.modelBlend[i]
		} else {
			copy(t[i][:], r.blend)
		}
	}
	return t
}

func meanOf(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(max(1, len(v)))
}

// fitFrozen fits u and b of σ(u·e + b) on the frozen embeddings of X by
// Newton's method with a small ridge penalty (d+1 parameters: exact and
// fast).
func fitFrozen(X []Sparse, labels []label, l *lowRank) ([]float32, float32) {
	d := l.D
	embs := make([][]float64, len(X))
	for i, x := range X {
		e := l.embed(x, nil)
		row := make([]float64, d+1)
		for t, v := range e {
			row[t] = float64(v)
		}
		row[d] = 1
		embs[i] = row
	}
	w := make([]float64, d+1)
	w[d] = logit(meanOf(func() []float64 {
		s := make([]float64, len(labels))
		for i, lb := range labels {
			s[i] = float64(lb.Score)
		}
		return s
	}()))
	const ridge = 1e-2
	for it := 0; it < 25; it++ {
		h := make([]float64, (d+1)*(d+1))
		g := make([]float64, d+1)
		for _, lb := range labels {
			x := embs[lb.Ex]
			var z float64
			for t := range x {
				z += w[t] * x[t]
			}
			p := sigmoid(z)
			r := p - float64(lb.Score)
			s := math.Max(p*(1-p), 1e-6)
			for a := range x {
				g[a] += r * x[a]
				for b := range x {
					h[a*(d+1)+b] += s * x[a] * x[b]
				}
			}
		}
		for a := 0; a < d; a++ { // the bias is not penalised
			g[a] += ridge * w[a]
			h[a*(d+1)+a] += ridge
		}
		h[d*(d+1)+d] += 1e-9
		step := solveSPD(h, g, d+1)
		var norm float64
		for t := range w {
			w[t] -= step[t]
			norm += step[t] * step[t]
		}
		if norm < 1e-12 {
			break
		}
	}
	u := make([]float32, d)
	for t := range u {
		u[t] = float32(w[t])
	}
	return u, float32(w[d])
}
