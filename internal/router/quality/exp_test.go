//go:build routerexp

package quality

import (
	"context"
	"encoding/gob"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Experiment harness behind docs/quality-router.md's "why a plain logistic
// regression looked better" (not part of the normal tests; it needs the
// shared data). With OCTOMESH_ROUTING_DATA set to the data directory:
//
//	EXP_OUT=/tmp/cur.gob [EXP_SET=k=v,...] [EXP_FILES=routerbench,...] \
//	  go test -tags routerexp -run TestExpRun -v ./internal/router/quality/
//	    the shipped pipeline's out-of-fold predictions (the eval's folds),
//	    with a one-line summary per file (cost to 95% / 100%: raw / hull)
//	EXP_OUT=/tmp/bl.gob [EXP_C=1] [EXP_FILES=...] \
//	  go test -tags routerexp -run TestExpBaseline -v ./internal/router/quality/
//	    the plain baseline: per file and per model an L2 logistic
//	    regression (L-BFGS, C) on hashed word uni+bigrams (2^16), routed by
//	    predicted score - lambda x the model's mean training cost
//	EXP_IN=/tmp/x.gob go test -tags routerexp -run 'TestExpAnalyse|TestExpCostErr' -v ...
//	    the same predictions under other cost estimates; cost errors
//	EXP_QA=/tmp/bl.gob [EXP_QB=/tmp/cur.gob EXP_W=0.5] EXP_CB=/tmp/cur.gob \
//	  go test -tags routerexp -run TestExpCombine -v ...
//	    predictions of one run (or a logit blend of two) with another's costs

type savedRow struct {
	File    int
	Dataset string
	Models  []string
	Q, C    []float64
	Scale   float64
	Scores  []float64
	Costs   []float64
}

type savedRun struct {
	Files []string
	Rows  []savedRow
}

func expFiles(t *testing.T) []DataFile {
	d := os.Getenv("OCTOMESH_ROUTING_DATA")
	names := strings.Split(os.Getenv("EXP_FILES"), ",")
	if names[0] == "" {
		names = []string{"routerbench", "routellm", "mmlupro", "llmrouter"}
	}
	var paths []string
	for _, n := range names {
		paths = append(paths, filepath.Join(d, n+".jsonl.gz"))
	}
	files, err := LoadFiles(paths)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestExpRun(t *testing.T) {
	files := expFiles(t)
	cfg := DefaultTrainConfig()
	if s := os.Getenv("EXP_SET"); s != "" {
		if err := cfg.SetOptions(s); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := crossValidateRows(context.Background(), files, EvalConfig{Folds: 5, Train: cfg}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Print(expSummary(evaluate(files, rows, EvalConfig{Folds: 5, Train: cfg, Steps: 101})))
	run := savedRun{}
	for _, f := range files {
		run.Files = append(run.Files, f.Name)
	}
	for _, r := range rows {
		run.Rows = append(run.Rows, savedRow{File: r.file, Dataset: r.ex.Dataset, Models: r.ex.Models(), Q: r.q, C: r.c, Scale: r.scale, Scores: r.scores, Costs: r.costs})
	}
	out, err := os.Create(os.Getenv("EXP_OUT"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if err := gob.NewEncoder(out).Encode(run); err != nil {
		t.Fatal(err)
	}
}

func loadRun(t *testing.T, p string) savedRun {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var run savedRun
	if err := gob.NewDecoder(f).Decode(&run); err != nil {
		t.Fatal(err)
	}
	return run
}

// hullCostToReach reads the cost to reach q off the non-decreasing convex
// hull of the points.
func hullCostToReach(pts []Point, q float64) float64 {
	c, ok := CostToReach(Envelope(pts), q)
	if !ok {
		return math.NaN()
	}
	return c
}

type ruleFn func(r *savedRow, lam float64) int

func sweep(rows []*savedRow, rule ruleFn) []Point {
	var pts []Point
	n := float64(len(rows))
	for _, lam := range frontierGrid() {
		var p Point
		for _, r := range rows {
			j := rule(r, lam)
			p.Cost += r.Costs[j] / n
			p.Quality += r.Scores[j] / n
		}
		pts = append(pts, p)
	}
	return pts
}

func bestModel(rows []*savedRow) (string, Point) {
	type acc struct{ c, q, n float64 }
	m := map[string]*acc{}
	for _, r := range rows {
		for j, name := range r.Models {
			a := m[name]
			if a == nil {
				a = &acc{}
				m[name] = a
			}
			a.c += r.Costs[j]
			a.q += r.Scores[j]
			a.n++
		}
	}
	var bn string
	var bp Point
	for name, a := range m {
		p := Point{a.c / a.n, a.q / a.n}
		if p.Quality > bp.Quality {
			bn, bp = name, p
		}
	}
	return bn, bp
}

func describe(name string, pts []Point, best Point) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-34s", name)
	for _, f := range []float64{0.9, 0.95, 1.0} {
		c, ok := CostToReach(pts, f*best.Quality)
		if !ok {
			c = math.NaN()
		}
		h := hullCostToReach(pts, f*best.Quality)
		fmt.Fprintf(&b, " %3.0f%%: raw %5.1f hull %5.1f |", 100*f, 100*c/best.Cost, 100*h/best.Cost)
	}
	var mx Point
	for _, p := range pts {
		if p.Quality > mx.Quality {
			mx = p
		}
	}
	fmt.Fprintf(&b, " max %.4f@%.1f%%", mx.Quality, 100*mx.Cost/best.Cost)
	return b.String()
}

func argmaxRule(q, c []float64, lam, scale float64) int { return chooseLambda(q, c, lam, scale) }

func TestExpAnalyse(t *testing.T) {
	run := loadRun(t, os.Getenv("EXP_IN"))
	for fi, fname := range run.Files {
		var rows []*savedRow
		for i := range run.Rows {
			if run.Rows[i].File == fi {
				rows = append(rows, &run.Rows[i])
			}
		}
		bn, best := bestModel(rows)
		fmt.Printf("== %s (best %s %.4f @ $%.3g)\n", fname, bn, best.Quality, best.Cost)
		// Per-model mean actual cost over the file (prices are public).
		mean := map[string]float64{}
		cnt := map[string]float64{}
		for _, r := range rows {
			for j, m := range r.Models {
				mean[m] += r.Costs[j]
				cnt[m]++
			}
		}
		for m := range mean {
			mean[m] /= cnt[m]
		}
		fmt.Println(describe("current (expected cost)", sweep(rows, func(r *savedRow, lam float64) int {
			return argmaxRule(r.Q, r.C, lam, r.Scale)
		}), best))
		fmt.Println(describe("actual cost (cheat)", sweep(rows, func(r *savedRow, lam float64) int {
			return argmaxRule(r.Q, r.Costs, lam, best.Cost)
		}), best))
		fmt.Println(describe("model mean cost", sweep(rows, func(r *savedRow, lam float64) int {
			c := make([]float64, len(r.Models))
			for j, m := range r.Models {
				c[j] = mean[m]
			}
			return argmaxRule(r.Q, c, lam, best.Cost)
		}), best))
		fmt.Println(describe("oracle q, expected cost", sweep(rows, func(r *savedRow, lam float64) int {
			return argmaxRule(r.Scores, r.C, lam, r.Scale)
		}), best))
		// Expected-cost error.
		var le, n float64
		for _, r := range rows {
			for j := range r.C {
				if r.Costs[j] > 0 && r.C[j] > 0 {
					d := math.Log(r.C[j] / r.Costs[j])
					le += d * d
					n++
				}
			}
		}
		fmt.Printf("rms log(expected/actual cost) %.3f\n", math.Sqrt(le/n))
	}
}

func TestExpCostErr(t *testing.T) {
	run := loadRun(t, os.Getenv("EXP_IN"))
	for fi, fname := range run.Files {
		type acc struct{ s, s2, n, exp, act float64 }
		m := map[string]*acc{}
		for i := range run.Rows {
			r := &run.Rows[i]
			if r.File != fi {
				continue
			}
			for j, name := range r.Models {
				if r.Costs[j] <= 0 || r.C[j] <= 0 {
					continue
				}
				a := m[name]
				if a == nil {
					a = &acc{}
					m[name] = a
				}
				d := math.Log(r.C[j] / r.Costs[j])
				a.s += d
				a.s2 += d * d
				a.n++
				a.exp += r.C[j]
				a.act += r.Costs[j]
			}
		}
		fmt.Printf("== %s\n", fname)
		for _, name := range sortedKeys(m) {
			a := m[name]
			mu := a.s / a.n
			fmt.Printf("  %-40s bias %+.3f sd %.3f  mean exp %.3g act %.3g ratio %.3f\n", name, mu, math.Sqrt(a.s2/a.n-mu*mu), a.exp/a.n, a.act/a.n, a.exp/a.act)
		}
	}
}

// lbfgsLogistic minimises 0.5·l2·|w|² + Σ logloss over (X, y), weights
// dense over dim plus an unpenalised bias (last entry).
func lbfgsLogistic(X []Sparse, y []float64, dim int, l2 float64, iters int) []float64 {
	n := dim + 1
	w := make([]float64, n)
	var mean float64
	for _, v := range y {
		mean += v
	}
	w[dim] = logit(mean / float64(len(y)))
	fg := func(w, g []float64) float64 {
		clear(g)
		var f float64
		for i, x := range X {
			z := w[dim]
			for k, j := range x.Idx {
				z += float64(x.Val[k]) * w[j]
			}
			p := sigmoid(z)
			f += logLoss(p, y[i])
			d := p - y[i]
			for k, j := range x.Idx {
				g[j] += d * float64(x.Val[k])
			}
			g[dim] += d
		}
		for j := 0; j < dim; j++ {
			f += 0.5 * l2 * w[j] * w[j]
			g[j] += l2 * w[j]
		}
		return f
	}
	const m = 10
	var S, Y [][]float64
	var rho []float64
	g := make([]float64, n)
	f := fg(w, g)
	d := make([]float64, n)
	wn := make([]float64, n)
	gn := make([]float64, n)
	alpha := make([]float64, m)
	for it := 0; it < iters; it++ {
		copy(d, g)
		k := len(S)
		for i := k - 1; i >= 0; i-- {
			alpha[i] = rho[i] * dotv(S[i], d)
			axpy(-alpha[i], Y[i], d)
		}
		if k > 0 {
			gamma := dotv(S[k-1], Y[k-1]) / dotv(Y[k-1], Y[k-1])
			for j := range d {
				d[j] *= gamma
			}
		} else {
			gn := math.Sqrt(dotv(g, g))
			for j := range d {
				d[j] /= gn
			}
		}
		for i := 0; i < k; i++ {
			b := rho[i] * dotv(Y[i], d)
			axpy(alpha[i]-b, S[i], d)
		}
		// d is the descent direction's negative.
		gd := dotv(g, d)
		step := 1.0
		var fn float64
		for ls := 0; ls < 30; ls++ {
			for j := range w {
				wn[j] = w[j] - step*d[j]
			}
			fn = fg(wn, gn)
			if fn <= f-1e-4*step*gd {
				break
			}
			step /= 2
		}
		s := make([]float64, n)
		yv := make([]float64, n)
		for j := range w {
			s[j] = wn[j] - w[j]
			yv[j] = gn[j] - g[j]
		}
		sy := dotv(s, yv)
		copy(w, wn)
		copy(g, gn)
		conv := math.Abs(f-fn) < 1e-7*math.Max(1, math.Abs(f))
		f = fn
		if conv {
			break
		}
		if sy > 1e-12 {
			S, Y, rho = append(S, s), append(Y, yv), append(rho, 1/sy)
			if len(S) > m {
				S, Y, rho = S[1:], Y[1:], rho[1:]
			}
		}
	}
	return w
}

func dotv(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func axpy(a float64, x, y []float64) {
	for i := range x {
		y[i] += a * x[i]
	}
}

// TestExpBaseline: per file, per model L2 logistic regression (L-BFGS) on
// hashed word n-grams; cost = the model's mean training cost; the same
// outer folds as the eval. Writes a savedRun to EXP_OUT.
func TestExpBaseline(t *testing.T) {
	files := expFiles(t)
	fc := FeatureConfig{Bits: 16, Bigrams: true, WWords: 1}
	if os.Getenv("EXP_DEFAULTFEAT") != "" {
		fc = DefaultFeatureConfig()
	}
	if s := os.Getenv("EXP_SET"); s != "" {
		cfg := TrainConfig{Features: fc, Predictor: "lr", LR: LogisticConfig{Epochs: 1, Rate: 1}}
		if err := cfg.SetOptions(s); err != nil {
			t.Fatal(err)
		}
		fc = cfg.Features
	}
	C := 1.0
	if s := os.Getenv("EXP_C"); s != "" {
		fmt.Sscan(s, &C)
	}
	run := savedRun{}
	var evRows []evalRow
	for fi, file := range files {
		run.Files = append(run.Files, file.Name)
		c, err := newCorpus(context.Background(), file.Examples, fc, 2, nil)
		if err != nil {
			t.Fatal(err)
		}
		q := make([][]float64, len(file.Examples))
		cst := make([][]float64, len(file.Examples))
		for i, e := range file.Examples {
			q[i] = make([]float64, len(e.Outcomes))
			cst[i] = make([]float64, len(e.Outcomes))
		}
		for fold := 0; fold < 5; fold++ {
			for m, name := range c.models {
				var X []Sparse
				var y []float64
				var csum, cn float64
				for i, e := range file.Examples {
					if foldOf(e.ID, 5, 0) == fold {
						continue
					}
					if o := e.Outcome(name); o != nil {
						X = append(X, c.X[i])
						y = append(y, o.Score)
						if !math.IsNaN(o.Cost) {
							csum += o.Cost
							cn++
						}
					}
				}
				w := lbfgsLogistic(X, y, fc.Dim(), 1/C, 200)
				for i, e := range file.Examples {
					if foldOf(e.ID, 5, 0) != fold {
						continue
					}
					for j, o := range e.Outcomes {
						if o.Model != c.models[m] {
							continue
						}
						z := w[fc.Dim()]
						x := c.X[i]
						for k, jj := range x.Idx {
							z += float64(x.Val[k]) * w[jj]
						}
						q[i][j] = sigmoid(z)
						cst[i][j] = csum / cn
					}
				}
			}
		}
		for i, e := range file.Examples {
			var sc, co []float64
			for _, o := range e.Outcomes {
				sc = append(sc, o.Score)
				v := o.Cost
				if math.IsNaN(v) {
					v = 0
				}
				co = append(co, v)
			}
			mx := 0.0
			for _, v := range cst[i] {
				mx = max(mx, v)
			}
			run.Rows = append(run.Rows, savedRow{File: fi, Dataset: e.Dataset, Models: e.Models(), Q: q[i], C: cst[i], Scale: mx, Scores: sc, Costs: co})
			evRows = append(evRows, evalRow{ex: &file.Examples[i], file: fi, q: q[i], c: cst[i], scale: mx, scores: sc, costs: co})
		}
	}
	fmt.Print(expSummary(evaluate(files, evRows, EvalConfig{Folds: 5, Steps: 101})))
	out, err := os.Create(os.Getenv("EXP_OUT"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if err := gob.NewEncoder(out).Encode(run); err != nil {
		t.Fatal(err)
	}
}

// expSummary prints the figures the targets are about, one line a file.
func expSummary(ev *Evaluation) string {
	var b strings.Builder
	for _, f := range ev.Files {
		r := f.Overall
		fmt.Fprintf(&b, "%-12s", f.Name)
		for _, x := range []float64{0.95, 1} {
			c, ok := CostToReach(r.Frontier, x*r.Best.Quality)
			if !ok {
				c = math.NaN()
			}
			fmt.Fprintf(&b, " %3.0f%%: %5.1f/%5.1f", 100*x, 100*c/r.Best.Cost, 100*hullCostToReach(r.Frontier, x*r.Best.Quality)/r.Best.Cost)
		}
		fmt.Fprintf(&b, " max %.1f%%@%.1f%% nAIQ %.3f ll %.4f", 100*r.MaxQuality.Quality/r.Best.Quality, 100*r.MaxQuality.Cost/r.Best.Cost, r.NAIQ, r.LogLoss)
		for _, g := range f.Groups {
			if g.Pair != nil {
				fmt.Fprintf(&b, " APGR %s %.3f", g.Name, g.Pair.APGR)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestExpCombine: predictions from EXP_QA (and, blended by logit average
// with weight EXP_W on A, EXP_QB), expected costs and scale from EXP_CB.
func TestExpCombine(t *testing.T) {
	files := expFiles(t)
	qa := loadRun(t, os.Getenv("EXP_QA"))
	cb := loadRun(t, os.Getenv("EXP_CB"))
	var qb *savedRun
	if p := os.Getenv("EXP_QB"); p != "" {
		r := loadRun(t, p)
		qb = &r
	}
	w := 1.0
	if s := os.Getenv("EXP_W"); s != "" {
		fmt.Sscan(s, &w)
	}
	var rows []evalRow
	k := 0
	for fi := range files {
		for i := range files[fi].Examples {
			a, c := qa.Rows[k], cb.Rows[k]
			q := append([]float64(nil), a.Q...)
			if qb != nil {
				for j := range q {
					q[j] = sigmoid(w*logit(a.Q[j]) + (1-w)*logit(qb.Rows[k].Q[j]))
				}
			}
			rows = append(rows, evalRow{ex: &files[fi].Examples[i], file: fi, q: q, c: c.C, scale: c.Scale, scores: c.Scores, costs: c.Costs})
			k++
		}
	}
	fmt.Print(expSummary(evaluate(files, rows, EvalConfig{Folds: 5, Steps: 101})))
}
