package quality

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
)

// TrainConfig configures training. The zero value is not useful; start from
// DefaultTrainConfig.
type TrainConfig struct {
	Features   FeatureConfig
	Predictor  string // "lr", "lowrank", "knn", components joined by "+" (a learned blend, e.g. "lr+lowrank"), or "ensemble" (all three)
	LR         LogisticConfig
	LowRank    LowRankConfig
	KNN        KNNConfig
	InnerFolds int     // folds of the inner cross-validation that calibrates the blend and the tradeoff mapping; <2 disables it
	CostRidge  float64 // L2 penalty of the output-length regressions
	Calibrate  bool    // fit per-model Platt scaling on the inner cross-validation's predictions
	Seed       uint64
	Workers    int // parallel workers; 0 means GOMAXPROCS
}

// DefaultTrainConfig is the configuration of the shipped router.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{
		Features:   DefaultFeatureConfig(),
		Predictor:  "lr",
		LR:         LogisticConfig{Epochs: 6, Rate: 0.01, L2: 1e-5},
		LowRank:    LowRankConfig{Dim: 16, Epochs: 8, Rate: 0.01, L2: 1e-5},
		KNN:        KNNConfig{K: 100, Power: 1, Alpha: 5, MaxDF: 0.2},
		InnerFolds: 3,
		CostRidge:  1e-3,
		Calibrate:  false, // see docs/quality-router.md: better log loss, worse routing on two files of four
		Seed:       1,
	}
}

// Validate reports a configuration error.
func (c TrainConfig) Validate() error {
	if err := c.Features.Validate(); err != nil {
		return err
	}
	if len(c.components()) == 0 {
		return fmt.Errorf("predictor %q: want lr, lowrank, knn, ensemble (all three), or components joined by '+' (e.g. lr+lowrank)", c.Predictor)
	}
	if c.uses(compLR) && (c.LR.Epochs < 1 || c.LR.Rate <= 0) {
		return fmt.Errorf("lr: epochs and rate must be positive")
	}
	if c.uses(compLowRank) && (c.LowRank.Dim < 1 || c.LowRank.Epochs < 1 || c.LowRank.Rate <= 0) {
		return fmt.Errorf("lowrank: dim, epochs and rate must be positive")
	}
	if c.uses(compKNN) && (c.KNN.K < 1 || c.KNN.Alpha < 0 || c.KNN.MaxDF <= 0) {
		return fmt.Errorf("knn: k and max_df must be positive and alpha non-negative")
	}
	return nil
}

// components returns the predictor's components, in blend order, or nil if
// the predictor names an unknown one.
func (c TrainConfig) components() []int {
	name := c.Predictor
	if name == "ensemble" {
		name = "lr+lowrank+knn"
	}
	var out []int
	seen := [numComponents]bool{}
	for _, part := range strings.Split(name, "+") {
		k := slices.Index(componentNames[:], strings.TrimSpace(part))
		if k < 0 || seen[k] {
			return nil
		}
		seen[k] = true
	}
	for k := range seen {
		if seen[k] {
			out = append(out, k)
		}
	}
	return out
}

// uses reports whether the predictor needs component k trained.
func (c TrainConfig) uses(k int) bool { return slices.Contains(c.components(), k) }

// blended reports whether the predictor blends several components (whose
// weights the inner cross-validation fits).
func (c TrainConfig) blended() bool { return len(c.components()) > 1 }

func (c TrainConfig) workers() int {
	if c.Workers > 0 {
		return c.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// Progress reports training progress: a stage name and the fraction of all
// work done, in [0,1].
type Progress func(stage string, done float64)

// corpus is a featurised set of examples, shared by every training run of
// a cross-validation.
type corpus struct {
	cfg    FeatureConfig
	ex     []Example
	X      []Sparse
	shapes [][]float32
	models []string       // all model names, sorted
	index  map[string]int // name → index in models
	byEx   [][]modelScore // per example, indices into models
}

// newCorpus featurises examples with cfg, in parallel.
func newCorpus(ctx context.Context, examples []Example, cfg FeatureConfig, workers int, progress func(float64)) (*corpus, error) {
	c := &corpus{cfg: cfg, ex: examples, X: make([]Sparse, len(examples)), shapes: make([][]float32, len(examples))}
	set := map[string]bool{}
	for _, e := range examples {
		for _, o := range e.Outcomes {
			set[o.Model] = true
		}
	}
	for m := range set {
		c.models = append(c.models, m)
	}
	sort.Strings(c.models)
	c.index = make(map[string]int, len(c.models))
	for i, m := range c.models {
		c.index[m] = i
	}
	c.byEx = make([][]modelScore, len(examples))
	for i, e := range examples {
		for _, o := range e.Outcomes {
			c.byEx[i] = append(c.byEx[i], modelScore{M: int32(c.index[o.Model]), Score: float32(o.Score)})
		}
	}
	err := parallel(ctx, len(examples), workers, func() func(i int) {
		f, _ := NewFeaturiser(cfg)
		return func(i int) {
			c.X[i] = f.Features(examples[i].Prompt).Clone()
			sh := *f.Shape() // Features leaves the prompt's shape features
			c.shapes[i] = sh[:]
		}
	}, progress)
	return c, err
}

// parallel runs fn(i) for i in [0,n) on workers goroutines, each with its
// own state from mk, reporting progress every few hundred items.
func parallel(ctx context.Context, n, workers int, mk func() func(int), progress func(float64)) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	next, done := 0, 0
	for w := 0; w < max(1, workers); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn := mk()
			for {
				mu.Lock()
				if next >= n || ctx.Err() != nil {
					mu.Unlock()
					return
				}
				lo := next
				next = min(n, next+64)
				hi := next
				mu.Unlock()
				for i := lo; i < hi; i++ {
					fn(i)
				}
				mu.Lock()
				done += hi - lo
				if progress != nil {
					progress(float64(done) / float64(n))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// Train trains a router on examples. progress may be nil.
func Train(ctx context.Context, examples []Example, cfg TrainConfig, progress Progress) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(examples) == 0 {
		return nil, fmt.Errorf("train: no examples")
	}
	if progress == nil {
		progress = func(string, float64) {}
	}
	c, err := newCorpus(ctx, examples, cfg.Features, cfg.workers(), func(f float64) { progress("featurise", 0.1*f) })
	if err != nil {
		return nil, err
	}
	all := make([]int, len(examples))
	for i := range all {
		all[i] = i
	}
	return c.train(ctx, all, cfg, func(s string, f float64) { progress(s, 0.1+0.9*f) })
}

// train trains a router on the examples at positions subset of c,
// calibrating the blend and the tradeoff mapping by an inner
// cross-validation when cfg.InnerFolds ≥ 2.
func (c *corpus) train(ctx context.Context, subset []int, cfg TrainConfig, progress Progress) (*Router, error) {
	inner := cfg.InnerFolds
	if inner < 2 {
		inner = 0
	}
	steps := float64(inner + 1)
	var oof *predictions
	if inner > 0 {
		oof = newPredictions(len(subset))
		for f := 0; f < inner; f++ {
			var tr, te []int
			for k, i := range subset {
				if foldOf(c.ex[i].ID, inner, 0x1b873593) == f {
					te = append(te, k)
				} else {
					tr = append(tr, i)
				}
			}
			step := float64(f)
			r, err := c.fit(ctx, tr, cfg, nil, func(s string, x float64) { progress("inner cv: "+s, (step+x)/steps) })
			if err != nil {
				return nil, err
			}
			for _, k := range te {
				oof.fill(k, r, c, subset[k])
			}
		}
	}
	r, err := c.fit(ctx, subset, cfg, oof, func(s string, x float64) { progress(s, (float64(inner)+x)/steps) })
	if err != nil {
		return nil, err
	}
	if oof != nil {
		// The inner folds' predictions calibrate the blend (only the final
		// router's; the inner routers used equal weights) and λ(T).
		if cfg.blended() {
			r.blend = fitBlend(oof, c, subset)
			oof.reblend(r.blend)
		}
		if cfg.Calibrate {
			r.calib = fitCalibration(oof, c, subset, r)
			oof.recalibrate(c, subset, r)
		}
		r.lambdaKnots = calibrateLambda(oof, c, subset, r)
	}
	progress("done", 1)
	return r, nil
}

// fit trains the router's components on subset (no calibration).
func (c *corpus) fit(ctx context.Context, subset []int, cfg TrainConfig, _ *predictions, progress Progress) (*Router, error) {
	// Models present in the subset, and the label lists.
	present := make([]bool, len(c.models))
	for _, i := range subset {
		for _, s := range c.byEx[i] {
			present[s.M] = true
		}
	}
	remap := make([]int32, len(c.models))
	r := &Router{features: cfg.Features, tokPerByte: 0.25}
	for m, ok := range present {
		remap[m] = -1
		if ok {
			remap[m] = int32(len(r.models))
			r.models = append(r.models, c.models[m])
		}
	}
	M := len(r.models)
	X := make([]Sparse, len(subset))
	byEx := make([][]modelScore, len(subset))
	perModel := make([][]label, M)
	var sum, n float64
	for k, i := range subset {
		X[k] = c.X[i]
		for _, s := range c.byEx[i] {
			m := remap[s.M]
			byEx[k] = append(byEx[k], modelScore{M: m, Score: s.Score})
			perModel[m] = append(perModel[m], label{Ex: int32(k), Score: s.Score})
			sum += float64(s.Score)
			n++
		}
	}
	r.prior = sum / n
	r.blend = make([]float64, numComponents)
	dim := cfg.Features.Dim()
	var parts []int
	for k := 0; k < numComponents; k++ {
		if cfg.uses(k) {
			parts = append(parts, k)
		}
	}
	for _, k := range parts {
		r.blend[k] = 1 / float64(len(parts))
	}
	done := 0.0
	work := 0.0
	if cfg.uses(compLR) {
		work += 1
	}
	if cfg.uses(compLowRank) {
		work += 1
	}
	if cfg.uses(compLR) {
		r.lr = make([]linearModel, M)
		var mu sync.Mutex
		finished := 0
		err := parallel(ctx, M, cfg.workers(), func() func(int) {
			return func(m int) {
				r.lr[m] = trainLogistic(X, perModel[m], dim, cfg.LR, cfg.Seed+uint64(m)*7919)
				roundHalves(r.lr[m].W) // what the artifact stores
				mu.Lock()
				finished++
				progress("logistic regression", (done+float64(finished)/float64(M))/work)
				mu.Unlock()
			}
		}, nil)
		if err != nil {
			return nil, err
		}
		done++
	}
	if cfg.uses(compLowRank) {
		r.lowRank = trainLowRank(X, byEx, M, dim, cfg.LowRank, cfg.Seed, func(f float64) {
			progress("low-rank model", (done+f)/work)
		})
		roundHalves(r.lowRank.P)
		done++
	}
	if cfg.uses(compKNN) {
		prior := make([]float64, M)
		for m, ls := range perModel {
			var s float64
			for _, l := range ls {
				s += float64(l.Score)
			}
			prior[m] = s / float64(max(1, len(ls)))
		}
		r.knn = newKNNIndex(X, byEx, 1<<cfg.Features.Bits, prior, cfg.KNN)
		roundHalves(r.knn.Val)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Costs.
	samples := make([][]costSample, M)
	for _, i := range subset {
		e := &c.ex[i]
		for _, o := range e.Outcomes {
			m := remap[c.index[o.Model]]
			samples[m] = append(samples[m], costSample{
				Bytes: len(e.Prompt), TokensIn: o.TokensIn, TokensOut: o.TokensOut, Cost: o.Cost,
				PriceIn: o.PriceIn, PriceOut: o.PriceOut, Shape: c.shapes[i],
			})
		}
	}
	r.tokPerByte = fitTokensPerByte(samples)
	r.cost = make([]costModel, M)
	for m := range r.cost {
		r.cost[m] = fitCost(samples[m], r.tokPerByte, cfg.CostRidge)
		r.cost[m].Typical = r.cost[m].typicalCost(samples[m], r.tokPerByte)
	}
	r.init()
	return r, nil
}

// foldOf assigns an example id to one of k folds by hashing it (FNV-1a,
// mixed with salt so inner folds differ from outer ones).
func foldOf(id string, k int, salt uint64) int {
	h := uint64(14695981039346656037) ^ salt
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	return int(mix64(h) % uint64(k))
}

// mix64 is the murmur3 64-bit finaliser.
func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// predictions holds out-of-fold predictions for a subset of a corpus: per
// example, per outcome (in byEx order), each component's logit, the blended
// score and the expected cost.
type predictions struct {
	comp  [][][numComponents]float64 // [k][outcome][component] logits
	q     [][]float64
	cost  [][]float64
	scale []float64 // the router's costScale for the example's candidates
	valid []bool
}

func newPredictions(n int) *predictions {
	return &predictions{
		comp: make([][][numComponents]float64, n), q: make([][]float64, n),
		cost: make([][]float64, n), scale: make([]float64, n), valid: make([]bool, n),
	}
}

// fill stores router r's predictions for corpus example i at position k.
func (p *predictions) fill(k int, r *Router, c *corpus, i int) {
	s := r.get()
	defer r.put(s)
	x := c.X[i]
	ms := c.byEx[i]
	s.idx = s.idx[:0]
	for _, m := range ms {
		j, ok := r.index[c.models[m.M]]
		if !ok {
			j = -1
		}
		s.idx = append(s.idx, j)
	}
	comp := append([][numComponents]float64(nil), r.componentLogits(s, x, s.idx)...)
	q := make([]float64, len(ms))
	r.blendInto(comp, s.idx, q)
	for o, j := range s.idx {
		if j < 0 {
			for k := range comp[o] {
				comp[o][k] = logit(q[o])
			}
		}
	}
	copy(s.f.shape[:], c.shapes[i])
	cost := make([]float64, len(ms))
	r.costsInto(s, len(c.ex[i].Prompt), s.idx, cost)
	p.comp[k], p.q[k], p.cost[k], p.valid[k] = comp, q, cost, true
	p.scale[k] = r.costScale(s.idx, cost)
}

// reblend recomputes the blended scores with weights w.
func (p *predictions) reblend(w []float64) {
	for k := range p.q {
		for o := range p.q[k] {
			var z float64
			for c := range w {
				z += w[c] * p.comp[k][o][c]
			}
			p.q[k][o] = sigmoid(z)
		}
	}
}

// fitCalibration fits, per model, the Platt scaling σ(a·z + b) of its
// out-of-fold blended logits z against the outcomes (Newton's method on
// the log loss; a model with fewer than 50 outcomes keeps the identity).
// The predictions p must hold the final blend (reblend).
func fitCalibration(p *predictions, c *corpus, subset []int, r *Router) [][2]float64 {
	type obs struct{ z, y float64 }
	per := make([][]obs, len(r.models))
	for k, i := range subset {
		if !p.valid[k] {
			continue
		}
		for o, ms := range c.byEx[i] {
			m, ok := r.index[c.models[ms.M]]
			if !ok {
				continue
			}
			per[m] = append(per[m], obs{logit(p.q[k][o]), float64(ms.Score)})
		}
	}
	out := make([][2]float64, len(r.models))
	for m, os := range per {
		a, b := 1.0, 0.0
		if len(os) >= 50 {
			for it := 0; it < 50; it++ {
				var ga, gb, haa, hab, hbb float64
				for _, o := range os {
					q := sigmoid(a*o.z + b)
					d, w := q-o.y, q*(1-q)+1e-9
					ga += d * o.z
					gb += d
					haa += w * o.z * o.z
					hab += w * o.z
					hbb += w
				}
				// A tiny ridge towards the identity keeps the step defined.
				haa, hbb = haa+1e-6, hbb+1e-6
				det := haa*hbb - hab*hab
				if det <= 0 {
					break
				}
				da, db := (hbb*ga-hab*gb)/det, (haa*gb-hab*ga)/det
				a, b = a-da, b-db
				if math.Abs(da)+math.Abs(db) < 1e-9 {
					break
				}
			}
			if !(a > 0 && a < 100) || math.IsNaN(b) {
				a, b = 1, 0 // never invert or explode a model's ranking
			}
		}
		out[m] = [2]float64{a, b}
	}
	return out
}

// recalibrate applies r's calibration to the predictions' blended scores.
func (p *predictions) recalibrate(c *corpus, subset []int, r *Router) {
	for k, i := range subset {
		if !p.valid[k] {
			continue
		}
		for o, ms := range c.byEx[i] {
			if m, ok := r.index[c.models[ms.M]]; ok {
				p.q[k][o] = sigmoid(r.calib[m][0]*logit(p.q[k][o]) + r.calib[m][1])
			}
		}
	}
}

// fitBlend fits non-negative blend weights of the component logits by
// minimising the log loss of the out-of-fold predictions (projected
// gradient descent; a handful of weights, so plain steps suffice).
func fitBlend(p *predictions, c *corpus, subset []int) []float64 {
	w := make([]float64, numComponents)
	for k := range w {
		w[k] = 1.0 / numComponents
	}
	for it := 0; it < 300; it++ {
		var g [numComponents]float64
		var n float64
		for k, i := range subset {
			if !p.valid[k] {
				continue
			}
			for o, ms := range c.byEx[i] {
				var z float64
				for j := range w {
					z += w[j] * p.comp[k][o][j]
				}
				d := sigmoid(z) - float64(ms.Score)
				for j := range w {
					g[j] += d * p.comp[k][o][j]
				}
				n++
			}
		}
		for j := range w {
			w[j] = max(0, w[j]-0.5*g[j]/n)
		}
	}
	return w
}

// calibrateLambda chooses λ at each tradeoff knot so that T spreads the
// chosen models' cost evenly on a log scale between the cheapest choice
// (T=0) and the best-predicted-quality choice (T=1), averaged over the
// model sets (each distinct set of candidates counts once).
func calibrateLambda(p *predictions, c *corpus, subset []int, r *Router) []float64 {
	const knots = 21
	grid := []float64{0}
	for l := -4.0; l <= 3.0001; l += 0.05 {
		grid = append(grid, math.Pow(10, l))
	}
	// Group examples by candidate set.
	groups := map[string][]int{}
	for k, i := range subset {
		if !p.valid[k] || len(c.byEx[i]) < 2 {
			continue
		}
		key := ""
		for _, m := range c.byEx[i] {
			key += fmt.Sprintf("%d,", m.M)
		}
		groups[key] = append(groups[key], k)
	}
	if len(groups) == 0 {
		return nil
	}
	// f(λ): mean over groups of the normalised log cost of the choices.
	f := make([]float64, len(grid))
	for _, ks := range groups {
		costs := make([]float64, len(grid))
		for gi, lam := range grid {
			var total float64
			for _, k := range ks {
				j := chooseLambda(p.q[k], p.cost[k], lam, p.scale[k])
				total += p.cost[k][j]
			}
			costs[gi] = total
		}
		lo, hi := math.Log(costs[len(grid)-1]+1e-300), math.Log(costs[0]+1e-300)
		for gi := range grid {
			v := 1.0
			if hi > lo {
				v = (math.Log(costs[gi]+1e-300) - lo) / (hi - lo)
			}
			f[gi] += v / float64(len(groups))
		}
	}
	// f decreases with λ (grid ascending). Invert: knot T_i = i/(knots-1).
	out := make([]float64, knots)
	for i := 0; i < knots; i++ {
		t := float64(i) / float64(knots-1)
		switch {
		case i == knots-1:
			out[i] = 0
		case i == 0:
			out[i] = grid[len(grid)-1]
		default:
			out[i] = grid[len(grid)-1]
			for gi := 1; gi < len(grid); gi++ {
				if f[gi] <= t { // first λ whose cost falls to the target
					a, b := f[gi-1], f[gi]
					la, lb := math.Log(grid[gi-1]+lambdaEps), math.Log(grid[gi]+lambdaEps)
					w := 0.0
					if a != b {
						w = (a - t) / (a - b)
					}
					out[i] = math.Exp(la+(lb-la)*w) - lambdaEps
					break
				}
			}
		}
	}
	// Enforce a strictly decreasing mapping.
	for i := 1; i < knots; i++ {
		if out[i] > out[i-1] {
			out[i] = out[i-1]
		}
	}
	return out
}
