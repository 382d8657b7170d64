package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh/internal/config"
	"github.com/octomesh/octomesh/internal/logbuf"
)

// The batched logger writes the configured format at the configured level,
// for a request's line (logbuf.LogAttrs) as for any other.
func TestNewLoggerFormats(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var out bytes.Buffer
		w := logbuf.New(&out, time.Hour)
		log := newLogger(config.Log{Level: "info", Format: format}, w)
		log.Debug("hidden")
		logbuf.LogAttrs(context.Background(), log, slog.LevelDebug, "hidden too")
		log.Info("started", "listen", "127.0.0.1:0")
		logbuf.LogAttrs(context.Background(), log, slog.LevelWarn, "request", slog.String("route", "chat"), slog.Int("status", 502))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if len(lines) != 2 {
			t.Fatalf("%s: %d lines, want the info and warn ones:\n%s", format, len(lines), out.String())
		}
		if format == "text" {
			if !strings.Contains(lines[1], " level=WARN msg=request route=chat status=502") {
				t.Errorf("text: %q", lines[1])
			}
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[1]), &m); err != nil || m["msg"] != "request" || m["route"] != "chat" || m["status"] != 502.0 || m["level"] != "WARN" {
			t.Errorf("json: %q (%v)", lines[1], err)
		}
	}
}
