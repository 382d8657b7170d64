//go:build !amd64 || purego

package quality

// vecDot reports whether lrDotVec may be used: never on this platform.
const vecDot = false

const maxVecChunks = 8

func lrDotVec(w *int8, offs *int32, vals *int32, n int, chunks int, lanes *[8 * maxVecChunks]int32) {
	panic("lrDotVec: no vector kernel on this platform")
}
