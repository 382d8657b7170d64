package logbuf

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for the timer's goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newDeferred(t *testing.T, interval time.Duration) (*slog.Logger, *Writer, *lockedBuffer) {
	t.Helper()
	out := &lockedBuffer{}
	w := New(out, interval)
	return slog.New(w.Handler(slog.NewTextHandler(w, nil))), w, out
}

// A request's log line is formatted at the flush, not in the goroutine
// that logged it, and keeps the time it was logged at.
func TestHandlerFormatsAtTheFlush(t *testing.T) {
	log, w, out := newDeferred(t, time.Hour)
	before := time.Now()
	log.Info("request", "request_id", "r1", "status", 200, "latency_ms", int64(3))
	w.mu.Lock()
	pending, batched := len(w.pending), len(w.buf)
	w.mu.Unlock()
	if pending != 1 || batched != 0 {
		t.Fatalf("after logging: %d pending, %d bytes formatted; want 1 record waiting, nothing formatted", pending, batched)
	}
	time.Sleep(2 * time.Millisecond)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	line := out.String()
	if !strings.Contains(line, "msg=request request_id=r1 status=200 latency_ms=3") {
		t.Fatalf("flushed %q", line)
	}
	ts, _, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil || at.Before(before.Truncate(time.Millisecond)) || at.After(before.Add(time.Millisecond)) {
		t.Errorf("time %q (%v), want the time of the call (%v), not of the flush", ts, err, before)
	}
}

// Records with a non-scalar attribute are formatted at once, after the
// records deferred before them: lines keep their order.
func TestHandlerKeepsOrder(t *testing.T) {
	log, w, out := newDeferred(t, time.Hour)
	log.Info("one", "n", 1)
	log.Info("two", "v", struct{ A int }{2}) // not a scalar: now, after "one"
	log.Info("three", "n", 3)
	if got := out.String(); got != "" {
		// nothing reached w yet: the lines are batched in order
		t.Fatalf("written before the flush: %q", got)
	}
	w.Flush()
	var msgs []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		_, m, _ := strings.Cut(l, "msg=")
		m, _, _ = strings.Cut(m, " ")
		msgs = append(msgs, m)
	}
	if fmt.Sprint(msgs) != "[one two three]" {
		t.Fatalf("order %v, want [one two three]", msgs)
	}
}

// The timer formats and writes deferred records without a Flush call, also
// when one is deferred while a flush runs.
func TestHandlerTimerFlush(t *testing.T) {
	log, _, out := newDeferred(t, 5*time.Millisecond)
	for i := range 50 {
		log.Info("tick", "i", i)
		time.Sleep(time.Millisecond / 4)
	}
	deadline := time.Now().Add(2 * time.Second)
	for strings.Count(out.String(), "msg=tick") < 50 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 50 lines written by the timer", strings.Count(out.String(), "msg=tick"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Close formats what waits; after it, and with a zero interval, records
// are formatted and written at once.
func TestHandlerCloseAndUnbuffered(t *testing.T) {
	log, w, out := newDeferred(t, time.Hour)
	log.Info("before close")
	w.Close()
	if !strings.Contains(out.String(), "msg=\"before close\"") {
		t.Fatalf("Close left the record unwritten: %q", out.String())
	}
	log.Info("after close")
	if !strings.Contains(out.String(), "msg=\"after close\"") {
		t.Fatalf("after Close the record waits: %q", out.String())
	}
	log, _, out = newDeferred(t, 0)
	log.Info("unbuffered")
	if !strings.Contains(out.String(), "msg=unbuffered") {
		t.Fatalf("a zero interval deferred the record: %q", out.String())
	}
}

// A burst past maxPending is formatted by the goroutines that log it, so
// waiting records stay bounded.
func TestHandlerBoundsPending(t *testing.T) {
	log, w, _ := newDeferred(t, time.Hour)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range maxPending {
				log.Info("burst", "g", g, "i", i)
			}
		}()
	}
	wg.Wait()
	w.mu.Lock()
	n := len(w.pending)
	w.mu.Unlock()
	if n >= maxPending {
		t.Fatalf("%d records pending, want fewer than %d", n, maxPending)
	}
	w.Flush()
}
