package billing_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/octomesh/octomesh/internal/billing"
)

// TestPostpaidPageHasNoCreditSection: a postpaid organisation that never
// topped up is not shown a "Prepaid credits" section with a negative
// balance, which would read as a debt; a prepaid one is.
func TestPostpaidPageHasNoCreditSection(t *testing.T) {
	db := openDB(t)
	m, _ := billing.ParseMonth("2026-03")
	for _, tc := range []struct {
		org     string
		prepaid bool
		want    bool
	}{{"post", false, false}, {"pre", true, true}} {
		newOrg(t, db, tc.org, tc.org, tc.prepaid)
		newKey(t, db, tc.org, "key_"+tc.org, "k")
		appendEntries(t, db, usage(tc.org, "req-"+tc.org, 1, "sim/a", "key_"+tc.org, mar15, 1_000_000, 10, 0, 10))
		st, err := newService(db, apr02, "0").Statement(context.Background(), tc.org, m)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := st.WriteHTML(&buf); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(buf.String(), "Prepaid credits"); got != tc.want {
			t.Errorf("%s (prepaid %v): credit section shown = %v, want %v", tc.org, tc.prepaid, got, tc.want)
		}
	}
}
