package harness

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestProfiledRun: with ProfileDir set, OctoMesh runs with --pprof and the
// harness saves its CPU, allocation and heap profiles of the scenario.
func TestProfiledRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs octomesh; skipped with -short")
	}
	bin := buildOctomesh(t)
	dir := t.TempDir()
	var log bytes.Buffer
	rep, err := Run(context.Background(), Options{
		Binary: bin, Duration: time.Second, Warmup: 100 * time.Millisecond,
		Targets: []string{TargetOctoMesh}, Scenarios: []string{"nonstream"},
		Mode: "smoke", Command: "go test", Log: &log, WorkDir: t.TempDir(), ProfileDir: dir,
	})
	t.Logf("harness output:\n%s", log.String())
	if err != nil {
		t.Fatal(err)
	}
	tr := rep.Scenarios[0].Targets[0]
	if tr.Err != "" || tr.Requests == 0 {
		t.Fatalf("octomesh: %+v", tr)
	}
	if len(tr.Notes) == 0 {
		t.Errorf("a profiled result carries no note saying so")
	}
	for _, kind := range []string{"cpu", "allocs", "heap"} {
		b, err := os.ReadFile(filepath.Join(dir, "nonstream."+kind+".pprof"))
		if err != nil {
			t.Errorf("%s profile: %v (notes %v)", kind, err, tr.Notes)
			continue
		}
		if len(b) < 100 || b[0] != 0x1f || b[1] != 0x8b { // pprof profiles are gzipped protobufs
			t.Errorf("%s profile is not a pprof profile (%d bytes)", kind, len(b))
		}
	}
}
