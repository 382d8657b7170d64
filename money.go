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
	// Hand-formatted: it runs for every answer's cost header and ledger
	// line, and fmt.Sprintf allocated twice per call.
	var b [32]byte
	out := b[:0]
	v := uint64(m) // the magnitude, exact even for the most negative value
	if m < 0 {
		out = append(out, '-')
		v = -v
	}
	out = strconv.AppendUint(out, v/uint64(Dollar), 10)
	out = append(out, '.')
	frac := v % uint64(Dollar)
	var digits [9]byte
	for i := 8; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := 9
	for n > 2 && digits[n-1] == '0' {
		n-- // trailing zeros go, down to cents
	}
	out = append(out, digits[:n]...)
	return string(out)
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
