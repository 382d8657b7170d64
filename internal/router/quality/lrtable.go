package quality

import "math"

// lrTable holds the per-model logistic regressions arranged for
// prediction: bucket-major and quantised to 8 bits, so a prediction reads
// one short row per feature (every model's weight for that bucket, a byte
// each) instead of one scattered 4-byte weight per feature and model. The
// rounding error of a logit is about scale/2 × ‖x‖₁/√n, far below what
// matters for a choice.
type lrTable struct {
	m     int       // models: the row stride
	w     []int8    // Dim rows of m weights, then lrPad bytes of padding
	scale []float32 // per model: weight ≈ w × scale
}

// lrPad pads the table so that a vector kernel may read whole 8-byte
// groups past the last row.
const lrPad = 64

// xScale is the fixed-point scale of feature values in dot: values in
// [-1, 1] become integers in [-2¹⁵, 2¹⁵] (a relative error below 10⁻³ for
// the smallest values a prompt has, far below the weights' 8-bit
// rounding). With weights in [-127, 127], 512 products always fit a 32-bit
// sum: dotBatch features at a time go through the vector kernel.
const (
	xScale   = 1 << 15
	dotBatch = 512
)

// prefetchAhead is how far ahead of its feature the vector kernel fetches a
// row (the table is larger than L2, the rows scattered).
const prefetchAhead = 16

func newLRTable(lr []linearModel, dim int) *lrTable {
	m := len(lr)
	t := &lrTable{m: m, w: make([]int8, dim*m+lrPad), scale: make([]float32, m)}
	for i, lm := range lr {
		var mx float32
		for _, w := range lm.W {
			mx = max(mx, w, -w)
		}
		if mx == 0 {
			continue
		}
		s := mx / 127
		t.scale[i] = s
		for j, w := range lm.W {
			t.w[j*m+i] = int8(math.Round(float64(w / s)))
		}
	}
	return t
}

// dotScratch is dot's working memory (one per concurrent caller).
type dotScratch struct {
	offs  []int32 // row offset of each feature
	vals  []int32 // its quantised value
	sums  []int64 // per model
	lanes [8 * maxVecChunks]int32
}

// dot sets acc[c] to the dot product of x with model cols[c]'s weights, in
// units of scale[cols[c]].
func (t *lrTable) dot(x Sparse, cols []int32, sc *dotScratch, acc []float64) {
	n := len(x.Idx)
	if cap(sc.offs) < n+prefetchAhead {
		sc.offs, sc.vals = make([]int32, n+prefetchAhead), make([]int32, n)
	}
	offs, vals := sc.offs[:n], sc.vals[:n]
	clear(sc.offs[n : n+prefetchAhead]) // the kernel's look-ahead reads row 0 there
	// Values beyond ±1 (only possible in the dense shape block of a huge
	// prompt) lower the fixed-point scale so every value fits. The largest
	// magnitude is found on the float bits: for non-negative floats their
	// order is the integers' order, and the comparison compiles branch-free.
	var vmaxBits uint32
	for _, v := range x.Val[:n] {
		b := math.Float32bits(v) &^ (1 << 31)
		if b > vmaxBits {
			vmaxBits = b
		}
	}
	qs := float32(xScale)
	if vmax := math.Float32frombits(vmaxBits); vmax > 1 {
		qs /= vmax
	}
	for k, j := range x.Idx {
		offs[k] = int32(int(j) * t.m)
		vals[k] = int32(x.Val[k] * qs) // truncated: an error below 2⁻¹⁵
	}
	if vecDot && t.m <= 8*maxVecChunks {
		t.dotVec(offs, vals, cols, sc, acc)
	} else {
		t.dotScalar(offs, vals, cols, acc)
	}
	for c := range acc[:len(cols)] {
		acc[c] /= float64(qs)
	}
}

// dotVec computes every model's sum with the vector kernel, eight models to
// a register, dotBatch features at a time, and picks the candidates'.
func (t *lrTable) dotVec(offs, vals, cols []int32, sc *dotScratch, acc []float64) {
	chunks := (t.m + 7) / 8
	if cap(sc.sums) < t.m {
		sc.sums = make([]int64, t.m)
	}
	sums := sc.sums[:t.m]
	clear(sums)
	for lo := 0; lo < len(offs); lo += dotBatch {
		hi := min(len(offs), lo+dotBatch)
		lrDotVec(&t.w[0], &offs[lo], &vals[lo], hi-lo, chunks, &sc.lanes)
		for i := range sums {
			sums[i] += int64(sc.lanes[i])
		}
	}
	for c, col := range cols {
		acc[c] = float64(sums[col])
	}
}

// dotScalar computes the candidates' sums one at a time.
func (t *lrTable) dotScalar(offs, vals, cols []int32, acc []float64) {
	for c, col := range cols {
		w := t.w[col:]
		var a int64
		for k, o := range offs {
			a += int64(vals[k]) * int64(w[o])
		}
		acc[c] = float64(a)
	}
}
