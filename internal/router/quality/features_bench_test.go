package quality

import (
	"strings"
	"testing"
)

func benchPrompt() string {
	base := "Which of the following statements best explains why magnets usually stick to a refrigerator door?\nA) The refrigerator door is smooth.\nB) The refrigerator door contains iron.\nC) The refrigerator door is a good conductor.\nD) The refrigerator door has electric wires in it.\nAnswer: B\n\n"
	var b strings.Builder
	for b.Len() < 2048 {
		b.WriteString(base)
	}
	return b.String()[:2048]
}

func BenchmarkFeatures2KB(b *testing.B) {
	f, err := NewFeaturiser(DefaultFeatureConfig())
	if err != nil {
		b.Fatal(err)
	}
	p := benchPrompt()
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(f.Features(p).Idx)
	}
	b.ReportMetric(float64(n), "nnz")
}

func BenchmarkFeaturesBits(b *testing.B) {
	for _, bits := range []int{12, 14, 16, 18} {
		b.Run(strings.Repeat("x", 0)+string(rune('a'+bits-12)), func(b *testing.B) {
			cfg := DefaultFeatureConfig()
			cfg.Bits = bits
			f, _ := NewFeaturiser(cfg)
			p := benchPrompt()
			for b.Loop() {
				f.Features(p)
			}
		})
	}
}

func BenchmarkFeaturesBlocks(b *testing.B) {
	p := benchPrompt()
	for _, tc := range []struct {
		name string
		mod  func(*FeatureConfig)
	}{
		{"words", func(c *FeatureConfig) { c.WChars, c.WTail, c.WShape = 0, 0, 0 }},
		{"unigrams", func(c *FeatureConfig) { c.WChars, c.WTail, c.WShape, c.Bigrams = 0, 0, 0, false }},
		{"chars3-5", func(c *FeatureConfig) { c.WWords, c.WTail, c.WShape = 0, 0, 0 }},
		{"chars4", func(c *FeatureConfig) { c.WWords, c.WTail, c.WShape = 0, 0, 0; c.CharMin, c.CharMax = 4, 4 }},
		{"shape", func(c *FeatureConfig) { c.WWords, c.WTail, c.WChars = 0, 0, 0 }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := DefaultFeatureConfig()
			tc.mod(&cfg)
			f, _ := NewFeaturiser(cfg)
			for b.Loop() {
				f.Features(p)
			}
		})
	}
}

func BenchmarkScan2KB(b *testing.B) {
	p := benchPrompt()
	var toks []uint64
	var pos []int32
	var sh [NumShape]float32
	for b.Loop() {
		toks, pos = toks[:0], pos[:0]
		scan(p, &toks, &pos, &sh)
	}
}
