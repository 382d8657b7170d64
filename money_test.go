package octomesh_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/octomesh/octomesh"
)

func TestParseMoney(t *testing.T) {
	tests := []struct {
		in   string
		want octomesh.Money
	}{
		{"0.15", 150_000_000},
		{"12", 12 * octomesh.Dollar},
		{"$2.50", 2_500_000_000},
		{"0.000000001", 1},
		{".5", 500_000_000},
		{"-1.25", -1_250_000_000},
		{"0.0375", 37_500_000},
	}
	for _, tt := range tests {
		got, err := octomesh.ParseMoney(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "abc", "1.0000000001", "1e3", "1.2.3", "--1", "99999999999999"} {
		if _, err := octomesh.ParseMoney(bad); err == nil {
			t.Errorf("ParseMoney(%q): want error", bad)
		}
	}
}

func TestMoneyString(t *testing.T) {
	for m, want := range map[octomesh.Money]string{
		0:                    "0.00",
		150_000_000:          "0.15",
		12 * octomesh.Dollar: "12.00",
		150:                  "0.00000015",
		-1_250_000_000:       "-1.25",
	} {
		if got := m.String(); got != want {
			t.Errorf("Money(%d).String() = %q, want %q", int64(m), got, want)
		}
	}
}

func TestPriceCost(t *testing.T) {
	p := octomesh.Price{InputPerMTok: 150_000_000, OutputPerMTok: 600_000_000, CachedInputPerMTok: 75_000_000}
	// 1000 prompt (200 cached) + 500 output:
	// 800*0.15/1M + 200*0.075/1M + 500*0.60/1M = 0.00012 + 0.000015 + 0.0003 = 0.000435 USD
	u := octomesh.Usage{PromptTokens: 1000, CompletionTokens: 500, PromptTokensDetails: &octomesh.PromptTokensDetails{CachedTokens: 200}}
	if got, want := p.Cost(u), octomesh.Money(435_000); got != want {
		t.Errorf("Cost = %d, want %d", got, want)
	}
	// One token of a $0.0375/M price is 37.5 nano-dollars: rounded half up once.
	cheap := octomesh.Price{InputPerMTok: 37_500_000}
	if got := cheap.Cost(octomesh.Usage{PromptTokens: 1}); got != 38 {
		t.Errorf("one cheap token = %d, want 38", got)
	}
	if got := cheap.Cost(octomesh.Usage{PromptTokens: 2}); got != 75 {
		t.Errorf("two cheap tokens = %d, want 75 (exact)", got)
	}
	withFee := octomesh.Price{PerRequest: 1000}
	if got := withFee.Cost(octomesh.Usage{}); got != 1000 {
		t.Errorf("per-request fee = %d, want 1000", got)
	}
}

func TestPriceCostCountsCacheWritesOnce(t *testing.T) {
	// Anthropic: 10 uncached input + 4 cache reads + 2 cache writes = 16 prompt tokens.
	p := octomesh.Price{InputPerMTok: octomesh.Dollar, OutputPerMTok: 5 * octomesh.Dollar, CachedInputPerMTok: octomesh.Dollar / 10}
	u := octomesh.Usage{PromptTokens: 16, CompletionTokens: 9, CacheWriteTokens: 2, PromptTokensDetails: &octomesh.PromptTokensDetails{CachedTokens: 4}}
	// 12 × $1/M + 4 × $0.10/M + 9 × $5/M = 12 + 0.4 + 45 = 57.4 µ$ = 57,400 n$
	if got, want := p.Cost(u), octomesh.Money(57_400); got != want {
		t.Errorf("Cost = %d, want %d", got, want)
	}
}

// TestMoneyStringMatchesReference compares the hand formatting with the
// fmt-based one it replaced, over random and edge amounts.
func TestMoneyStringMatchesReference(t *testing.T) {
	ref := func(m octomesh.Money) string {
		sign, v := "", int64(m)
		if v < 0 {
			sign, v = "-", -v
		}
		s := fmt.Sprintf("%s%d.%09d", sign, v/int64(octomesh.Dollar), v%int64(octomesh.Dollar))
		for strings.HasSuffix(s, "0") && len(s)-strings.IndexByte(s, '.') > 3 {
			s = s[:len(s)-1]
		}
		return s
	}
	rng := rand.New(rand.NewPCG(1, 2))
	vals := []octomesh.Money{0, 1, -1, 9, 10, 100, 1e7, 1e9, -1e9, 123456789, math.MaxInt64, math.MinInt64 + 1}
	for range 100000 {
		vals = append(vals, octomesh.Money(rng.Int64()>>rng.UintN(63)), -octomesh.Money(rng.Int64()>>rng.UintN(63)))
	}
	for _, m := range vals {
		if got, want := m.String(), ref(m); got != want {
			t.Fatalf("Money(%d).String() = %q, want %q", int64(m), got, want)
		}
	}
	if got := octomesh.Money(math.MinInt64).String(); got != "-9223372036.854775808" {
		t.Errorf("the most negative amount = %q", got)
	}
}
