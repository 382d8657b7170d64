package main

import (
	"bytes"
	"log/slog"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/octomesh/octomesh/internal/config"
)

func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// An operator's GOGC or GOMEMLIMIT wins over server.gc_headroom, and the
// log says why the headroom is not bounded.
func TestGCTunerStandsAsideForTheEnvironment(t *testing.T) {
	if config.Default().Server.GCHeadroom <= 0 {
		t.Fatal("the default configuration does not bound the GC headroom")
	}
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		getenv := func(k string) string {
			if k == env {
				return "50"
			}
			return ""
		}
		before := gcPercent()
		stop := startGCTuner(16*config.MiB, getenv, log)
		if p := gcPercent(); p != before {
			t.Errorf("%s set: the tuner changed GOGC from %d to %d", env, before, p)
		}
		stop()
		if !strings.Contains(logs.String(), "the environment sets "+env) {
			t.Errorf("%s set: log %q does not say why", env, logs.String())
		}
	}
}
