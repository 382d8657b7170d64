package logbuf

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// sink records each Write it receives.
type sink struct {
	mu     sync.Mutex
	writes []string
	err    error
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes = append(s.writes, string(p))
	return len(p), s.err
}

func (s *sink) snapshot() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.writes...)
}

func TestLinesArriveTogetherAfterTheInterval(t *testing.T) {
	var s sink
	w := New(&s, 50*time.Millisecond)
	for i := range 3 {
		fmt.Fprintf(w, "line %d\n", i)
	}
	if got := s.snapshot(); len(got) != 0 {
		t.Fatalf("written before the interval: %q", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(s.snapshot()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	got := s.snapshot()
	if want := []string{"line 0\nline 1\nline 2\n"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("writes = %q, want %q", got, want)
	}
	// The next line schedules a new flush.
	fmt.Fprintln(w, "again")
	for len(s.snapshot()) == 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := s.snapshot(); len(got) != 2 || got[1] != "again\n" {
		t.Fatalf("writes = %q, want a second batch", got)
	}
}

func TestAFullBatchIsWrittenAtOnce(t *testing.T) {
	var s sink
	w := New(&s, time.Hour)
	line := strings.Repeat("x", 1023) + "\n"
	for range maxBatch / len(line) {
		w.Write([]byte(line))
	}
	got := s.snapshot()
	if len(got) != 1 || len(got[0]) != maxBatch {
		t.Fatalf("got %d writes (first %d bytes); want one of %d bytes", len(got), len(firstOf(got)), maxBatch)
	}
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func TestCloseFlushesAndLaterLinesGoStraightThrough(t *testing.T) {
	var s sink
	w := New(&s, time.Hour)
	fmt.Fprintln(w, "queued")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(w, "after close")
	if got := s.snapshot(); fmt.Sprint(got) != fmt.Sprint([]string{"queued\n", "after close\n"}) {
		t.Fatalf("writes = %q", got)
	}
}

func TestZeroIntervalWritesEachLine(t *testing.T) {
	var s sink
	w := New(&s, 0)
	fmt.Fprintln(w, "a")
	fmt.Fprintln(w, "b")
	if got := s.snapshot(); len(got) != 2 {
		t.Fatalf("writes = %q, want two", got)
	}
}

func TestFlushReportsTheWritersError(t *testing.T) {
	s := sink{err: errors.New("disk full")}
	w := New(&s, time.Hour)
	if _, err := fmt.Fprintln(w, "a"); err != nil {
		t.Fatalf("a queued line failed: %v", err)
	}
	if err := w.Flush(); err == nil || err.Error() != "disk full" {
		t.Fatalf("Flush = %v, want the writer's error", err)
	}
}

// Concurrent writers never split or interleave a line.
func TestConcurrentLinesStayWhole(t *testing.T) {
	var s sink
	w := New(&s, time.Millisecond)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				fmt.Fprintf(w, "g%d-%d-%s\n", g, i, strings.Repeat("y", i%50))
			}
		}()
	}
	wg.Wait()
	w.Close()
	all := strings.Join(s.snapshot(), "")
	lines := strings.Split(strings.TrimSuffix(all, "\n"), "\n")
	if len(lines) != 8*500 {
		t.Fatalf("%d lines, want %d", len(lines), 8*500)
	}
	seen := map[string]bool{}
	for _, l := range lines {
		var g, i int
		var pad string
		if _, err := fmt.Sscanf(l, "g%d-%d-%s", &g, &i, &pad); err != nil && !bytes.HasSuffix([]byte(l), []byte("-")) {
			t.Fatalf("mangled line %q", l)
		}
		seen[l] = true
	}
	if len(seen) != 8*500 {
		t.Fatalf("%d distinct lines, want %d", len(seen), 8*500)
	}
}
