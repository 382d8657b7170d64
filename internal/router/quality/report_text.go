package quality

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// WriteText writes the evaluation as a human-readable report: per file the
// single models, the oracle, the router's cost to reach 90/95/98/100% of the
// best model's quality, its AIQ, an excerpt of its cost–quality curve and,
// for two-model data, RouteLLM's APGR and CPT; then one line per task group
// and per task.
func (ev *Evaluation) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%d-fold cross-validation, predictor %s\n", ev.Folds, ev.Predictor)
	for _, f := range ev.Files {
		writeOverall(&b, f)
		if len(f.Groups) > 0 {
			fmt.Fprintf(&b, "\n  per task group:\n")
			writeTable(&b, f.Groups)
		}
		if len(f.Tasks) > 0 {
			fmt.Fprintf(&b, "\n  per task:\n")
			writeTable(&b, f.Tasks)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", 100*v)
}

func writeOverall(b *strings.Builder, f FileReport) {
	r := f.Overall
	fmt.Fprintf(b, "\n== %s: %d prompts, %d models ==\n", f.Name, r.Prompts, len(r.Models))
	tw := tabwriter.NewWriter(b, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  model\tquality\tcost/prompt\tcost vs best\n")
	for _, m := range r.Models {
		mark := ""
		if m.Model == r.Best.Model {
			mark = "  (best)"
		}
		fmt.Fprintf(tw, "  %s%s\t%.4f\t$%.3g\t%s\n", m.Model, mark, m.Quality, m.Cost, pct(m.Cost/r.Best.Cost))
	}
	fmt.Fprintf(tw, "  oracle\t%.4f\t$%.3g\t%s\n", r.Oracle.Quality, r.Oracle.Cost, pct(r.Oracle.Cost/r.Best.Cost))
	tw.Flush()
	fmt.Fprintf(b, "  router cost (%% of best model's) to reach 90/95/98/100%% of its quality: %s / %s / %s / %s\n",
		pct(r.CostToReach[0]), pct(r.CostToReach[1]), pct(r.CostToReach[2]), pct(r.CostToReach[3]))
	fmt.Fprintf(b, "  the same on the curve's non-decreasing convex hull (RouterBench; mixing two operating points): %s / %s / %s / %s\n",
		pct(r.HullCostToReach[0]), pct(r.HullCostToReach[1]), pct(r.HullCostToReach[2]), pct(r.HullCostToReach[3]))
	fmt.Fprintf(b, "  router best quality %.4f (%.1f%% of best model) at %s of its cost\n",
		r.MaxQuality.Quality, 100*r.MaxQuality.Quality/r.Best.Quality, pct(r.MaxQuality.Cost/r.Best.Cost))
	fmt.Fprintf(b, "  predicted scores: log loss %.4f (per-model means: %.4f)\n", r.LogLoss, r.BaseLogLoss)
	fmt.Fprintf(b, "  AIQ %.4f, normalised %.3f (single-model mixes %.3f, oracle %.3f)\n", r.AIQ, r.NAIQ, r.HullNAIQ, r.OracleNAIQ)
	if p := r.Pair; p != nil {
		fmt.Fprintf(b, "  RouteLLM (strong %s, weak %s): APGR %.3f, CPT(50%%) %.1f%%, CPT(80%%) %.1f%%\n", p.Strong, p.Weak, p.APGR, p.CPT50, p.CPT80)
	}
	fmt.Fprintf(b, "  curve (tradeoff: quality @ cost vs best):")
	for i, t := range r.Tradeoff {
		if len(r.Tradeoff) > 11 && i%((len(r.Tradeoff)-1)/10) != 0 {
			continue
		}
		fmt.Fprintf(b, " %.1f: %.3f@%s", t, r.Curve[i].Quality, pct(r.Curve[i].Cost/r.Best.Cost))
	}
	fmt.Fprintf(b, "\n  floor form (floor: quality @ cost):")
	for i, p := range r.Floor {
		if i%4 != 0 && i != len(r.Floor)-1 {
			continue
		}
		fmt.Fprintf(b, " %.2f: %.3f@%s", float64(i)/float64(len(r.Floor)-1), p.Quality, pct(p.Cost/r.Best.Cost))
	}
	fmt.Fprintln(b)
	for _, g := range f.Groups {
		if g.Pair != nil {
			fmt.Fprintf(b, "  RouteLLM on %s (%d prompts): APGR %.3f, CPT(50%%) %.1f%%, CPT(80%%) %.1f%%\n", g.Name, g.Prompts, g.Pair.APGR, g.Pair.CPT50, g.Pair.CPT80)
		}
	}
}

func writeTable(b *strings.Builder, reps []Report) {
	tw := tabwriter.NewWriter(b, 2, 4, 2, ' ', 0)
	pair := false
	for _, r := range reps {
		pair = pair || r.Pair != nil
	}
	fmt.Fprintf(tw, "  task\tn\tbest model\tq best\tq router max\tcost90\tcost95\tcost98\tcost100\tnAIQ\tlogloss")
	if pair {
		fmt.Fprintf(tw, "\tAPGR\tCPT50\tCPT80")
	}
	fmt.Fprintln(tw)
	for _, r := range reps {
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%.3f\t%.3f\t%s\t%s\t%s\t%s\t%.3f\t%+.4f", r.Name, r.Prompts, r.Best.Model, r.Best.Quality, r.MaxQuality.Quality,
			pct(r.CostToReach[0]), pct(r.CostToReach[1]), pct(r.CostToReach[2]), pct(r.CostToReach[3]), r.NAIQ, r.LogLoss-r.BaseLogLoss)
		if r.Pair != nil {
			fmt.Fprintf(tw, "\t%.3f\t%.1f%%\t%.1f%%", r.Pair.APGR, r.Pair.CPT50, r.Pair.CPT80)
		} else if pair {
			fmt.Fprintf(tw, "\t\t\t")
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}
