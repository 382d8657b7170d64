package quality

import (
	"fmt"
	"math"
)

// FeatureConfig configures the featuriser. It is saved in the artifact: a
// router always featurises prompts exactly as its training did.
type FeatureConfig struct {
	Bits      int     // log2 of the number of hashed buckets
	Bigrams   bool    // word bigrams besides unigrams
	CharMin   int     // shortest character n-gram (0 disables character n-grams)
	CharMax   int     // longest character n-gram, at most 5
	CharBytes int     // character n-grams cover only the last CharBytes bytes (0: the whole prompt)
	WordBytes int     // the word block covers only the first and last WordBytes/2 bytes (0: the whole prompt)
	TailBytes int     // words in the last TailBytes bytes also hash into a "tail" block (0 disables)
	WWords    float32 // weight of the word block (each block is L2-normalised, then weighted)
	WChars    float32 // weight of the character block
	WTail     float32 // weight of the tail block
	WShape    float32 // weight of the dense prompt-shape block
}

// DefaultFeatureConfig is the configuration the shipped router uses.
func DefaultFeatureConfig() FeatureConfig {
	return FeatureConfig{
		Bits: 14, Bigrams: true, CharMin: 4, CharMax: 4, CharBytes: 400, TailBytes: 400,
		WWords: 1, WChars: 1, WTail: 0.7, WShape: 1,
	}
}

// Validate reports a configuration error.
func (c FeatureConfig) Validate() error {
	switch {
	case c.Bits < 8 || c.Bits > 24:
		return fmt.Errorf("features: bits %d out of range [8,24]", c.Bits)
	case c.CharMin < 0 || c.CharMax > 5 || (c.CharMin > 0 && c.CharMax < c.CharMin):
		return fmt.Errorf("features: character n-gram range [%d,%d] invalid (0 disables; at most 5)", c.CharMin, c.CharMax)
	case c.TailBytes < 0 || c.CharBytes < 0 || c.WordBytes < 0:
		return fmt.Errorf("features: negative tail or character bytes")
	}
	return nil
}

// Dim is the dimension of the feature space: the hashed buckets followed by
// the dense shape features.
func (c FeatureConfig) Dim() int { return 1<<c.Bits + NumShape }

// Sparse is a sparse feature vector. Indices may repeat (blocks hash into
// the same space); every use is linear, so repeats add up.
type Sparse struct {
	Idx []uint32
	Val []float32
}

// Dot returns the dot product of s with the dense vector w.
func (s Sparse) Dot(w []float32) float32 {
	var sum float32
	for i, j := range s.Idx {
		sum += s.Val[i] * w[j]
	}
	return sum
}

// Clone returns a copy of s that shares no memory with it.
func (s Sparse) Clone() Sparse {
	c := Sparse{Idx: make([]uint32, len(s.Idx)), Val: make([]float32, len(s.Val))}
	copy(c.Idx, s.Idx)
	copy(c.Val, s.Val)
	return c
}

// Featuriser turns prompts into feature vectors. It owns scratch buffers, so
// it is not safe for concurrent use; use one per goroutine (Router keeps a
// pool). Featurisation is deterministic: the same prompt and configuration
// always give the same vector.
type Featuriser struct {
	cfg     FeatureConfig
	shift   uint     // 64 - Bits
	counts  []int32  // per-bucket signed count, all zero between blocks
	touched []uint32 // buckets counted from zero in this block (full length; nt used)
	nt      int
	out     Sparse
	shape   [NumShape]float32
	toks    []uint64 // token hashes of the current prompt
	pos     []int32  // their byte offsets
}

// NewFeaturiser returns a featuriser for cfg.
func NewFeaturiser(cfg FeatureConfig) (*Featuriser, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Featuriser{
		cfg:     cfg,
		shift:   uint(64 - cfg.Bits),
		counts:  make([]int32, 1<<cfg.Bits),
		touched: make([]uint32, 4096),
		toks:    make([]uint64, 0, 1024),
		pos:     make([]int32, 0, 1024),
		out:     Sparse{Idx: make([]uint32, 0, 4096), Val: make([]float32, 0, 4096)},
	}, nil
}

// Config returns the featuriser's configuration.
func (f *Featuriser) Config() FeatureConfig { return f.cfg }

// Features returns the feature vector of prompt. The result aliases the
// featuriser's buffers and is valid until the next call; Clone it to keep it.
func (f *Featuriser) Features(prompt string) Sparse {
	f.out.Idx = f.out.Idx[:0]
	f.out.Val = f.out.Val[:0]
	f.toks, f.pos = f.toks[:0], f.pos[:0]
	scan(prompt, &f.toks, &f.pos, &f.shape)
	if f.cfg.WWords != 0 {
		if w := f.cfg.WordBytes; w > 0 && len(prompt) > w {
			// Long prompts: the head (instructions, often shared) and the
			// tail (the actual question); the middle adds cost, not signal.
			head, tail := int32(w/2), int32(len(prompt)-w/2)
			a := 0
			for a < len(f.pos) && f.pos[a] < head {
				a++
			}
			b := a
			for b < len(f.pos) && f.pos[b] < tail {
				b++
			}
			f.ngrams(f.toks[:a], seedWord)
			f.ngrams(f.toks[b:], seedWord)
		} else {
			f.ngrams(f.toks, seedWord)
		}
		f.flush(f.cfg.WWords)
	}
	if f.cfg.WTail != 0 && f.cfg.TailBytes > 0 {
		start := int32(len(prompt) - f.cfg.TailBytes)
		k := len(f.pos)
		for k > 0 && f.pos[k-1] >= start {
			k-- // the tokens that start within the tail
		}
		f.ngrams(f.toks[k:], seedTail)
		f.flush(f.cfg.WTail)
	}
	if f.cfg.WChars != 0 && f.cfg.CharMin > 0 {
		c := prompt
		if f.cfg.CharBytes > 0 && len(c) > f.cfg.CharBytes {
			c = c[len(c)-f.cfg.CharBytes:]
		}
		f.chars(c)
		f.flush(f.cfg.WChars)
	}
	if f.cfg.WShape != 0 {
		base := uint32(1 << f.cfg.Bits)
		for i, v := range f.shape {
			if v != 0 {
				f.out.Idx = append(f.out.Idx, base+uint32(i))
				f.out.Val = append(f.out.Val, v*f.cfg.WShape)
			}
		}
	}
	return f.out
}

// Shape returns the prompt-shape features computed by the last Features
// call.
func (f *Featuriser) Shape() *[NumShape]float32 { return &f.shape }

// Hash seeds separate the blocks' namespaces.
const (
	seedWord   = 0x9e3779b97f4a7c15
	seedBigram = 0xc2b2ae3d27d4eb4f
	seedTail   = 0x165667b19e3779f9
	seedChar   = 0x27d4eb2f165667c5
)

// add counts one hashed feature. The key is scrambled with one multiply
// (Fibonacci hashing): the top bits pick the bucket, the bit below them the
// sign (signed hashing keeps collisions unbiased). The caller has made room
// in touched (reserve). Branch-free: whether a bucket is new is as good as
// random, so a branch on it would mispredict every other time.
func (f *Featuriser) add(key uint64) {
	h := (key ^ key>>29) * 0x9e3779b97f4a7c15
	b := uint32(h >> f.shift)
	c := f.counts[b]
	f.touched[f.nt] = b
	f.nt += isZero(c)
	f.counts[b] = c + 1 - 2*int32(h>>(f.shift-1)&1)
}

// isZero is 1 for 0, else 0 (compiled to a flag set, not a branch).
func isZero(c int32) int {
	if c == 0 {
		return 1
	}
	return 0
}

// reserve makes room in touched for n more adds.
func (f *Featuriser) reserve(n int) {
	if len(f.touched)-f.nt < n {
		f.touched = append(f.touched[:f.nt], make([]uint32, n)...)
		f.touched = f.touched[:cap(f.touched)]
	}
}

// flush moves the accumulated block into the output with log-scaled term
// frequencies, L2-normalised and multiplied by weight, and clears the
// accumulator. A bucket whose count cancelled to zero (signed hashing) is
// no feature; one touched twice (it went back to zero and up again) is
// emitted once, at its first touch, the later entry finding it cleared.
func (f *Featuriser) flush(weight float32) {
	start := len(f.out.Idx)
	if need := start + f.nt; cap(f.out.Idx) < need {
		f.out.Idx = append(f.out.Idx, make([]uint32, f.nt)...)[:start]
		f.out.Val = append(f.out.Val, make([]float32, f.nt)...)[:start]
	}
	idx, val := f.out.Idx[:start+f.nt], f.out.Val[:start+f.nt]
	k := start
	var ss float64
	for _, b := range f.touched[:f.nt] {
		v := f.counts[b]
		f.counts[b] = 0
		if v == 0 {
			continue
		}
		m := v >> 31
		a := (v ^ m) - m // |v|
		var t float32
		if a < int32(len(logTF)) {
			t = logTF[a]
		} else {
			t = float32(1 + math.Log(float64(a)))
		}
		ss += float64(t) * float64(t)
		idx[k] = b
		val[k] = math.Float32frombits(math.Float32bits(t) | uint32(m)&0x80000000) // the sign of v
		k++
	}
	f.nt = 0
	f.out.Idx, f.out.Val = idx[:k], val[:k]
	if ss == 0 {
		return
	}
	scale := weight / float32(math.Sqrt(ss))
	vals := val[start:k]
	for i := range vals {
		vals[i] *= scale
	}
}

// logTF[n] is 1 + ln(n), the log-scaled term frequency of a count n.
var logTF = func() (t [64]float32) {
	for i := 1; i < len(t); i++ {
		t[i] = float32(1 + math.Log(float64(i)))
	}
	return t
}()

// ngrams hashes the token unigrams (and bigrams) of toks into the block
// seeded by seed.
func (f *Featuriser) ngrams(toks []uint64, seed uint64) {
	f.reserve(2 * len(toks))
	for k, h := range toks {
		f.add(h ^ seed)
		if f.cfg.Bigrams && k > 0 {
			f.add((toks[k-1]*0x100000001b3 + h) ^ seedBigram ^ seed)
		}
	}
}

// chars hashes the character n-grams of s, lower-cased with whitespace runs
// collapsed to one space. An n-gram of at most five bytes is its own key
// (packed in a register), so hashing costs one mix per n-gram.
func (f *Featuriser) chars(s string) {
	var reg uint64
	n := 0 // bytes in reg, capped at 8
	lastSpace := true
	lo, hi := f.cfg.CharMin, f.cfg.CharMax
	f.reserve(len(s) * (hi - lo + 1))
	for i := 0; i < len(s); i++ {
		c := lowerTab[s[i]]
		if cl := byteClass[c]; cl == clsSpace || cl == clsNewline {
			if lastSpace {
				continue
			}
			c = ' '
			lastSpace = true
		} else {
			lastSpace = false
		}
		reg = reg<<8 | uint64(c)
		if n < 8 {
			n++
		}
		for k := lo; k <= hi && k <= n; k++ {
			f.add(reg&charMask[k] ^ uint64(k)<<56 ^ seedChar)
		}
	}
}

// charMask[k] keeps the low k bytes of the n-gram register.
var charMask = [9]uint64{0, 0xff, 0xffff, 0xffffff, 0xffffffff, 0xffffffffff, 0xffffffffffff, 0xffffffffffffff, ^uint64(0)}
