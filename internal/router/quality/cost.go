package quality

import (
	"math"
)

// costModel estimates what one model charges for a prompt, in the units the
// training data measured: price_in × input tokens + an output part.
//
// The input tokens are estimated from the prompt's length (TokensPerByte,
// learned from the rows that report token counts). The output part is
// PriceOut × predicted output tokens when the data has output token counts;
// when a source reports only a total cost, the output part is the rest of
// the cost after the input part, in USD (PriceOut = 1, "tokens" are USD).
// Either way it is predicted per prompt by a ridge regression of its log on
// the prompt-shape features, with the log-normal mean correction; the
// model's mean is the fallback.
type costModel struct {
	PriceIn  float64 // USD per input token
	PriceOut float64 // USD per output unit (token, or 1 when the unit is USD)
	OutMean  float64 // mean output units, the fallback
	OutW     []float64
	OutBias  float64
	OutVar   float64 // residual variance of the log regression
	HasOut   bool    // the data measured an output part at all
	Samples  int
	Typical  float64 // mean expected cost over the training prompts: the scale of the cost penalty
}

// expected returns the expected cost of a prompt with estimated input
// tokens tin and shape features shape (nil: use the mean output).
func (c *costModel) expected(tin float64, shape []float32) float64 {
	cost := c.PriceIn * tin
	if !c.HasOut {
		return cost
	}
	out := c.OutMean
	if shape != nil && len(c.OutW) == len(shape) {
		z := c.OutBias
		for i, w := range c.OutW {
			z += w * float64(shape[i])
		}
		out = math.Exp(z+c.OutVar/2) - 1
		out = max(0, min(out, 50*c.OutMean+1))
	}
	return cost + c.PriceOut*out
}

// typicalCost is the mean expected cost of the samples' prompts.
func (c *costModel) typicalCost(samples []costSample, tokPerByte float64) float64 {
	if len(samples) == 0 {
		return 0
	}
	var sum float64
	for _, s := range samples {
		sum += c.expected(tokPerByte*float64(s.Bytes), s.Shape)
	}
	return sum / float64(len(samples))
}

// costSample is one observed cost of a model.
type costSample struct {
	Bytes     int
	TokensIn  float64 // NaN: unknown
	TokensOut float64 // NaN: unknown
	Cost      float64 // NaN: unknown
	PriceIn   float64 // NaN: unknown
	PriceOut  float64 // NaN: unknown
	Shape     []float32
}

// fitTokensPerByte fits input tokens ≈ k × bytes over the samples that
// report input tokens; 0.25 (four bytes a token) without any.
func fitTokensPerByte(samples [][]costSample) float64 {
	var sxy, sxx float64
	for _, ss := range samples {
		for _, s := range ss {
			if !math.IsNaN(s.TokensIn) && s.Bytes > 0 {
				sxy += float64(s.Bytes) * s.TokensIn
				sxx += float64(s.Bytes) * float64(s.Bytes)
			}
		}
	}
	if sxx == 0 {
		return 0.25
	}
	return sxy / sxx
}

// fitCost fits one model's cost model. ridge is the L2 penalty of the
// output-length regression.
func fitCost(samples []costSample, tokPerByte, ridge float64) costModel {
	c := costModel{Samples: len(samples)}
	var nTokIn, nTokOut, nCost int
	for _, s := range samples {
		if !math.IsNaN(s.TokensIn) {
			nTokIn++
		}
		if !math.IsNaN(s.TokensOut) {
			nTokOut++
		}
		if !math.IsNaN(s.Cost) {
			nCost++
		}
	}
	tin := func(s costSample) float64 {
		if !math.IsNaN(s.TokensIn) {
			return s.TokensIn
		}
		return tokPerByte * float64(s.Bytes)
	}
	// Prices: quoted prices win; else least squares on the costs.
	pIn, pOut, nPrice := 0.0, 0.0, 0
	for _, s := range samples {
		if !math.IsNaN(s.PriceIn) {
			pIn += s.PriceIn
			if !math.IsNaN(s.PriceOut) {
				pOut += s.PriceOut
			}
			nPrice++
		}
	}
	var outs []float64 // output units per sample, NaN when unknown
	switch {
	case nTokOut > 0 && nCost > 0:
		// cost = pi·tin + po·tout, non-negative least squares in two variables.
		var a11, a12, a22, b1, b2 float64
		for _, s := range samples {
			if math.IsNaN(s.Cost) || math.IsNaN(s.TokensOut) {
				continue
			}
			x1, x2 := tin(s), s.TokensOut
			a11 += x1 * x1
			a12 += x1 * x2
			a22 += x2 * x2
			b1 += x1 * s.Cost
			b2 += x2 * s.Cost
		}
		c.PriceIn, c.PriceOut = nnls2(a11, a12, a22, b1, b2)
		if nPrice > 0 {
			c.PriceIn = pIn / float64(nPrice)
			if pOut > 0 {
				c.PriceOut = pOut / float64(nPrice)
			}
		}
		c.HasOut = c.PriceOut > 0
		for _, s := range samples {
			switch {
			case !math.IsNaN(s.TokensOut):
				outs = append(outs, s.TokensOut)
			case c.HasOut && !math.IsNaN(s.Cost):
				// A source that reports only the total (the same model
				// name in another file): its output tokens are what the
				// total leaves after the input part. Dropping these rows
				// would predict this source's costs from the other's
				// output lengths.
				outs = append(outs, max(0, (s.Cost-c.PriceIn*tin(s))/c.PriceOut))
			default:
				outs = append(outs, math.NaN())
			}
		}
	case nCost > 0 && nTokIn > 0 || nPrice > 0:
		// Only input tokens are priced in the data (no output part).
		if nPrice > 0 {
			c.PriceIn = pIn / float64(nPrice)
		} else {
			var sxy, sxx float64
			for _, s := range samples {
				if !math.IsNaN(s.Cost) {
					sxy += tin(s) * s.Cost
					sxx += tin(s) * tin(s)
				}
			}
			if sxx > 0 {
				c.PriceIn = max(0, sxy/sxx)
			}
		}
	case nCost > 0:
		// Totals only: cost = pi·tin + rest, the rest being the output part
		// in USD. pi is the slope of a least-squares line with an
		// intercept, kept non-negative and within the observed costs.
		var n, sx, sy, sxx, sxy float64
		for _, s := range samples {
			if math.IsNaN(s.Cost) {
				continue
			}
			x := tin(s)
			n++
			sx += x
			sy += s.Cost
			sxx += x * x
			sxy += x * s.Cost
		}
		if d := n*sxx - sx*sx; d > 0 {
			c.PriceIn = max(0, (n*sxy-sx*sy)/d)
		}
		// The input part may not exceed any observed cost.
		for _, s := range samples {
			if !math.IsNaN(s.Cost) && tin(s) > 0 {
				c.PriceIn = min(c.PriceIn, s.Cost/tin(s))
			}
		}
		c.PriceOut = 1
		c.HasOut = true
		for _, s := range samples {
			if math.IsNaN(s.Cost) {
				outs = append(outs, math.NaN())
			} else {
				outs = append(outs, max(0, s.Cost-c.PriceIn*tin(s)))
			}
		}
	}
	if !c.HasOut {
		return c
	}
	// Output units: mean, and a ridge regression of log(1+units) on shape.
	// Units in USD are scaled to micro-dollars first so log1p is not flat.
	scale := 1.0
	if c.PriceOut == 1 {
		scale = 1e6
	}
	var ys []float64
	var xs [][]float32
	var sum float64
	for i, s := range samples {
		if math.IsNaN(outs[i]) {
			continue
		}
		ys = append(ys, math.Log1p(outs[i]*scale))
		xs = append(xs, s.Shape)
		sum += outs[i]
	}
	if len(ys) == 0 {
		c.HasOut = false
		return c
	}
	c.OutMean = sum / float64(len(ys)) * scale
	c.PriceOut /= scale // prices per scaled unit
	if len(ys) >= 20 && len(xs[0]) > 0 {
		c.OutW, c.OutBias, c.OutVar = ridgeFit(xs, ys, ridge)
	}
	return c
}

// nnls2 solves the 2×2 non-negative least squares problem with normal
// equations [a11 a12; a12 a22]·x = [b1 b2].
func nnls2(a11, a12, a22, b1, b2 float64) (x1, x2 float64) {
	if d := a11*a22 - a12*a12; d > 1e-300*math.Max(1, a11*a22) {
		x1 = (b1*a22 - b2*a12) / d
		x2 = (a11*b2 - a12*b1) / d
		if x1 >= 0 && x2 >= 0 {
			return x1, x2
		}
	}
	// One variable at zero: take the better of the two single fits.
	var c1, c2, e1, e2 float64
	if a11 > 0 {
		c1 = max(0, b1/a11)
		e1 = c1*c1*a11 - 2*c1*b1
	}
	if a22 > 0 {
		c2 = max(0, b2/a22)
		e2 = c2*c2*a22 - 2*c2*b2
	}
	if e1 <= e2 {
		return c1, 0
	}
	return 0, c2
}

// ridgeFit fits y ≈ w·x + b by ridge regression (the bias unpenalised) and
// returns the weights, bias and residual variance.
func ridgeFit(xs [][]float32, ys []float64, lambda float64) (w []float64, b, variance float64) {
	d := len(xs[0])
	n := float64(len(ys))
	// Centre x and y so the bias is unpenalised.
	mx := make([]float64, d)
	var my float64
	for i, x := range xs {
		for j, v := range x {
			mx[j] += float64(v)
		}
		my += ys[i]
	}
	for j := range mx {
		mx[j] /= n
	}
	my /= n
	a := make([]float64, d*d)
	rhs := make([]float64, d)
	for i, x := range xs {
		yc := ys[i] - my
		for j := 0; j < d; j++ {
			xj := float64(x[j]) - mx[j]
			rhs[j] += xj * yc
			for k := j; k < d; k++ {
				a[j*d+k] += xj * (float64(x[k]) - mx[k])
			}
		}
	}
	for j := 0; j < d; j++ {
		for k := 0; k < j; k++ {
			a[j*d+k] = a[k*d+j]
		}
		a[j*d+j] += lambda * n
	}
	w = solveSPD(a, rhs, d)
	b = my
	for j := range w {
		b -= w[j] * mx[j]
	}
	var ss float64
	for i, x := range xs {
		r := ys[i] - b
		for j, v := range x {
			r -= w[j] * float64(v)
		}
		ss += r * r
	}
	return w, b, ss / n
}

// solveSPD solves a·x = b for a symmetric positive definite d×d matrix by
// Cholesky decomposition; a and b are overwritten.
func solveSPD(a, b []float64, d int) []float64 {
	for j := 0; j < d; j++ {
		s := a[j*d+j]
		for k := 0; k < j; k++ {
			s -= a[j*d+k] * a[j*d+k]
		}
		if s <= 1e-12 {
			s = 1e-12
		}
		a[j*d+j] = math.Sqrt(s)
		for i := j + 1; i < d; i++ {
			t := a[i*d+j]
			for k := 0; k < j; k++ {
				t -= a[i*d+k] * a[j*d+k]
			}
			a[i*d+j] = t / a[j*d+j]
		}
	}
	x := make([]float64, d)
	for i := 0; i < d; i++ { // L·y = b
		t := b[i]
		for k := 0; k < i; k++ {
			t -= a[i*d+k] * x[k]
		}
		x[i] = t / a[i*d+i]
	}
	for i := d - 1; i >= 0; i-- { // Lᵀ·x = y
		t := x[i]
		for k := i + 1; k < d; k++ {
			t -= a[k*d+i] * x[k]
		}
		x[i] = t / a[i*d+i]
	}
	return x
}
