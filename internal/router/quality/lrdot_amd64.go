//go:build amd64 && !purego

package quality

import "golang.org/x/sys/cpu"

// vecDot reports whether lrDotVec may be used.
var vecDot = cpu.X86.HasAVX2

// maxVecChunks is the number of 8-model groups lrDotVec handles: models
// beyond 64 take the scalar path.
const maxVecChunks = 8

// lrDotVec computes, for the first 8×chunks models, the sums over n
// features of vals[k] × w[offs[k] + model] into lanes (AVX2; 32-bit sums,
// so n ≤ dotBatch).
//
//go:noescape
func lrDotVec(w *int8, offs *int32, vals *int32, n int, chunks int, lanes *[8 * maxVecChunks]int32)
