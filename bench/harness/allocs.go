package harness

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// heapAllocs is OctoMesh's allocation counters at one moment.
type heapAllocs struct {
	objects, bytes uint64
	ok             bool
}

// scrapeAllocs reads go_heap_allocs_objects_total and
// go_heap_allocs_bytes_total from OctoMesh's /metrics at addr. The scrape
// itself allocates (a few hundred objects), which over a window of
// thousands of requests is noise. ok is false when either is missing.
func scrapeAllocs(ctx context.Context, addr string) heapAllocs {
	v, ok := scrapeValues(ctx, addr, allocNames)
	if !ok {
		return heapAllocs{}
	}
	return heapAllocs{objects: v[0], bytes: v[1], ok: true}
}

var allocNames = []string{"go_heap_allocs_objects_total", "go_heap_allocs_bytes_total"}

// parseAllocs finds the two counters in a Prometheus text exposition.
func parseAllocs(sc *bufio.Scanner) heapAllocs {
	v, ok := parseValues(sc, allocNames)
	if !ok {
		return heapAllocs{}
	}
	return heapAllocs{objects: v[0], bytes: v[1], ok: true}
}

// scrapeValues reads the unlabelled integer samples names from OctoMesh's
// /metrics at addr, in order; ok is false unless all are there.
func scrapeValues(ctx context.Context, addr string, names []string) (values []uint64, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, false
	}
	return parseValues(bufio.NewScanner(resp.Body), names)
}

// parseValues finds the samples names in a Prometheus text exposition.
func parseValues(sc *bufio.Scanner, names []string) (values []uint64, ok bool) {
	values = make([]uint64, len(names))
	seen := 0
	for sc.Scan() {
		name, value, found := strings.Cut(sc.Text(), " ")
		if !found {
			continue
		}
		i := indexOf(names, name)
		if i < 0 {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(value), 10, 64)
		if err != nil {
			return nil, false
		}
		values[i] = n
		seen++
	}
	if seen != len(names) || sc.Err() != nil {
		return nil, false
	}
	return values, true
}

func indexOf(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}
