package telemetry

import (
	"strconv"
	"sync"
)

// Value is one sample of a metric another package keeps (the meter's and
// the ledger writer's counters), written after the built-in families.
type Value struct {
	Name  string // e.g. "octomesh_ratelimited_total"
	Type  string // "counter" or "gauge"
	Help  string
	Value int64
}

type extras struct {
	mu    sync.Mutex
	funcs []func() []Value
}

// Register adds a source of values read at every scrape. Names must be
// unique across sources; a source must be fast and safe for concurrent use.
func (m *Metrics) Register(f func() []Value) {
	m.extra.mu.Lock()
	m.extra.funcs = append(m.extra.funcs, f)
	m.extra.mu.Unlock()
}

func (m *Metrics) writeExtras(e *encoder) {
	m.extra.mu.Lock()
	funcs := append([]func() []Value(nil), m.extra.funcs...)
	m.extra.mu.Unlock()
	for _, f := range funcs {
		for _, v := range f() {
			e.header(v.Name, v.Type, v.Help)
			e.sample(v.Name, "", nil, "", strconv.FormatInt(v.Value, 10))
		}
	}
}
