package quality

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var featurePrompts = []string{
	"",
	"Hello",
	"What is the capital of France?\nA. Paris\nB. Lyon\nC. Nice\nD. Lille\nAnswer:",
	"def f(x):\n    return x * 2  # double it\n\nprint(f(21))",
	"Ünïcödé tëxt — with “quotes”, emoji 🙂 and 中文字符.",
	strings.Repeat("long prompt with many repeated words and numbers 12345 ", 100),
}

func TestFeaturesDeterministic(t *testing.T) {
	cfg := DefaultFeatureConfig()
	f1, err := NewFeaturiser(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f2, _ := NewFeaturiser(cfg)
	for _, p := range featurePrompts {
		a := f1.Features(p).Clone()
		// Interleave other prompts: scratch state must not leak.
		for _, q := range featurePrompts {
			f1.Features(q)
		}
		b := f1.Features(p)
		c := f2.Features(p)
		if diff := cmp.Diff(a, b); diff != "" {
			t.Errorf("%.20q: second featurisation differs (-first +second):\n%s", p, diff)
		}
		if diff := cmp.Diff(a, c); diff != "" {
			t.Errorf("%.20q: another featuriser differs:\n%s", p, diff)
		}
	}
}

func TestFeaturesShape(t *testing.T) {
	f, _ := NewFeaturiser(DefaultFeatureConfig())
	dim := uint32(DefaultFeatureConfig().Dim())
	for _, p := range featurePrompts {
		x := f.Features(p)
		if len(x.Idx) != len(x.Val) {
			t.Fatalf("%d indices, %d values", len(x.Idx), len(x.Val))
		}
		for i, j := range x.Idx {
			if j >= dim || math.IsNaN(float64(x.Val[i])) || math.IsInf(float64(x.Val[i]), 0) {
				t.Fatalf("%.20q: entry %d = (%d, %v); dimension %d", p, i, j, x.Val[i], dim)
			}
		}
	}
	// Each hashed block is L2-normalised to its weight: a prompt with words
	// and characters has squared norm w_words² + w_tail² + w_chars² +
	// w_conj² plus the shape block.
	cfg := DefaultFeatureConfig()
	cfg.WShape = 0
	f, _ = NewFeaturiser(cfg)
	x := f.Features("a short prompt about rivers")
	var ss float64
	for _, v := range x.Val {
		ss += float64(v) * float64(v)
	}
	want := float64(cfg.WWords*cfg.WWords + cfg.WTail*cfg.WTail + cfg.WChars*cfg.WChars + cfg.WConj*cfg.WConj)
	if math.Abs(ss-want) > 1e-4 {
		t.Errorf("squared norm = %v, want %v", ss, want)
	}
	// Case-insensitive words: "Rivers" and "rivers" give the same vector
	// (apart from the blocks that read the share of upper-case letters).
	cfg.WConj = 0
	f, _ = NewFeaturiser(cfg)
	a := f.Features("Rivers AND lakes").Clone()
	if diff := cmp.Diff(a, f.Features("rivers and LAKES")); diff != "" {
		t.Errorf("case changes the features:\n%s", diff)
	}
	if cmp.Equal(a, f.Features("rivers and seas")) {
		t.Error("different prompts gave the same features")
	}
}

func TestShapeFeatures(t *testing.T) {
	var sh [NumShape]float32
	shapeFeatures(featurePrompts[2], &sh)
	if sh[shOptions] != 0.4 {
		t.Errorf("options = %v, want 0.4 (four option lines)", sh[shOptions])
	}
	if sh[shQWords] == 0 || sh[shQuestion] == 0 || sh[shAnswer] == 0 {
		t.Errorf("question words %v, question marks %v, answer markers %v; want all > 0", sh[shQWords], sh[shQuestion], sh[shAnswer])
	}
	shapeFeatures(featurePrompts[3], &sh)
	if sh[shCode] == 0 || sh[shOptions] != 0 {
		t.Errorf("code prompt: code %v, options %v; want code > 0 and no options", sh[shCode], sh[shOptions])
	}
	shapeFeatures("", &sh)
	if sh != ([NumShape]float32{}) {
		t.Errorf("empty prompt: %v, want all zero", sh)
	}
	shapeFeatures("Write a poem", &sh)
	if sh[shImperative] != 1 {
		t.Error("imperative prompt not detected")
	}
}

func TestFeatureConfigValidate(t *testing.T) {
	for _, c := range []FeatureConfig{
		{Bits: 4}, {Bits: 30}, {Bits: 16, CharMin: 3, CharMax: 6}, {Bits: 16, CharMin: 4, CharMax: 3}, {Bits: 16, TailBytes: -1},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", c)
		}
	}
	if err := DefaultFeatureConfig().Validate(); err != nil {
		t.Errorf("Validate(default) = %v", err)
	}
}

// Featurising a 2 KB prompt must stay cheap. The bound is generous (the
// benchmark gives the real figure) and the best of several batches counts,
// so a busy machine does not fail it; it is skipped under the race
// detector, which slows everything down tenfold.
func TestFeaturesSpeed(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("timing test: skipped under -race and -short")
	}
	f, _ := NewFeaturiser(DefaultFeatureConfig())
	p := benchPrompt()
	const n = 200
	best := time.Hour
	for range 10 {
		start := time.Now()
		for i := 0; i < n; i++ {
			f.Features(p)
		}
		best = min(best, time.Since(start)/n)
	}
	if best > 200*time.Microsecond {
		t.Errorf("featurising a 2 KB prompt takes %v, want ≤ 200µs", best)
	}
}

func TestKeywordTable(t *testing.T) {
	seen := map[int]string{}
	for _, w := range keywordList {
		slot := keywordSlot(fnvLower(w))
		if other, ok := seen[slot]; ok {
			t.Fatalf("keywords %q and %q share slot %d: enlarge the table or change the hash", w, other, slot)
		}
		seen[slot] = w
		if keywordKind(fnvLower(w)) == kwNone {
			t.Errorf("keyword %q not found", w)
		}
	}
	if keywordKind(fnvLower("river")) != kwNone {
		t.Error("a non-keyword is found")
	}
}

// With MaxBytes, a long prompt is featurised as its head, a paragraph
// break and its tail, except that the length features are the whole
// prompt's; ShapeOf agrees with the shape Features leaves; short prompts
// are untouched.
func TestFeaturesWindow(t *testing.T) {
	// Without the conjunction block, which reads the length features.
	cfg := DefaultFeatureConfig()
	cfg.MaxBytes, cfg.WConj = 64, 0
	f, err := NewFeaturiser(cfg)
	if err != nil {
		t.Fatal(err)
	}
	whole := cfg
	whole.MaxBytes = 0
	g, _ := NewFeaturiser(whole)
	long := strings.Repeat("head words here ", 4) + strings.Repeat("middle filler ", 50) + "and the final question is this?"
	head, tail := long[:16], long[len(long)-48:]
	got := f.Features(long).Clone()
	shape := *f.Shape()
	want := g.Features(head + "\n\n" + tail).Clone()
	wantShape := *g.Shape()
	setLength(&wantShape, len(long))
	if !cmp.Equal(shape, wantShape) {
		t.Errorf("shape = %v, want %v", shape, wantShape)
	}
	// The hashed blocks are the window's; the shape block differs only in
	// the length features.
	dim := uint32(1 << whole.Bits)
	hashed := func(x Sparse) Sparse {
		var h Sparse
		for i, j := range x.Idx {
			if j < dim {
				h.Idx, h.Val = append(h.Idx, j), append(h.Val, x.Val[i])
			}
		}
		return h
	}
	if diff := cmp.Diff(hashed(want), hashed(got)); diff != "" {
		t.Errorf("windowed features differ from the window's (-want +got):\n%s", diff)
	}
	if s := *f.ShapeOf(long); !cmp.Equal(s, wantShape) {
		t.Errorf("ShapeOf = %v, want %v", s, wantShape)
	}
	short := "a short prompt"
	if diff := cmp.Diff(g.Features(short).Clone(), f.Features(short).Clone()); diff != "" {
		t.Errorf("a short prompt is featurised differently:\n%s", diff)
	}
	cfg.MaxBytes = 8
	if _, err := NewFeaturiser(cfg); err == nil {
		t.Error("MaxBytes 8 accepted")
	}
}
