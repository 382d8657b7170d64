package gateway

import "strings"

// Symbol table limits: the table lives as long as the store and is never
// pruned, so it is bounded; strings it cannot take are stored inline.
const (
	maxSymbols   = 4096
	maxSymbolLen = 128
)

// symbols interns the short strings that repeat across decisions
// (deployment and provider names, constraints, outcomes, orgs, fixed
// reasons), so a record names each in a byte or two. It is not safe for
// concurrent use: the decision store guards it with its mutex.
type symbols struct {
	index map[string]uint32
	names []string
	// recent caches symbols by a fingerprint of a few of their bytes: a
	// decision names a dozen or more, mostly the same as the last
	// decision's, and comparing one string beats a map lookup (which
	// made up two thirds of encoding). It holds names of the table only,
	// so it keeps nothing alive the table does not.
	recent [256]struct {
		name string
		i    uint32
	}
}

// lookup returns v's symbol number, adding v if there is room.
func (s *symbols) lookup(v string) (uint32, bool) {
	if v == "" {
		return s.lookupSlow(v)
	}
	r := &s.recent[fingerprint(v)]
	if r.name == v {
		return r.i, true
	}
	i, ok := s.lookupSlow(v)
	if ok {
		r.name, r.i = s.names[i], i
	}
	return i, ok
}

func (s *symbols) lookupSlow(v string) (uint32, bool) {
	if i, ok := s.index[v]; ok {
		return i, true
	}
	if len(s.names) >= maxSymbols || len(v) > maxSymbolLen {
		return 0, false
	}
	if s.index == nil {
		s.index = make(map[string]uint32)
	}
	v = strings.Clone(v) // do not retain a larger string v may be part of
	i := uint32(len(s.names))
	s.names = append(s.names, v)
	s.index[v] = i
	return i, true
}

// fingerprint picks v's entry in symbols.recent from its length and its
// first, middle and last bytes (names differ in those: "openai/model-3",
// "google/model-5"). v must not be empty.
func fingerprint(v string) int {
	n := len(v)
	h := uint32(n) | uint32(v[0])<<8 | uint32(v[n/2])<<16 | uint32(v[n-1])<<24
	return int((h * 0x9e3779b1) >> 24)
}
