package billing

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/octomesh/octomesh"
)

// The invoice rounding rule. The ledger holds exact nano-dollars; an
// invoice shows whole cents. OctoMesh rounds exactly three times, always
// half away from zero (half up for the positive amounts of ordinary usage):
//
//  1. each line item's exact amount is rounded to whole cents;
//  2. the subtotal is the sum of the rounded lines (so the lines add up to
//     it on paper), and the tax is subtotal × rate, rounded to whole cents;
//  3. the total is subtotal + tax, with no further rounding.
//
// Nothing in between is a float: the tax rate is an exact decimal fraction
// and the product is computed with big integers.

// nanoPerCent is how many nano-dollars make one cent.
const nanoPerCent = int64(octomesh.Dollar) / 100

// Cents is a whole number of US cents: an amount as an invoice shows it.
// It marshals to JSON as a decimal dollar string with two decimals, "12.50".
type Cents int64

// RoundCents rounds an exact amount to whole cents, half away from zero:
// 0.005 → 0.01, 0.004999999 → 0.00, -0.005 → -0.01.
func RoundCents(m octomesh.Money) Cents {
	v := int64(m)
	q, r := v/nanoPerCent, v%nanoPerCent
	if r >= nanoPerCent/2 {
		q++
	} else if r <= -nanoPerCent/2 {
		q--
	}
	return Cents(q)
}

// Money converts c back to nano-dollars.
func (c Cents) Money() octomesh.Money { return octomesh.Money(int64(c) * nanoPerCent) }

// String formats c as dollars with two decimals: "12.50", "-0.07".
func (c Cents) String() string {
	v, sign := int64(c), ""
	if v < 0 {
		v, sign = -v, "-"
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// MarshalJSON writes c as a decimal string, "12.50".
func (c Cents) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(c.String())), nil }

// Exact is an exact amount in nano-dollars, shown in full: it marshals to
// JSON as a decimal dollar string with up to nine decimals, "0.000123".
type Exact octomesh.Money

// String formats e as octomesh.Money does.
func (e Exact) String() string { return octomesh.Money(e).String() }

// MarshalJSON writes e as a decimal string.
func (e Exact) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(e.String())), nil }

// rateScale is the denominator of a TaxRate: rates have up to nine decimals.
const rateScale = 1_000_000_000

// TaxRate is a tax rate as an exact decimal fraction: "0.20" is 20 %. It
// holds billionths, so any rate written with up to nine decimals is exact.
type TaxRate int64

// ParseTaxRate parses a decimal fraction from "0" to "1" with at most nine
// decimals ("0.20", "0.0825", "0"). Percent signs, exponents and signs are
// refused, so "20%" or "2e-1" cannot be misread. It returns EINVALID.
func ParseTaxRate(s string) (TaxRate, error) {
	bad := octomesh.Errorf(octomesh.EINVALID, "tax rate %q must be a decimal fraction from 0 to 1 with at most 9 decimals, e.g. \"0.20\" for 20%%", clipText(s, 32)).WithParam("tax_rate")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(whole) > 1 || len(frac) > 9 || !isDigits(whole) || !isDigits(frac) || strings.Count(s, ".") > 1 || strings.HasSuffix(s, ".") {
		return 0, bad
	}
	frac += strings.Repeat("0", 9-len(frac))
	f, _ := strconv.ParseInt(frac, 10, 64)
	r := TaxRate(int64(whole[0]-'0')*rateScale + f)
	if r > rateScale {
		return 0, bad
	}
	return r, nil
}

// String formats the rate as a decimal fraction with at least two
// decimals: "0.20", "0.0825", "1.00".
func (r TaxRate) String() string {
	s := fmt.Sprintf("%d.%09d", int64(r)/rateScale, int64(r)%rateScale)
	for strings.HasSuffix(s, "0") && len(s)-strings.IndexByte(s, '.') > 3 {
		s = s[:len(s)-1]
	}
	return s
}

// Percent formats the rate as a percentage for people: "20%", "8.25%".
func (r TaxRate) Percent() string {
	v := int64(r) * 100 // still billionths
	s := fmt.Sprintf("%d.%09d", v/rateScale, v%rateScale)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + "%"
}

// MarshalJSON writes the rate as a decimal string, "0.20".
func (r TaxRate) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(r.String())), nil }

// Tax returns subtotal × r rounded to whole cents, half away from zero.
func (r TaxRate) Tax(subtotal Cents) Cents {
	p := new(big.Int).Mul(big.NewInt(int64(subtotal)), big.NewInt(int64(r)))
	q, m := new(big.Int).QuoRem(p, big.NewInt(rateScale), new(big.Int))
	twice := new(big.Int).Abs(m)
	twice.Lsh(twice, 1)
	if twice.Cmp(big.NewInt(rateScale)) >= 0 {
		if p.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return Cents(q.Int64()) // |rate| ≤ 1, so |tax| ≤ |subtotal| fits
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// clipText bounds a value echoed in an error message.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
