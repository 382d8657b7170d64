package main

import (
	"strings"
	"testing"
)

// A graceful shutdown ends the log with "stopped", after everything else
// the shutdown logs: a log without it ended in a crash or a kill.
func TestServeLogsStoppedLast(t *testing.T) {
	ts := startServer(t, serverOptions{})
	ts.stop()
	lines := strings.Split(strings.TrimSpace(string(ts.Stderr.Bytes())), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, "msg=stopped") {
		t.Fatalf("the log's last line is %q; want msg=stopped\nlog:\n%s", last, ts.Stderr.Bytes())
	}
	if !strings.Contains(string(ts.Stderr.Bytes()), "msg=\"shutting down\"") {
		t.Errorf("no shutting down line before it:\n%s", ts.Stderr.Bytes())
	}
}
