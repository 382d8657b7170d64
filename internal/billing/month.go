package billing

import (
	"time"

	"github.com/octomesh/octomesh"
)

// Month is a calendar month in UTC, the period of a statement.
type Month struct {
	Year  int
	Month time.Month
}

// ParseMonth parses "YYYY-MM" (years 2000 to 9999). It returns EINVALID.
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil || len(s) != 7 {
		return Month{}, octomesh.Errorf(octomesh.EINVALID, "the month must be written YYYY-MM, e.g. 2026-03").WithParam("month")
	}
	if t.Year() < 2000 {
		return Month{}, octomesh.Errorf(octomesh.EINVALID, "the month must be 2000-01 or later").WithParam("month")
	}
	return Month{t.Year(), t.Month()}, nil
}

// MonthOf returns the UTC month containing t.
func MonthOf(t time.Time) Month {
	t = t.UTC()
	return Month{t.Year(), t.Month()}
}

// String formats m as "YYYY-MM".
func (m Month) String() string { return m.Start().Format("2006-01") }

// Start is the first instant of the month, UTC.
func (m Month) Start() time.Time { return time.Date(m.Year, m.Month, 1, 0, 0, 0, 0, time.UTC) }

// End is the first instant of the next month: statements cover [Start, End).
func (m Month) End() time.Time { return m.Start().AddDate(0, 1, 0) }
