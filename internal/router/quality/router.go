package quality

import (
	"math"
	"slices"
	"sync"
)

// Router predicts, for a prompt, each candidate model's score and expected
// cost, and chooses a model under a cost–quality trade-off. It is built by
// Train or Load and is immutable afterwards: all methods are safe for
// concurrent use.
type Router struct {
	features FeatureConfig
	models   []string       // sorted
	index    map[string]int // model name → position in models
	prior    float64        // mean score over all training outcomes

	// Quality components; each enabled one gives a logit per model, and the
	// prediction is σ(Σ blend[k]·logit_k).
	lr      []linearModel // per model; nil when disabled
	lrT     *lrTable      // the same weights arranged for prediction
	lowRank *lowRank      // nil when disabled
	knn     *knnIndex     // nil when disabled
	blend   []float64     // weight per component, in componentKinds order
	// modelBlend, when set, overrides blend per model (models added by
	// WithModel are predicted by the component fitted for them alone).
	modelBlend [][numComponents]float64
	// calib, when set, maps each model's blended logit z to a·z + b
	// (Platt scaling, fitted on the inner cross-validation's out-of-fold
	// predictions): the models' scores then compare on one scale, which is
	// what a choice between them needs.
	calib [][2]float64

	cost       []costModel // per model
	tokPerByte float64

	// lambdaKnots maps tradeoff T = i/(len-1) to the cost penalty λ,
	// interpolated linearly in log(λ+lambdaEps). Decreasing; the last is 0.
	lambdaKnots []float64

	pool sync.Pool // *scratch
}

// Component kinds, in blend order.
const (
	compLR = iota
	compLowRank
	compKNN
	numComponents
)

// componentNames names the components as TrainConfig.Predictor spells them.
var componentNames = [numComponents]string{"lr", "lowrank", "knn"}

// scratch is per-call working memory.
type scratch struct {
	f     *Featuriser
	emb   []float32
	q     []float64
	c     []float64
	scale float64 // costScale of the candidates
	idx   []int
	nbrs  []neighbour
	comp  [][numComponents]float64 // component logits per candidate
	cols  []int32                  // known candidates' model indices
	known []float64                // known candidates' expected costs
	acc   []float64                // their logit sums
	dot   dotScratch               // the logistic regressions' working memory
	sim   []float32                // kNN similarity accumulator, one per training prompt
	docs  []int32                  // kNN touched prompts
}

func (r *Router) init() {
	r.index = make(map[string]int, len(r.models))
	for i, m := range r.models {
		r.index[m] = i
	}
	if r.lr != nil {
		r.lrT = newLRTable(r.lr, r.features.Dim())
	}
	r.pool.New = func() any {
		f, err := NewFeaturiser(r.features)
		if err != nil {
			panic(err) // validated when the router was built
		}
		return &scratch{f: f}
	}
}

// Models returns the names of the models the router was trained on, sorted.
func (r *Router) Models() []string { return slices.Clone(r.models) }

// Known reports whether the router was trained on model.
func (r *Router) Known(model string) bool { _, ok := r.index[model]; return ok }

// Prior is the neutral quality prior: the mean score of all training outcomes.
func (r *Router) Prior() float64 { return r.prior }

func (r *Router) get() *scratch  { return r.pool.Get().(*scratch) }
func (r *Router) put(s *scratch) { r.pool.Put(s) }

// Predict returns each model's predicted score for prompt, in [0,1], in the
// order given. Models the router does not know get a neutral prior: the
// mean prediction of the known models in the list, or Prior when there are
// none.
func (r *Router) Predict(prompt string, models []string) []float64 {
	out := make([]float64, len(models))
	r.PredictInto(prompt, models, out)
	return out
}

// PredictInto is Predict writing the scores into out, which has one
// element per model.
func (r *Router) PredictInto(prompt string, models []string, out []float64) {
	if len(out) < len(models) {
		panic("quality: PredictInto's out is shorter than its models")
	}
	s := r.get()
	defer r.put(s)
	x := s.f.Features(prompt)
	r.predictInto(s, x, models, out[:len(models)])
}

// predictInto fills out with the predicted scores of models for features x.
func (r *Router) predictInto(s *scratch, x Sparse, models []string, out []float64) {
	s.idx = s.idx[:0]
	for _, m := range models {
		i, ok := r.index[m]
		if !ok {
			i = -1
		}
		s.idx = append(s.idx, i)
	}
	r.predictIdx(s, x, s.idx, out)
}

// predictIdx is predictInto with model indices (-1: unknown).
func (r *Router) predictIdx(s *scratch, x Sparse, idx []int, out []float64) {
	r.blendInto(r.componentLogits(s, x, idx), idx, out)
}

// blendInto turns component logits into predicted scores: σ of the blend
// for known candidates, the neutral prior for unknown ones.
func (r *Router) blendInto(comp [][numComponents]float64, idx []int, out []float64) {
	var sum float64
	known := 0
	for j, i := range idx {
		if i < 0 {
			continue
		}
		bl := r.blend
		if r.modelBlend != nil {
			bl = r.modelBlend[i][:]
		}
		var z float64
		for k, w := range bl {
			if w != 0 {
				z += w * comp[j][k]
			}
		}
		if r.calib != nil {
			z = r.calib[i][0]*z + r.calib[i][1]
		}
		out[j] = sigmoid(z)
		sum += out[j]
		known++
	}
	neutral := r.prior
	if known > 0 {
		neutral = sum / float64(known)
	}
	for j, i := range idx {
		if i < 0 {
			out[j] = neutral
		}
	}
}

// componentLogits returns, per candidate idx[j] (≥ 0), each enabled
// component's logit; rows of unknown candidates are zero. The result lives
// in s until the next call.
func (r *Router) componentLogits(s *scratch, x Sparse, idx []int) [][numComponents]float64 {
	if cap(s.comp) < len(idx) {
		s.comp = make([][numComponents]float64, len(idx))
	}
	comp := s.comp[:len(idx)]
	clear(comp)
	if r.lrT != nil {
		// One pass over the features; per feature, one short row holds
		// every model's weight. Only the known candidates' columns count.
		s.cols = s.cols[:0]
		for _, i := range idx {
			if i >= 0 {
				s.cols = append(s.cols, int32(i))
			}
		}
		if cap(s.acc) < len(s.cols) {
			s.acc = make([]float64, len(s.cols))
		}
		acc := s.acc[:len(s.cols)]
		r.lrT.dot(x, s.cols, &s.dot, acc)
		c := 0
		for j, i := range idx {
			if i >= 0 {
				comp[j][compLR] = acc[c]*float64(r.lrT.scale[i]) + float64(r.lr[i].Bias)
				c++
			}
		}
	}
	if r.lowRank != nil {
		emb := r.embed(s, x)
		for j, i := range idx {
			if i >= 0 {
				comp[j][compLowRank] = r.lowRank.logit(emb, i)
			}
		}
	}
	if r.knn != nil {
		r.knnSearch(s, x)
		for j, i := range idx {
			if i >= 0 {
				comp[j][compKNN] = logit(r.knn.estimate(s.nbrs, i))
			}
		}
	}
	return comp
}

// knnSearch leaves x's nearest training prompts in s.nbrs.
func (r *Router) knnSearch(s *scratch, x Sparse) {
	if len(s.sim) != r.knn.N {
		s.sim = make([]float32, r.knn.N)
	}
	s.nbrs, s.docs = r.knn.search(x, s.sim, s.docs, s.nbrs[:0])
}

// embed returns the prompt embedding of the low-rank model.
func (r *Router) embed(s *scratch, x Sparse) []float32 {
	if r.lowRank != nil {
		s.emb = r.lowRank.embed(x, s.emb)
	}
	return s.emb
}

// ExpectedCost returns the expected cost in USD of sending prompt to model:
// the learned input price × the estimated input tokens plus the learned
// output price × the predicted output length. ok is false for a model the
// router does not know.
func (r *Router) ExpectedCost(prompt string, model string) (usd float64, ok bool) {
	i, ok := r.index[model]
	if !ok {
		return 0, false
	}
	s := r.get()
	defer r.put(s)
	return r.cost[i].expected(r.tokPerByte*float64(len(prompt)), s.f.ShapeOf(prompt)[:]), true
}

// costsInto fills out with the expected costs of the candidates idx; the
// shape features must be in s.f.shape. Unknown models get the median
// expected cost of the known ones (0 when none is known).
func (r *Router) costsInto(s *scratch, n int, idx []int, out []float64) {
	tin := r.tokPerByte * float64(n)
	known := s.known[:0]
	for j, i := range idx {
		if i >= 0 {
			out[j] = r.cost[i].expected(tin, s.f.shape[:])
			known = append(known, out[j])
		}
	}
	s.known = known
	if len(known) == len(idx) {
		return
	}
	neutral := 0.0
	if len(known) > 0 {
		slices.Sort(known)
		neutral = known[len(known)/2]
	}
	for j, i := range idx {
		if i < 0 {
			out[j] = neutral
		}
	}
}

// Estimate is the router's view of one candidate for one prompt.
type Estimate struct {
	Model   string
	Quality float64 // predicted score in [0,1]
	CostUSD float64 // expected cost
	Known   bool    // false: the router has no data on this model (neutral prior)
}

// Estimate returns the predicted quality and expected cost of each
// candidate for prompt, in the order given. It is the building block of
// Choose, ChooseFloor and ChooseCapped, for callers (the rule-based router)
// that combine quality with their own constraints and statistics.
func (r *Router) Estimate(prompt string, candidates []string) []Estimate {
	s := r.get()
	defer r.put(s)
	r.estimate(s, prompt, candidates)
	out := make([]Estimate, len(candidates))
	for j, m := range candidates {
		out[j] = Estimate{Model: m, Quality: s.q[j], CostUSD: s.c[j], Known: s.idx[j] >= 0}
	}
	return out
}

// estimate fills s.q and s.c for the candidates (and s.idx).
func (r *Router) estimate(s *scratch, prompt string, candidates []string) {
	n := len(candidates)
	s.q = grow(s.q, n)
	s.c = grow(s.c, n)
	x := s.f.Features(prompt) // also leaves the shape features in s.f.shape
	r.predictInto(s, x, candidates, s.q)
	r.costsInto(s, len(prompt), s.idx, s.c)
	s.scale = r.costScale(s.idx, s.c)
}

// costScale is the unit in which Choose weighs the candidates' expected
// costs: the largest typical cost (mean over the training prompts) of the
// known candidates. It depends on the candidate set, not on the prompt, so
// for one candidate set "score − λ × cost / scale" is the Lagrangian of
// "best total score within a budget": across prompts, one λ spends where a
// dollar buys the most expected score. (Dividing by each prompt's own most
// expensive candidate, as version 2 did, spends too much on long prompts.)
// With no known candidate it falls back to the largest expected cost.
func (r *Router) costScale(idx []int, c []float64) float64 {
	scale := 0.0
	for _, i := range idx {
		if i >= 0 {
			scale = max(scale, r.cost[i].Typical)
		}
	}
	if scale <= 0 {
		for _, v := range c {
			scale = max(scale, v)
		}
	}
	if scale <= 0 {
		scale = 1
	}
	return scale
}

func grow(b []float64, n int) []float64 {
	if cap(b) < n {
		return make([]float64, n)
	}
	return b[:n]
}

// Choose returns the candidate to send prompt to under tradeoff T in [0,1]:
// 0 picks the cheapest acceptable model, 1 the best predicted quality, and
// values between trade quality for cost; the chosen model's expected cost
// never decreases as T grows. It maximises predicted score − λ(T) × expected
// cost / the most expensive candidate's expected cost, with λ(T) learned by
// cross-validation so that T sweeps the cost–quality curve evenly. Ties go
// to the cheaper model, then to the earlier candidate. It returns "" only
// when candidates is empty.
func (r *Router) Choose(prompt string, candidates []string, tradeoff float64) string {
	if len(candidates) == 0 {
		return ""
	}
	s := r.get()
	defer r.put(s)
	r.estimate(s, prompt, candidates)
	return candidates[chooseLambda(s.q, s.c, r.Lambda(tradeoff), s.scale)]
}

// ChooseFloor returns the cheapest candidate whose predicted score is at
// least floor × the best predicted score among the candidates (floor in
// [0,1]; 0.95 reads "95% of the best model's predicted quality, cheapest
// first"). It returns "" only when candidates is empty.
func (r *Router) ChooseFloor(prompt string, candidates []string, floor float64) string {
	if len(candidates) == 0 {
		return ""
	}
	s := r.get()
	defer r.put(s)
	r.estimate(s, prompt, candidates)
	return candidates[chooseFloor(s.q, s.c, floor)]
}

// ChooseCapped returns the candidate with the best predicted score among
// those whose expected cost is at most capUSD, ties to the cheaper; when no
// candidate fits under the cap, the cheapest. It returns "" only when
// candidates is empty.
func (r *Router) ChooseCapped(prompt string, candidates []string, capUSD float64) string {
	if len(candidates) == 0 {
		return ""
	}
	s := r.get()
	defer r.put(s)
	r.estimate(s, prompt, candidates)
	return candidates[chooseCapped(s.q, s.c, capUSD)]
}

// lambdaEps keeps log(λ) finite at λ = 0.
const lambdaEps = 1e-4

// Lambda returns the cost penalty λ for tradeoff T (clamped to [0,1]).
func (r *Router) Lambda(t float64) float64 {
	return lambdaAt(r.lambdaKnots, t)
}

func lambdaAt(knots []float64, t float64) float64 {
	if math.IsNaN(t) {
		t = 0.5
	}
	t = min(1, max(0, t))
	n := len(knots) - 1
	if n <= 0 {
		return defaultLambda(t)
	}
	p := t * float64(n)
	i := min(int(p), n-1)
	f := p - float64(i)
	switch f {
	case 0:
		return knots[i]
	case 1:
		return knots[i+1]
	}
	a, b := math.Log(knots[i]+lambdaEps), math.Log(knots[i+1]+lambdaEps)
	return max(0, math.Exp(a+(b-a)*f)-lambdaEps)
}

// defaultLambda is the mapping used before calibration: λ = 0 at T = 1,
// 1000 (cheapest) at T = 0, log-linear between.
func defaultLambda(t float64) float64 {
	if t >= 1 {
		return 0
	}
	return math.Exp(math.Log(1000)-t*(math.Log(1000)-math.Log(lambdaEps))) - lambdaEps
}

// chooseLambda returns argmax q − λ·c/scale, ties to the lower cost, then
// the lower index.
func chooseLambda(q, c []float64, lambda, scale float64) int {
	best := 0
	bu := math.Inf(-1)
	for j := range q {
		u := q[j] - lambda*c[j]/scale
		if u > bu+1e-12 || (u > bu-1e-12 && c[j] < c[best]) {
			best, bu = j, max(u, bu)
		}
	}
	return best
}

// chooseFloor returns the cheapest candidate with q ≥ floor·max(q).
func chooseFloor(q, c []float64, floor float64) int {
	qmax := math.Inf(-1)
	for _, v := range q {
		qmax = max(qmax, v)
	}
	best := -1
	for j := range q {
		if q[j] >= floor*qmax-1e-12 && (best < 0 || c[j] < c[best] || c[j] == c[best] && q[j] > q[best]) {
			best = j
		}
	}
	return best
}

// chooseCapped returns the best q with c ≤ cap, else the cheapest.
func chooseCapped(q, c []float64, cap float64) int {
	best, cheapest := -1, 0
	for j := range q {
		if c[j] < c[cheapest] {
			cheapest = j
		}
		if c[j] <= cap && (best < 0 || q[j] > q[best] || q[j] == q[best] && c[j] < c[best]) {
			best = j
		}
	}
	if best < 0 {
		return cheapest
	}
	return best
}
