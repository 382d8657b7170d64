package harness

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A --bin that does not exist, or is not executable, is refused before
// any work: it also serves the mock upstream, so before this every
// scenario failed silently and the run exited 0 with an empty report.
func TestRunRefusesAMissingBinary(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "octomesh")
	if err := os.WriteFile(notExec, []byte("not a program"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, bin := range []string{filepath.Join(dir, "missing"), notExec, dir} {
		rep, err := Run(context.Background(), Options{Binary: bin, Targets: []string{TargetOctoMesh}, Scenarios: []string{"nonstream"}})
		if err == nil || rep != nil {
			t.Errorf("Run with binary %s = %v, %v; want an error and no report", bin, rep, err)
		}
	}
}

// A scenario whose mock cannot start is reported on the log and makes Run
// return an error, with the report still returned for writing.
func TestRunReportsAFailedScenario(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "octomesh")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	rep, err := Run(context.Background(), Options{Binary: bin, Targets: []string{TargetOctoMesh},
		Scenarios: []string{"nonstream"}, Duration: time.Second, Log: &log})
	if err == nil || !strings.Contains(err.Error(), "scenario nonstream") {
		t.Fatalf("Run = %v; want the failed scenario named", err)
	}
	if rep == nil || len(rep.Scenarios) != 1 || rep.Scenarios[0].Err == "" {
		t.Fatalf("report = %+v; want the scenario with its error", rep)
	}
	if !strings.Contains(log.String(), "did not run") {
		t.Errorf("log does not say the scenario did not run:\n%s", log.String())
	}
}

func TestTailKeepsTheLastLines(t *testing.T) {
	long := strings.Repeat("bench router: auto: 3 decisions failed\n", 20) + "octomesh: routing: the final error"
	got := tail(long, 60)
	rest, cut := strings.CutPrefix(got, "…")
	wholeLine := strings.HasPrefix(rest, "bench router:") || strings.HasPrefix(rest, "octomesh:")
	if !cut || !wholeLine || !strings.HasSuffix(got, "octomesh: routing: the final error") || len(rest) > 60 {
		t.Errorf("tail = %q, want the last whole lines within 60 bytes after an ellipsis", got)
	}
	if got := tail("  short\n", 60); got != "short" {
		t.Errorf("tail of a short text = %q", got)
	}
}
