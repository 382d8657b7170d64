package quality

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// The vector kernel and the scalar loop compute the same integer sums, so
// their results must be equal to the bit, for every table width (one to
// eight 8-model chunks, and beyond the kernel's 64 models), for feature
// counts across the kernel's batch size, and for values beyond ±1.
func TestLRTableVecMatchesScalar(t *testing.T) {
	if !vecDot {
		t.Skip("no vector kernel on this CPU or platform")
	}
	rng := rand.New(rand.NewPCG(7, 7))
	const dim = 1 << 10
	for _, m := range []int{1, 2, 7, 8, 9, 16, 35, 63, 64, 65} {
		lr := make([]linearModel, m)
		for i := range lr {
			lr[i].W = make([]float32, dim)
			for j := range lr[i].W {
				lr[i].W[j] = float32(rng.NormFloat64())
			}
		}
		tab := newLRTable(lr, dim)
		for _, n := range []int{0, 1, 5, 511, 512, 513, 1500} {
			x := Sparse{}
			for k := 0; k < n; k++ {
				x.Idx = append(x.Idx, uint32(rng.IntN(dim)))
				v := float32(rng.NormFloat64() / 10)
				if k == 3 {
					v = 2.5 // beyond ±1: lowers the fixed-point scale
				}
				x.Val = append(x.Val, v)
			}
			cols := make([]int32, m)
			for i := range cols {
				cols[i] = int32(m - 1 - i)
			}
			var sc dotScratch
			n := len(x.Idx)
			sc.offs, sc.vals = make([]int32, n+prefetchAhead), make([]int32, n)
			for k, j := range x.Idx {
				sc.offs[k] = int32(int(j) * m)
				sc.vals[k] = int32(x.Val[k] * 1000)
			}
			vec := make([]float64, m)
			scalar := make([]float64, m)
			if m <= 8*maxVecChunks {
				tab.dotVec(sc.offs[:n], sc.vals[:n], cols, &sc, vec)
			} else {
				vec = nil
			}
			tab.dotScalar(sc.offs[:n], sc.vals[:n], cols, scalar)
			if vec != nil && !slices.Equal(vec, scalar) {
				t.Fatalf("m=%d n=%d: vector %v, scalar %v", m, n, vec, scalar)
			}
			// And dot as a whole agrees with float arithmetic within the
			// quantisation error: each value is truncated to a multiple of
			// max(1, |v|max)/2¹⁵, times a weight of at most 127.
			vmax := 1.0
			if n > 3 {
				vmax = 2.5
			}
			tol := float64(n)*127*vmax/xScale + 1e-9
			got := make([]float64, m)
			tab.dot(x, cols, &sc, got)
			for c, col := range cols {
				var want float64
				for k, j := range x.Idx {
					want += float64(x.Val[k]) * float64(tab.w[int(j)*m+int(col)])
				}
				if d := got[c] - want; d > tol || d < -tol {
					t.Fatalf("m=%d n=%d model %d: dot %v, float sum %v", m, n, col, got[c], want)
				}
			}
		}
	}
}
