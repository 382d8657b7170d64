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
	// MaxBytes, when positive, bounds the text featurised: a longer prompt
	// is read as its first MaxBytes/4 bytes, a paragraph break and its last
	// MaxBytes − MaxBytes/4 bytes (the length features still see the whole
	// length). The start says what kind of request it is, the end asks the
	// question; the middle of a long prompt costs time, not signal.
	MaxBytes int
	WConj    float32 // weight of the shape-conjunction block (0 disables)
}

// DefaultFeatureConfig is the configuration the shipped router uses.
func DefaultFeatureConfig() FeatureConfig {
	return FeatureConfig{
		Bits: 14, Bigrams: true, CharMin: 4, CharMax: 4, CharBytes: 400, TailBytes: 400,
		WWords: 1, WChars: 1, WTail: 0.7, WShape: 1, WConj: 2, MaxBytes: 1024,
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
	case c.MaxBytes < 0 || c.MaxBytes > 0 && c.MaxBytes < 16:
		return fmt.Errorf("features: max bytes %d: 0 (no limit) or at least 16", c.MaxBytes)
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
	win     []byte   // the MaxBytes window of a long prompt
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
	if m := f.cfg.MaxBytes; m > 0 && len(prompt) > m {
		return features(f, f.window(prompt), len(prompt))
	}
	return features(f, prompt, len(prompt))
}

// window returns the MaxBytes window of a long prompt, in f's buffer.
func (f *Featuriser) window(prompt string) []byte {
	m := f.cfg.MaxBytes
	head := m / 4
	f.win = append(append(append(f.win[:0], prompt[:head]...), "\n\n"...), prompt[len(prompt)-(m-head):]...)
	return f.win
}

// ShapeOf computes the prompt-shape features of prompt as Features does
// (on its window), without the hashed blocks, into the featuriser's shape.
func (f *Featuriser) ShapeOf(prompt string) *[NumShape]float32 {
	if m := f.cfg.MaxBytes; m > 0 && len(prompt) > m {
		scan(f.window(prompt), nil, nil, &f.shape)
		setLength(&f.shape, len(prompt))
	} else {
		scan(prompt, nil, nil, &f.shape)
	}
	return &f.shape
}

// features featurises text (a prompt or its window): generic so that a
// window built in a byte buffer needs no copy to a string.
// n is the length of the whole prompt (more than len(prompt) for a window).
func features[T ~string | ~[]byte](f *Featuriser, prompt T, n int) Sparse {
	f.out.Idx = f.out.Idx[:0]
	f.out.Val = f.out.Val[:0]
	f.toks, f.pos = f.toks[:0], f.pos[:0]
	scan(prompt, &f.toks, &f.pos, &f.shape)
	if n != len(prompt) {
		setLength(&f.shape, n)
	}
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
		chars(f, c)
		f.flush(f.cfg.WChars)
	}
	if f.cfg.WConj != 0 {
		f.conjunctions()
		f.flush(f.cfg.WConj)
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

// conjSlots are the shape features the conjunction block bins.
var conjSlots = [...]int{shLogBytes, shLogWords, shLogLines, shNumbers, shDigits, shMath, shLastPara, shQuestion,
	shWordLen, shMaxLine, shLastLine, shOptionsLast, shUpper, shPunct, shLatex, shCode}

// conjunctions hashes, for a handful of shape features, the pair (prompt
// kind, the feature's value in one of 16 bins), where the kind is four
// bits: multiple-choice options, several numbers, code markers, a question
// mark. A linear model over these learns how length, numbers or lines
// matter for each kind of prompt (a long maths word problem is hard, a long
// multiple-choice question often is not), which it cannot from the shape
// features' single weights.
func (f *Featuriser) conjunctions() {
	sh := &f.shape
	kind := uint64(0)
	if sh[shOptions] > 0 {
		kind |= 1
	}
	if sh[shNumbers] >= 0.27 { // two numbers or more: log1p(2)/4
		kind |= 2
	}
	if sh[shCode] > 0 {
		kind |= 4
	}
	if sh[shQuestion] > 0 {
		kind |= 8
	}
	f.reserve(len(conjSlots) + 1)
	bin := func(s int, n int) uint64 { return uint64(min(n-1, max(0, int(sh[s]*float32(n))))) }
	for _, s := range conjSlots {
		f.nt = addKey(f.counts, f.touched, f.nt, f.shift, kind|uint64(s)<<8|bin(s, 16)<<16^seedConj)
	}
	// Length and numbers together: a long text with few numbers is not a
	// long word problem.
	f.nt = addKey(f.counts, f.touched, f.nt, f.shift, kind|0xff<<8|bin(shLogBytes, 8)<<16|bin(shNumbers, 8)<<24^seedConj)
}

// Hash seeds separate the blocks' namespaces.
const (
	seedConj   = 0x85ebca77c2b2ae63
	seedWord   = 0x9e3779b97f4a7c15
	seedBigram = 0xc2b2ae3d27d4eb4f
	seedTail   = 0x165667b19e3779f9
	seedChar   = 0x27d4eb2f165667c5
)

// addKey counts one hashed feature into counts and returns the new number
// of touched buckets. The key is scrambled with one multiply (Fibonacci
// hashing): the top bits pick the bucket, the bit below them the sign
// (signed hashing keeps collisions unbiased). The caller has made room in
// touched (reserve). Branch-free: whether a bucket is new is as good as
// random, so a branch on it would mispredict every other time. The state
// goes in and out as values so that the hot loops keep it in registers (as
// fields of the Featuriser it would be reloaded and stored at every key).
func addKey(counts []int32, touched []uint32, nt int, shift uint, key uint64) int {
	h := (key ^ key>>29) * 0x9e3779b97f4a7c15
	b := uint32(h >> shift)
	c := counts[b]
	touched[nt] = b
	counts[b] = c + 1 - 2*int32(h>>(shift-1)&1)
	return nt + isZero(c)
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
	counts, touched, nt, shift := f.counts, f.touched, f.nt, f.shift
	if !f.cfg.Bigrams {
		for _, h := range toks {
			nt = addKey(counts, touched, nt, shift, h^seed)
		}
		f.nt = nt
		return
	}
	prev := uint64(0)
	for k, h := range toks {
		nt = addKey(counts, touched, nt, shift, h^seed)
		if k > 0 {
			nt = addKey(counts, touched, nt, shift, (prev*0x100000001b3+h)^seedBigram^seed)
		}
		prev = h
	}
	f.nt = nt
}

// chars hashes the character n-grams of s, lower-cased with whitespace runs
// collapsed to one space. An n-gram of at most five bytes is its own key
// (packed in a register), so hashing costs one mix per n-gram.
func chars[T ~string | ~[]byte](f *Featuriser, s T) {
	var reg uint64
	n := 0 // bytes in reg, capped at 8
	lastSpace := true
	lo, hi := f.cfg.CharMin, f.cfg.CharMax
	f.reserve(len(s) * (hi - lo + 1))
	counts, touched, nt, shift := f.counts, f.touched, f.nt, f.shift
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
			nt = addKey(counts, touched, nt, shift, reg&charMask[k]^uint64(k)<<56^seedChar)
		}
	}
	f.nt = nt
}

// charMask[k] keeps the low k bytes of the n-gram register.
var charMask = [9]uint64{0, 0xff, 0xffff, 0xffffff, 0xffffffff, 0xffffffffff, 0xffffffffffff, 0xffffffffffffff, ^uint64(0)}
