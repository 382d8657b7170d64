package harness

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// profiler collects OctoMesh's own profiles during one measurement, from
// the loopback pprof listener `octomesh serve --pprof` opens: a CPU profile
// of the measurement window, then the allocation and heap profiles.
type profiler struct {
	addr string // the pprof listener
	dir  string // where the profiles are written
	name string // file name prefix: the scenario
}

// cpu records a CPU profile of dur after sleeping through warmup, in the
// background; wait returns what went wrong, if anything.
func (p *profiler) cpu(ctx context.Context, warmup, dur time.Duration) (wait func() error) {
	errc := make(chan error, 1)
	go func() {
		select {
		case <-time.After(warmup):
		case <-ctx.Done():
			errc <- ctx.Err()
			return
		}
		secs := max(1, int(dur.Round(time.Second)/time.Second))
		errc <- p.fetch(ctx, fmt.Sprintf("profile?seconds=%d", secs), "cpu", time.Duration(secs)*time.Second+30*time.Second)
	}()
	return func() error { return <-errc }
}

// memory records the allocation profile (everything allocated since the
// process started, warm-up included) and the live heap.
func (p *profiler) memory(ctx context.Context) error {
	if err := p.fetch(ctx, "allocs", "allocs", 30*time.Second); err != nil {
		return err
	}
	return p.fetch(ctx, "heap", "heap", 30*time.Second)
}

// fetch writes /debug/pprof/<path> to <dir>/<name>.<kind>.pprof.
func (p *profiler) fetch(ctx context.Context, path, kind string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.addr+"/debug/pprof/"+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s profile: %w", kind, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s profile: status %d", kind, resp.StatusCode)
	}
	f, err := os.Create(filepath.Join(p.dir, p.name+"."+kind+".pprof"))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("%s profile: %w", kind, err)
	}
	return f.Close()
}
