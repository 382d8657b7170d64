package quality

import (
	"math"
	"testing"
)

// One model name in two sources: one reports tokens (short answers), the
// other only total costs (long answers). The output part of the second
// source must be learned from its totals, not borrowed from the first
// source's output lengths.
func TestFitCostMixedSources(t *testing.T) {
	const pIn, pOut = 10e-6, 30e-6
	var samples []costSample
	for i := range 400 {
		bytes := 200 + 4*i%800
		if i%2 == 0 {
			// Source A: tokens known, one output token.
			tin := float64(bytes) / 4
			samples = append(samples, costSample{
				Bytes: bytes, TokensIn: tin, TokensOut: 1, Cost: pIn*tin + pOut,
				PriceIn: math.NaN(), PriceOut: math.NaN(), Shape: []float32{0},
			})
		} else {
			// Source B: totals only, 200 output tokens; the shape tells it apart.
			tin := float64(bytes) / 4
			samples = append(samples, costSample{
				Bytes: bytes, TokensIn: math.NaN(), TokensOut: math.NaN(), Cost: pIn*tin + pOut*200,
				PriceIn: math.NaN(), PriceOut: math.NaN(), Shape: []float32{1},
			})
		}
	}
	c := fitCost(samples, 0.25, 1e-3)
	a := c.expected(250, []float32{0})
	b := c.expected(250, []float32{1})
	wantA, wantB := pIn*250+pOut, pIn*250+pOut*200
	if math.Abs(a/wantA-1) > 0.1 {
		t.Errorf("source A: expected cost %.3g, want %.3g", a, wantA)
	}
	if math.Abs(b/wantB-1) > 0.1 {
		t.Errorf("source B (totals only): expected cost %.3g, want %.3g", b, wantB)
	}
}
