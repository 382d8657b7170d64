package billing

import (
	"strings"
	"testing"

	"github.com/octomesh/octomesh"
)

func TestRoundCents(t *testing.T) {
	for _, tt := range []struct {
		in   octomesh.Money
		want Cents
	}{
		{0, 0},
		{5_000_000, 1},         // 0.005 → 0.01: half rounds up
		{4_999_999, 0},         // 0.004999999 → 0.00
		{1_234_999_999, 123},   // 1.234999999 → 1.23
		{1_235_000_000, 124},   // 1.235 → 1.24
		{9_995_000_000, 1000},  // 9.995 → 10.00
		{1, 0},                 // one nano-dollar
		{-5_000_000, -1},       // -0.005 → -0.01: half away from zero
		{-4_999_999, 0},        // -0.004999999 → 0.00
		{-1_234_999_999, -123}, // symmetric
		{12 * octomesh.Dollar, 1200},
	} {
		if got := RoundCents(tt.in); got != tt.want {
			t.Errorf("RoundCents(%s) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestCentsString(t *testing.T) {
	for c, want := range map[Cents]string{0: "0.00", 1: "0.01", 1250: "12.50", -7: "-0.07", -1234: "-12.34", 100000000: "1000000.00"} {
		if got := c.String(); got != want {
			t.Errorf("Cents(%d).String() = %q, want %q", c, got, want)
		}
		if b, _ := c.MarshalJSON(); string(b) != `"`+want+`"` {
			t.Errorf("Cents(%d) JSON = %s", c, b)
		}
	}
	if got := Cents(1250).Money(); got != 12_500_000_000 {
		t.Errorf("Cents(1250).Money() = %d", got)
	}
}

func TestParseTaxRate(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    TaxRate
		str     string
		percent string
	}{
		{"0", 0, "0.00", "0%"},
		{"0.20", 200_000_000, "0.20", "20%"},
		{"0.2", 200_000_000, "0.20", "20%"},
		{"0.0825", 82_500_000, "0.0825", "8.25%"},
		{"0.000000001", 1, "0.000000001", "0.0000001%"},
		{"1", rateScale, "1.00", "100%"},
		{"1.000", rateScale, "1.00", "100%"},
	} {
		got, err := ParseTaxRate(tt.in)
		if err != nil || got != tt.want || got.String() != tt.str || got.Percent() != tt.percent {
			t.Errorf("ParseTaxRate(%q) = %d (%s, %s), %v; want %d (%s, %s)", tt.in, got, got.String(), got.Percent(), err, tt.want, tt.str, tt.percent)
		}
	}
	for _, bad := range []string{"", ".", "0.", ".2", "20%", "2e-1", "-0.1", "+0.1", "1.1", "2", "10", "0.0000000001", "0,2", " 0.2", "0.2.1", "00.2", "0x1"} {
		if _, err := ParseTaxRate(bad); octomesh.ErrorCodeOf(err) != octomesh.EINVALID {
			t.Errorf("ParseTaxRate(%q): err = %v, want EINVALID", bad, err)
		}
	}
}

func TestTax(t *testing.T) {
	rate := func(s string) TaxRate {
		r, err := ParseTaxRate(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, tt := range []struct {
		rate     string
		subtotal Cents
		want     Cents
	}{
		{"0.20", 3, 1},       // 0.006 → 0.01
		{"0.20", 2, 0},       // 0.004 → 0.00
		{"0.20", 274, 55},    // 0.548 → 0.55
		{"0.0825", 1000, 83}, // 0.825 → 0.83: exactly half rounds up
		{"0.075", 10, 1},     // 0.0075 → 0.01
		{"0.5", 1, 1},        // 0.005 → 0.01
		{"0.5", -1, -1},      // -0.005 → -0.01: half away from zero
		{"0.0825", -1000, -83},
		{"0", 123456, 0},
		{"1", 123456, 123456},
		{"0.000000001", 499_999_999, 0}, // 0.4999… cent
		{"0.000000001", 500_000_000, 1}, // half a cent
		{"0.25", 92_233_720_368_547, 23_058_430_092_137}, // near Money's range: no overflow (…136.75 rounds up)
	} {
		if got := rate(tt.rate).Tax(tt.subtotal); got != tt.want {
			t.Errorf("Tax(%s × %s) = %s, want %s", tt.subtotal, tt.rate, got, tt.want)
		}
	}
}

func TestParseMonth(t *testing.T) {
	m, err := ParseMonth("2026-03")
	if err != nil || m.String() != "2026-03" || m.Start().Format("2006-01-02T15:04:05Z07:00") != "2026-03-01T00:00:00Z" ||
		m.End().Format("2006-01-02") != "2026-04-01" {
		t.Errorf("ParseMonth(2026-03) = %v %v %v, %v", m, m.Start(), m.End(), err)
	}
	if m, _ := ParseMonth("2026-12"); m.End().Format("2006-01-02") != "2027-01-01" {
		t.Errorf("December ends %v", m.End())
	}
	for _, bad := range []string{"", "2026-3", "2026-13", "26-03", "2026-03-01", "1999-12", "2026/03", "２０２６-03"} {
		if _, err := ParseMonth(bad); octomesh.ErrorCodeOf(err) != octomesh.EINVALID {
			t.Errorf("ParseMonth(%q): err = %v, want EINVALID", bad, err)
		}
	}
}

// FuzzParseTaxRate: never a panic; every accepted rate is between 0 and 1
// and survives a round trip through its string form.
func FuzzParseTaxRate(f *testing.F) {
	for _, s := range []string{"0", "0.20", "1", "1.1", "0.123456789", "0.1234567890", "9", ".5", "0.", "-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseTaxRate(s)
		if err != nil {
			if octomesh.ErrorCodeOf(err) != octomesh.EINVALID {
				t.Fatalf("code %v", err)
			}
			return
		}
		if r < 0 || r > rateScale {
			t.Fatalf("ParseTaxRate(%q) = %d out of range", s, r)
		}
		if back, err := ParseTaxRate(r.String()); err != nil || back != r {
			t.Fatalf("round trip of %q: %q → %d, %v", s, r.String(), back, err)
		}
	})
}

func TestParseMonthMessages(t *testing.T) {
	for s, want := range map[string]string{
		"1999-01": "the month must be 2000-01 or later",
		"2026-13": "the month must be written YYYY-MM",
		"2026-3":  "the month must be written YYYY-MM",
	} {
		if _, err := ParseMonth(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseMonth(%q) = %v, want %q", s, err, want)
		}
	}
}
