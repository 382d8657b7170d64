package quality

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// Plot geometry, in SVG user units.
const (
	panelW, panelH = 520, 380
	padL, padR     = 60, 20
	padT, padB     = 36, 48
	plotCols       = 2
)

// WriteSVG draws the evaluation as an SVG image: one panel per data file
// (and per task group where there are groups), with mean quality against
// mean cost per prompt as a percentage of the best single model's cost on a
// log axis. It shows the router's tradeoff sweep (solid), its quality-floor
// sweep (dashed), the single models (grey dots), the best single model
// (black) and the per-prompt oracle (red).
func (ev *Evaluation) WriteSVG(w io.Writer) error {
	var reps []Report
	for _, f := range ev.Files {
		o := f.Overall
		o.Name = f.Name
		reps = append(reps, o)
		for _, g := range f.Groups {
			g.Name = f.Name + " / " + g.Name
			reps = append(reps, g)
		}
	}
	rows := (len(reps) + plotCols - 1) / plotCols
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n",
		plotCols*panelW, rows*panelH+30, plotCols*panelW, rows*panelH+30)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="14">Quality router, %d-fold cross-validation (predictor %s): quality vs cost</text>`+"\n", ev.Folds, html.EscapeString(ev.Predictor))
	for i, r := range reps {
		x0 := float64(i%plotCols) * panelW
		y0 := 30 + float64(i/plotCols)*panelH
		writePanel(&b, r, x0, y0)
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writePanel(b *strings.Builder, r Report, x0, y0 float64) {
	if r.Best.Cost <= 0 || len(r.Models) == 0 {
		return
	}
	rel := func(c float64) float64 { return 100 * c / r.Best.Cost }
	// Axis ranges: log10 of relative cost, quality.
	lo, hi := math.Inf(1), math.Inf(-1)
	qlo, qhi := math.Inf(1), math.Inf(-1)
	see := func(p Point) {
		if p.Cost > 0 {
			lo = min(lo, math.Log10(rel(p.Cost)))
			hi = max(hi, math.Log10(rel(p.Cost)))
		}
		qlo = min(qlo, p.Quality)
		qhi = max(qhi, p.Quality)
	}
	for _, m := range r.Models {
		see(m.Point)
	}
	for _, p := range r.Frontier {
		see(p)
	}
	see(r.Oracle)
	lo, hi = math.Floor(lo*4)/4, math.Ceil(hi*4)/4
	if hi-lo < 0.5 {
		hi = lo + 0.5
	}
	qlo, qhi = math.Floor(qlo*20)/20, math.Ceil(qhi*20)/20
	if qhi-qlo < 0.1 {
		qhi = qlo + 0.1
	}
	pw := panelW - padL - padR
	ph := panelH - padT - padB
	X := func(c float64) float64 {
		v := lo
		if c > 0 {
			v = math.Log10(rel(c))
		}
		return x0 + padL + (v-lo)/(hi-lo)*float64(pw)
	}
	Y := func(q float64) float64 { return y0 + padT + (qhi-q)/(qhi-qlo)*float64(ph) }
	fmt.Fprintf(b, `<g><text x="%.1f" y="%.1f" font-size="13" font-weight="bold">%s (%d prompts)</text>`+"\n", x0+padL, y0+padT-14, html.EscapeString(r.Name), r.Prompts)
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", x0+padL, y0+padT, pw, ph)
	// Grid and ticks.
	for e := math.Floor(lo); e <= hi+1e-9; e++ {
		for _, m := range []float64{1, 2, 5} {
			v := e + math.Log10(m)
			if v < lo-1e-9 || v > hi+1e-9 {
				continue
			}
			x := x0 + padL + (v-lo)/(hi-lo)*float64(pw)
			fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>`, x, y0+padT, x, y0+padT+float64(ph))
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s%%</text>`+"\n", x, y0+padT+float64(ph)+14, trimFloat(math.Pow(10, v)))
		}
	}
	for q := qlo; q <= qhi+1e-9; q += 0.05 {
		y := Y(q)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>`, x0+padL, y, x0+padL+float64(pw), y)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">%.2f</text>`+"\n", x0+padL-4, y+4, q)
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">cost per prompt, %% of %s (log scale)</text>`+"\n",
		x0+padL+float64(pw)/2, y0+panelH-14, html.EscapeString(r.Best.Model))
	fmt.Fprintf(b, `<text transform="translate(%.1f %.1f) rotate(-90)" text-anchor="middle">mean score</text>`+"\n", x0+14, y0+padT+float64(ph)/2)
	poly := func(ps []Point, style string) {
		var sb strings.Builder
		last := ""
		for _, p := range ps {
			if pt := fmt.Sprintf("%.1f,%.1f ", X(p.Cost), Y(p.Quality)); pt != last {
				sb.WriteString(pt)
				last = pt
			}
		}
		fmt.Fprintf(b, `<polyline fill="none" %s points="%s"/>`+"\n", style, strings.TrimSpace(sb.String()))
	}
	poly(r.Floor, `stroke="#6baed6" stroke-width="1.5" stroke-dasharray="5,3"`)
	poly(r.Frontier, `stroke="#08519c" stroke-width="2"`)
	for _, m := range r.Models {
		fill := "#999"
		if m.Model == r.Best.Model {
			fill = "black"
		}
		fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s: %.3f at %.1f%%</title></circle>`,
			X(m.Cost), Y(m.Quality), fill, html.EscapeString(m.Model), m.Quality, rel(m.Cost))
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" fill="#666" font-size="9">%s</text>`+"\n", X(m.Cost)+5, Y(m.Quality)-4, html.EscapeString(shortName(m.Model)))
	}
	fmt.Fprintf(b, `<path d="M %.1f %.1f l 5 -5 l -5 -5 l -5 5 z" fill="#d62728"><title>oracle: %.3f at %.1f%%</title></path>`+"\n",
		X(r.Oracle.Cost), Y(r.Oracle.Quality)+5, r.Oracle.Quality, rel(r.Oracle.Cost))
	// Legend.
	lx, ly := x0+padL+8, y0+padT+float64(ph)-52
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="178" height="48" fill="white" stroke="#ccc"/>`, lx-4, ly-10)
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#08519c" stroke-width="2"/><text x="%.1f" y="%.1f">router (tradeoff sweep)</text>`, lx, ly, lx+20, ly, lx+26, ly+4)
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#6baed6" stroke-width="1.5" stroke-dasharray="5,3"/><text x="%.1f" y="%.1f">router, quality floor 0…1</text>`, lx, ly+14, lx+20, ly+14, lx+26, ly+18)
	fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="#999"/><text x="%.1f" y="%.1f">single models</text>`, lx+10, ly+28, lx+26, ly+32)
	fmt.Fprintf(b, `<path d="M %.1f %.1f l 5 -5 l -5 -5 l -5 5 z" fill="#d62728"/><text x="%.1f" y="%.1f">oracle</text></g>`+"\n", lx+110, ly+33, lx+120, ly+32)
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// shortName drops an organisation prefix ("mistralai/") from a model name.
func shortName(m string) string {
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		return m[i+1:]
	}
	return m
}
