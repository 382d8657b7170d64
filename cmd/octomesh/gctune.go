package main

import (
	"log/slog"

	"github.com/octomesh/octomesh/internal/config"
	"github.com/octomesh/octomesh/internal/gctune"
)

// startGCTuner bounds the GC's headroom (server.gc_headroom) unless the
// environment already tunes the collector: GOGC and GOMEMLIMIT win, as the
// Go runtime's own documentation tells operators to expect.
func startGCTuner(headroom config.ByteSize, getenv func(string) string, log *slog.Logger) (stop func()) {
	if headroom <= 0 {
		return func() {}
	}
	for _, v := range []string{"GOGC", "GOMEMLIMIT"} {
		if getenv(v) != "" {
			log.Info("gc headroom not bounded: the environment sets "+v, "server.gc_headroom", int64(headroom))
			return func() {}
		}
	}
	return gctune.Start(gctune.Options{Headroom: int64(headroom)})
}
