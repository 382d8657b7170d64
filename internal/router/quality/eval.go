package quality

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
)

// EvalConfig configures a cross-validated evaluation.
type EvalConfig struct {
	Folds int // k of k-fold cross-validation; examples are assigned by hashing their id
	Train TrainConfig
	Steps int // points of the tradeoff sweep, T = 0, 1/(Steps-1), …, 1
}

// Evaluation is the result of CrossValidate: one report per data file.
type Evaluation struct {
	Folds     int
	Predictor string
	Files     []FileReport
}

// FileReport is the evaluation of one data file: over all its prompts, per
// task group (dataset names sharing a prefix before "_", when some group
// has several tasks) and per task (the dataset field).
type FileReport struct {
	Name    string
	Overall Report
	Groups  []Report
	Tasks   []Report
}

// Report is the evaluation of a router on one set of prompts.
type Report struct {
	Name     string
	Prompts  int
	Models   []ModelPoint // single models, by mean cost
	Best     ModelPoint   // the single model with the best mean score
	Cheapest ModelPoint   // the single model with the least mean cost
	Oracle   Point        // per prompt the best-scoring model, ties to the cheapest
	Frontier []Point      // the router at each cost penalty λ of a dense grid: its cost–quality curve
	Curve    []Point      // the router at each tradeoff step (the same curve as T parametrises it)
	Tradeoff []float64    // T of each Curve point
	Floor    []Point      // the quality-floor form at floors 0, 0.05, …, 1

	// CostToReach[i] is the cost, as a fraction of the best single model's,
	// for the router to reach QualityTargets[i] × the best model's quality
	// (NaN: never reached), on the Frontier. The Frontier, AIQ and the
	// targets do not depend on how T maps to λ; Curve shows that mapping.
	CostToReach []float64
	// HullCostToReach is the same read off the non-decreasing convex hull
	// of the Frontier (Envelope), as RouterBench reads its curves: a hull
	// point between two operating points is reached by sending each
	// prompt to one of the two λ's at random in the right proportion.
	HullCostToReach []float64
	AIQ             float64 // mean quality over [cheapest, best] model cost (AIQ)
	NAIQ            float64 // AIQ normalised: 0 = cheapest model's quality, 1 = best model's
	OracleNAIQ      float64 // the same for the oracle (a single point)
	HullNAIQ        float64 // the same for random mixes of single models (no routing)
	MaxQuality      Point   // the router's best-quality point
	LogLoss         float64 // mean log loss of the predicted scores over all (prompt, model) pairs
	BaseLogLoss     float64 // the same for predicting each model's mean score (no prompt information)

	Pair *PairReport // two-model data only: RouteLLM's metrics
}

// QualityTargets are the fractions of the best single model's quality the
// reports give the cost of.
var QualityTargets = [...]float64{0.90, 0.95, 0.98, 1.00}

// ModelPoint is a single model's operating point.
type ModelPoint struct {
	Model string
	Point
	Prompts int
}

// PairReport holds RouteLLM's metrics for two-model data: the router's
// strong-win score is its predicted score of the strong model minus the
// weak model's.
type PairReport struct {
	Strong, Weak string
	Curve        PairCurve
	APGR         float64
	CPT50, CPT80 float64 // % strong calls to reach 50% / 80% of the gap
}

// evalRow is one example's out-of-fold predictions.
type evalRow struct {
	ex     *Example
	file   int
	q, c   []float64 // predicted score and cost per outcome
	scale  float64   // the fold router's costScale for the outcomes' models
	knots  []float64 // the fold router's λ(T) knots
	scores []float64 // actual
	costs  []float64 // actual
}

// CrossValidate trains cfg.Folds routers, each on all files' examples
// outside one fold, and evaluates each on its fold. Every prompt is thus
// predicted by a router that never saw it.
func CrossValidate(ctx context.Context, files []DataFile, cfg EvalConfig, progress Progress) (*Evaluation, error) {
	if cfg.Steps < 2 {
		cfg.Steps = 101
	}
	rows, err := crossValidateRows(ctx, files, cfg, progress)
	if err != nil {
		return nil, err
	}
	return evaluate(files, rows, cfg), nil
}

// crossValidateRows returns every example's out-of-fold predictions, in
// the order of the files' examples.
func crossValidateRows(ctx context.Context, files []DataFile, cfg EvalConfig, progress Progress) ([]evalRow, error) {
	if cfg.Folds < 2 {
		return nil, fmt.Errorf("eval: need at least 2 folds, got %d", cfg.Folds)
	}
	if err := cfg.Train.Validate(); err != nil {
		return nil, err
	}
	if progress == nil {
		progress = func(string, float64) {}
	}
	var all []Example
	var fileOf []int
	for fi, f := range files {
		all = append(all, f.Examples...)
		for range f.Examples {
			fileOf = append(fileOf, fi)
		}
	}
	c, err := newCorpus(ctx, all, cfg.Train.Features, cfg.Train.workers(), func(f float64) { progress("featurise", 0.05*f) })
	if err != nil {
		return nil, err
	}
	rows := make([]evalRow, len(all))
	for fold := 0; fold < cfg.Folds; fold++ {
		var tr, te []int
		for i := range all {
			if foldOf(all[i].ID, cfg.Folds, 0) == fold {
				te = append(te, i)
			} else {
				tr = append(tr, i)
			}
		}
		fl := float64(fold)
		r, err := c.train(ctx, tr, cfg.Train, func(s string, x float64) {
			progress(fmt.Sprintf("fold %d/%d: %s", fold+1, cfg.Folds, s), 0.05+0.95*(fl+x)/float64(cfg.Folds))
		})
		if err != nil {
			return nil, err
		}
		p := newPredictions(len(te))
		for k, i := range te {
			p.fill(k, r, c, i)
			e := &all[i]
			row := evalRow{ex: e, file: fileOf[i], q: p.q[k], c: p.cost[k], scale: p.scale[k], knots: r.lambdaKnots}
			for _, o := range e.Outcomes {
				row.scores = append(row.scores, o.Score)
				cost := o.Cost
				if math.IsNaN(cost) {
					cost = 0
				}
				row.costs = append(row.costs, cost)
			}
			rows[i] = row
		}
	}
	return rows, nil
}

// evaluate reports the out-of-fold predictions rows of files.
func evaluate(files []DataFile, rows []evalRow, cfg EvalConfig) *Evaluation {
	ev := &Evaluation{Folds: cfg.Folds, Predictor: cfg.Train.Predictor}
	for fi, f := range files {
		var fr []*evalRow
		for i := range rows {
			if rows[i].file == fi {
				fr = append(fr, &rows[i])
			}
		}
		rep := FileReport{Name: f.Name, Overall: report(f.Name, fr, cfg.Steps)}
		byTask := map[string][]*evalRow{}
		byGroup := map[string][]*evalRow{}
		groupTasks := map[string]map[string]bool{}
		for _, r := range fr {
			byTask[r.ex.Dataset] = append(byTask[r.ex.Dataset], r)
			g, _, _ := strings.Cut(r.ex.Dataset, "_")
			byGroup[g] = append(byGroup[g], r)
			if groupTasks[g] == nil {
				groupTasks[g] = map[string]bool{}
			}
			groupTasks[g][r.ex.Dataset] = true
		}
		if len(byTask) > 1 {
			for _, name := range sortedKeys(byTask) {
				rep.Tasks = append(rep.Tasks, report(name, byTask[name], cfg.Steps))
			}
		}
		// Groups are worth a report when some group gathers several tasks
		// (e.g. routellm: "mmlu" = 57 subjects, and "gsm8k").
		multi := false
		for _, ts := range groupTasks {
			multi = multi || len(ts) > 1
		}
		if len(byGroup) > 1 && multi {
			for _, name := range sortedKeys(byGroup) {
				rep.Groups = append(rep.Groups, report(name, byGroup[name], cfg.Steps))
			}
		}
		ev.Files = append(ev.Files, rep)
	}
	return ev
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// report evaluates the rows (all of one file) as one set of prompts.
func report(name string, rows []*evalRow, steps int) Report {
	rep := Report{Name: name, Prompts: len(rows)}
	n := float64(len(rows))
	// Single models.
	type acc struct{ cost, q, n float64 }
	per := map[string]*acc{}
	for _, r := range rows {
		for j, o := range r.ex.Outcomes {
			a := per[o.Model]
			if a == nil {
				a = &acc{}
				per[o.Model] = a
			}
			a.cost += r.costs[j]
			a.q += r.scores[j]
			a.n++
		}
	}
	for _, m := range sortedKeys(per) {
		a := per[m]
		rep.Models = append(rep.Models, ModelPoint{Model: m, Point: Point{a.cost / a.n, a.q / a.n}, Prompts: int(a.n)})
	}
	sort.SliceStable(rep.Models, func(i, j int) bool { return rep.Models[i].Cost < rep.Models[j].Cost })
	rep.Best, rep.Cheapest = rep.Models[0], rep.Models[0]
	for _, m := range rep.Models {
		if m.Quality > rep.Best.Quality || m.Quality == rep.Best.Quality && m.Cost < rep.Best.Cost {
			rep.Best = m
		}
		if m.Cost < rep.Cheapest.Cost {
			rep.Cheapest = m
		}
	}
	// Oracle: best actual score, ties to the cheaper.
	for _, r := range rows {
		b := 0
		for j := range r.scores {
			if r.scores[j] > r.scores[b] || r.scores[j] == r.scores[b] && r.costs[j] < r.costs[b] {
				b = j
			}
		}
		rep.Oracle.Cost += r.costs[b] / n
		rep.Oracle.Quality += r.scores[b] / n
	}
	// The tradeoff sweep and the quality-floor sweep.
	for s := 0; s < steps; s++ {
		t := float64(s) / float64(steps-1)
		var p Point
		for _, r := range rows {
			j := chooseLambda(r.q, r.c, lambdaAt(r.knots, t), r.scale)
			p.Cost += r.costs[j] / n
			p.Quality += r.scores[j] / n
		}
		rep.Curve = append(rep.Curve, p)
		rep.Tradeoff = append(rep.Tradeoff, t)
	}
	for s := 0; s <= 20; s++ {
		var p Point
		for _, r := range rows {
			j := chooseFloor(r.q, r.c, float64(s)/20)
			p.Cost += r.costs[j] / n
			p.Quality += r.scores[j] / n
		}
		rep.Floor = append(rep.Floor, p)
	}
	for _, lam := range frontierGrid() {
		var p Point
		for _, r := range rows {
			j := chooseLambda(r.q, r.c, lam, r.scale)
			p.Cost += r.costs[j] / n
			p.Quality += r.scores[j] / n
		}
		rep.Frontier = append(rep.Frontier, p)
	}
	for _, f := range QualityTargets {
		c, ok := CostToReach(rep.Frontier, f*rep.Best.Quality)
		if !ok {
			c = math.NaN()
		}
		rep.CostToReach = append(rep.CostToReach, c/rep.Best.Cost)
	}
	env := Envelope(rep.Frontier)
	for _, f := range QualityTargets {
		c, ok := CostToReach(env, f*rep.Best.Quality)
		if !ok {
			c = math.NaN()
		}
		rep.HullCostToReach = append(rep.HullCostToReach, c/rep.Best.Cost)
	}
	c0, c1 := rep.Cheapest.Cost, rep.Best.Cost
	q0, q1 := rep.Cheapest.Quality, rep.Best.Quality
	rep.AIQ = AIQ(rep.Frontier, c0, c1)
	rep.NAIQ = NormalisedAIQ(rep.AIQ, q0, q1)
	rep.OracleNAIQ = NormalisedAIQ(AIQ([]Point{rep.Oracle}, c0, c1), q0, q1)
	var singles []Point
	for _, m := range rep.Models {
		singles = append(singles, m.Point)
	}
	rep.HullNAIQ = NormalisedAIQ(AIQ(singles, c0, c1), q0, q1)
	for _, p := range rep.Frontier {
		if p.Quality > rep.MaxQuality.Quality || p.Quality == rep.MaxQuality.Quality && p.Cost < rep.MaxQuality.Cost {
			rep.MaxQuality = p
		}
	}
	var ll, base, cnt float64
	for _, r := range rows {
		for j, o := range r.ex.Outcomes {
			ll += logLoss(r.q[j], r.scores[j])
			base += logLoss(per[o.Model].q/per[o.Model].n, r.scores[j])
			cnt++
		}
	}
	rep.LogLoss, rep.BaseLogLoss = ll/cnt, base/cnt
	if len(rep.Models) == 2 {
		rep.Pair = pairReport(rows, rep)
	}
	return rep
}

// pairReport computes RouteLLM's metrics for two-model rows.
func pairReport(rows []*evalRow, rep Report) *PairReport {
	strong, weak := rep.Models[0].Model, rep.Models[1].Model
	if rep.Models[1].Quality > rep.Models[0].Quality {
		strong, weak = weak, strong
	}
	var score, ss, ws []float64
	for _, r := range rows {
		si, wi := -1, -1
		for j, o := range r.ex.Outcomes {
			switch o.Model {
			case strong:
				si = j
			case weak:
				wi = j
			}
		}
		if si < 0 || wi < 0 {
			continue
		}
		score = append(score, r.q[si]-r.q[wi])
		ss = append(ss, r.scores[si])
		ws = append(ws, r.scores[wi])
	}
	pc := RouteLLMCurve(score, ss, ws)
	return &PairReport{Strong: strong, Weak: weak, Curve: pc, APGR: pc.APGR(), CPT50: pc.CPT(0.5), CPT80: pc.CPT(0.8)}
}

// logLoss is the cross-entropy of predicting p for a soft label y.
func logLoss(p, y float64) float64 {
	p = min(1-1e-6, max(1e-6, p))
	return -(y*math.Log(p) + (1-y)*math.Log(1-p))
}

// frontierGrid is the cost penalties λ of the frontier sweep, from the
// cheapest choice (λ = 1000) down to the best predicted quality (λ = 0),
// 40 steps a decade.
func frontierGrid() []float64 {
	var g []float64
	for e := 3.0; e >= -4.0001; e -= 0.025 {
		g = append(g, math.Pow(10, e))
	}
	return append(g, 0)
}
