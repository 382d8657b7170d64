package telemetry

import (
	"bytes"
	"os"
	"runtime/metrics"
	"strconv"
	"sync"
)

// runtimeSamples are the Go runtime's figures an operator sizing a gateway
// watches: goroutines (one per connection), the heap (what it holds, what
// it keeps free, what it gave back), goroutine stacks (a streaming request
// holds one for its whole life), GC cycles, and the
// allocations that drive them (over a request count: allocations per
// request, which the benchmark harness reports).
var runtimeSamples = []struct {
	name, typ, help, metric string
}{
	{"go_goroutines", "gauge", "Goroutines that currently exist.", "/sched/goroutines:goroutines"},
	{"go_heap_objects_bytes", "gauge", "Bytes of heap memory occupied by live objects and dead ones not yet freed.", "/memory/classes/heap/objects:bytes"},
	{"go_stacks_bytes", "gauge", "Bytes of memory used for goroutine stacks.", "/memory/classes/heap/stacks:bytes"},
	{"go_memory_total_bytes", "gauge", "All memory the Go runtime has mapped (an upper bound on its share of RSS).", "/memory/classes/total:bytes"},
	{"go_heap_free_bytes", "gauge", "Bytes of heap memory free and kept from the operating system.", "/memory/classes/heap/free:bytes"},
	{"go_heap_unused_bytes", "gauge", "Bytes of heap memory reserved for objects but unused (fragmentation within spans).", "/memory/classes/heap/unused:bytes"},
	{"go_heap_released_bytes", "gauge", "Bytes of heap memory free and returned to the operating system (mapped but not resident).", "/memory/classes/heap/released:bytes"},
	{"go_gc_cycles_total", "counter", "Completed GC cycles.", "/gc/cycles/total:gc-cycles"},
	{"go_heap_allocs_objects_total", "counter", "Heap objects allocated since the process started.", "/gc/heap/allocs:objects"},
	{"go_heap_allocs_bytes_total", "counter", "Bytes of heap objects allocated since the process started.", "/gc/heap/allocs:bytes"},
}

// RegisterRuntime adds the Go runtime's gauges to m's exposition.
func (m *Metrics) RegisterRuntime() {
	var mu sync.Mutex // metrics.Read needs its own slice per concurrent call
	samples := make([]metrics.Sample, len(runtimeSamples))
	for i, s := range runtimeSamples {
		samples[i].Name = s.metric
	}
	m.Register(func() []Value {
		mu.Lock()
		defer mu.Unlock()
		metrics.Read(samples)
		out := make([]Value, 0, len(samples))
		for i, s := range samples {
			if s.Value.Kind() != metrics.KindUint64 {
				continue // not on this Go version
			}
			r := runtimeSamples[i]
			out = append(out, Value{Name: r.name, Type: r.typ, Help: r.help, Value: int64(s.Value.Uint64())})
		}
		// Read right after the runtime's figures, so that the two describe
		// the same moment (the benchmark harness splits RSS with them).
		return append(out, residentMemory()...)
	})
}

// residentFields are the process's resident memory by kind, from
// /proc/self/status (Linux; elsewhere there is none).
var residentFields = []struct{ field, name, help string }{
	{"VmRSS", "process_resident_memory_bytes", "Resident memory size in bytes."},
	{"RssAnon", "process_resident_anon_bytes", "Resident anonymous memory in bytes: heaps and stacks, Go's and SQLite's."},
	{"RssFile", "process_resident_file_bytes", "Resident file-backed memory in bytes: the binary's code and mapped files."},
	{"RssShmem", "process_resident_shmem_bytes", "Resident shared memory in bytes (SQLite's WAL index)."},
}

func residentMemory() []Value {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil
	}
	out := make([]Value, 0, len(residentFields))
	for _, f := range residentFields {
		if v, ok := statusKB(b, f.field); ok {
			out = append(out, Value{Name: f.name, Type: "gauge", Help: f.help, Value: v << 10})
		}
	}
	return out
}

// statusKB finds "<field>:  <n> kB" in a /proc status file.
func statusKB(b []byte, field string) (int64, bool) {
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok || string(name) != field {
			continue
		}
		f := bytes.Fields(value)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, false
		}
		n, err := strconv.ParseInt(string(f[0]), 10, 64)
		return n, err == nil
	}
	return 0, false
}
