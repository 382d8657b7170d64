package httpapi

import (
	"strconv"
	"strings"
	"testing"
)

// newID builds the ids as the concatenations it replaced did.
func TestNewIDFormat(t *testing.T) {
	s := New(Options{})
	s.idSeq.Store(123455)
	if got, want := s.newID("", 0), s.idPrefix+strconv.FormatUint(123456, 36); got != want {
		t.Errorf("generated id %q, want %q", got, want)
	}
	for _, caller := range []string{"my-id.1", strings.Repeat("a", 128)} {
		seq := s.idSeq.Load() + 1
		suffix := "~" + s.idPrefix[4:] + strconv.FormatUint(seq, 36)
		want := caller[:min(len(caller), 128-len(suffix))] + suffix
		if got := s.newID(caller, 128); got != want || len(got) > 128 {
			t.Errorf("ledger id %q, want %q", got, want)
		}
	}
	if raceEnabled {
		return
	}
	if n := testing.AllocsPerRun(100, func() { s.newID("", 0); s.newID("caller-id", 128) }); n != 2 {
		t.Errorf("newID allocates %v times for two ids, want 2", n)
	}
}
