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
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return heapAllocs{}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return heapAllocs{}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return heapAllocs{}
	}
	return parseAllocs(bufio.NewScanner(resp.Body))
}

// parseAllocs finds the two counters in a Prometheus text exposition.
func parseAllocs(sc *bufio.Scanner) heapAllocs {
	var h heapAllocs
	seen := 0
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		var dst *uint64
		switch name {
		case "go_heap_allocs_objects_total":
			dst = &h.objects
		case "go_heap_allocs_bytes_total":
			dst = &h.bytes
		default:
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(value), 10, 64)
		if err != nil {
			return heapAllocs{}
		}
		*dst = n
		seen++
	}
	if seen != 2 || sc.Err() != nil {
		return heapAllocs{}
	}
	h.ok = true
	return h
}
