package octomesh

import (
	"fmt"
	"strconv"
	"strings"
)

// Money is an amount of US dollars as an integer count of nano-dollars
// (1e-9 USD). Prices are held per million tokens, so a price quoted with up
// to 15 decimal places of a dollar per token is exact. Never use floats for money.
type Money int64

// Money units.
const (
	NanoDollar Money = 1
	Dollar     Money = 1_000_000_000
)

// ParseMoney parses a decimal dollar amount such as "0.15" or "12" exactly.
// It returns an error for more than nine decimal places, signs other than a
// leading '-', exponents, or overflow.
func ParseMoney(s string) (Money, error) {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "$"))
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || len(frac) > 9 || !digits(whole) || !digits(frac) {
		return 0, fmt.Errorf("invalid money amount %q: want a decimal like 0.15 with at most 9 decimals", s)
	}
	if whole == "" {
		whole = "0"
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > int64(^uint64(0)>>1)/int64(Dollar)-1 {
		return 0, fmt.Errorf("invalid money amount %q: too large", s)
	}
	frac += strings.Repeat("0", 9-len(frac))
	f, _ := strconv.ParseInt(frac, 10, 64)
	m := Money(w)*Dollar + Money(f)
	if neg {
		m = -m
	}
	return m, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String formats m as dollars with nine decimals, trailing zeros trimmed to
// at least two: "0.15", "12.00", "0.000000150".
func (m Money) String() string {
	sign := ""
	v := int64(m)
	if v < 0 {
		sign = "-"
		v = -v
	}
	s := fmt.Sprintf("%s%d.%09d", sign, v/int64(Dollar), v%int64(Dollar))
	for strings.HasSuffix(s, "0") && len(s)-strings.IndexByte(s, '.') > 3 {
		s = s[:len(s)-1]
	}
	return s
}

// Price is a deployment's price list. Token prices are per million tokens.
type Price struct {
	InputPerMTok       Money `json:"input_per_mtok"`
	OutputPerMTok      Money `json:"output_per_mtok"`
	CachedInputPerMTok Money `json:"cached_input_per_mtok"`
	PerRequest         Money `json:"per_request"`
}

// Cost returns the cost of the usage u at price p, rounded half up to a whole
// nano-dollar once for the request (not per token kind). Cached prompt tokens
// are charged at the cached rate when one is set, else at the input rate.
// Cache-write tokens (Anthropic) are part of PromptTokens and so charged at
// the input rate, once; a cache-write surcharge would need its own price.
func (p Price) Cost(u Usage) Money {
	cached := int64(u.CachedTokens())
	uncached := int64(u.PromptTokens) - cached
	cachedRate := p.CachedInputPerMTok
	if cachedRate == 0 {
		cachedRate = p.InputPerMTok
	}
	// Sum in nano-dollars × 1e6 (i.e. per-token exact), then round once.
	micro := uncached*int64(p.InputPerMTok) +
		cached*int64(cachedRate) +
		int64(u.CompletionTokens)*int64(p.OutputPerMTok)
	return Money((micro+500_000)/1_000_000) + p.PerRequest
}
