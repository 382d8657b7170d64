package telemetry

import (
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Fold levels for a new label set, by how full its family is.
const (
	foldNone  = iota // below the limit: keep the labels
	foldModel        // at the limit: model="other"
	foldAll          // at twice the limit: every free-form label "other"
)

// seriesMap maps label sets to series. Reads are lock-free: the map is never
// modified once published; a new series is added by copying the map under mu
// and publishing the copy. Series are never removed.
type seriesMap[K comparable, V any] struct {
	mu sync.Mutex
	m  atomic.Pointer[map[K]V]
}

func (s *seriesMap[K, V]) init() {
	m := make(map[K]V)
	s.m.Store(&m)
}

// get returns the series of k, if it exists. It neither locks nor allocates.
func (s *seriesMap[K, V]) get(k K) (V, bool) {
	v, ok := (*s.m.Load())[k]
	return v, ok
}

// snapshot returns the current map, which must not be modified.
func (s *seriesMap[K, V]) snapshot() map[K]V { return *s.m.Load() }

// create returns the series of k, creating it with newV. Before creating, it
// passes k through fold with the level the family's size calls for (fold
// also sanitises label values), and returns the folded key's series if that
// exists. newV runs under the map's lock.
func (s *seriesMap[K, V]) create(k K, limit int, fold func(K, int) K, newV func(K) V) V {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := *s.m.Load()
	if v, ok := cur[k]; ok {
		return v // created by a concurrent caller
	}
	level := foldNone
	switch {
	case len(cur) >= 2*limit:
		level = foldAll
	case len(cur) >= limit:
		level = foldModel
	}
	k = fold(k, level)
	if v, ok := cur[k]; ok {
		return v
	}
	v := newV(k)
	next := make(map[K]V, len(cur)+1)
	for kk, vv := range cur {
		next[kk] = vv
	}
	next[k] = v
	s.m.Store(&next)
	return v
}

// maxLabelLen bounds a label value; longer ones become "other".
const maxLabelLen = 256

// labelValue returns v as a label value to store: a private copy (so a key
// never pins a caller's larger buffer), or "other" for a value too long or
// not valid UTF-8, as the exposition format requires.
func labelValue(v string) string {
	if len(v) > maxLabelLen || !utf8.ValidString(v) {
		return other
	}
	return strings.Clone(v)
}
