package logbuf

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
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

// fixedRecord is a record at a set time, so slog's line for it is known.
func fixedRecord(msg string, attrs ...slog.Attr) slog.Record {
	r := slog.NewRecord(when, slog.LevelInfo, msg, 0)
	r.AddAttrs(attrs...)
	return r
}

// The Writer's own formatter writes what slog's handler writes, in the
// order logged, with the records it leaves to slog (a JSON NaN, a
// non-scalar value, a handler WithAttrs or WithGroup) among its own.
func TestOwnFormatterWritesSlogsLines(t *testing.T) {
	records := []slog.Record{
		fixedRecord("request", slog.String("request_id", "r 1"), slog.Int("status", 200), slog.Float64("f", 0.5)),
		fixedRecord("nan", slog.Float64("f", math.NaN()), slog.Duration("d", time.Second)),
		fixedRecord("struct", slog.Any("v", struct{ A int }{2})),
		fixedRecord("last", slog.Bool("ok", true), slog.Time("at", when.In(east))),
	}
	for _, json := range []bool{false, true} {
		out := &lockedBuffer{}
		w := New(out, time.Hour)
		var want bytes.Buffer
		var h, ref slog.Handler = w.TextHandler(nil), slog.NewTextHandler(&want, nil)
		if json {
			h, ref = w.JSONHandler(nil), slog.NewJSONHandler(&want, nil)
		}
		handlers := [][2]slog.Handler{
			{h, ref},
			{h.WithAttrs([]slog.Attr{slog.String("pre", "x")}), ref.WithAttrs([]slog.Attr{slog.String("pre", "x")})},
			{h.WithGroup("g"), ref.WithGroup("g")},
		}
		for _, hs := range handlers {
			for _, r := range records {
				if err := hs[0].Handle(context.Background(), r); err != nil {
					t.Fatal(err)
				}
				if err := hs[1].Handle(context.Background(), r); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if got := out.String(); got != want.String() {
			t.Errorf("json=%v:\n got %q\nwant %q", json, got, want.String())
		}
	}
}

// LogAttrs queues a line that slog would have written (the time aside, which
// is the call's), logs nothing below the handler's level, and with any
// other handler is Logger.LogAttrs.
func TestLogAttrs(t *testing.T) {
	out := &lockedBuffer{}
	w := New(out, time.Hour)
	log := slog.New(w.TextHandler(&slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx := context.Background()
	attrs := []slog.Attr{slog.String("request_id", "r1"), slog.Int("status", 503), slog.String("cause", `status 503 "busy"`)}
	before := time.Now()
	LogAttrs(ctx, log, slog.LevelWarn, "request", attrs...)
	LogAttrs(ctx, log, slog.LevelDebug, "hidden", attrs...)
	w.mu.Lock()
	pending := len(w.pending)
	w.mu.Unlock()
	if pending != 1 {
		t.Fatalf("%d records queued, want 1 (the debug one is below the level)", pending)
	}
	w.Flush()
	line := out.String()
	ts, rest, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil || at.Before(before.Truncate(time.Millisecond)) || at.After(time.Now()) {
		t.Errorf("time %q (%v), want the time of the call (%v)", ts, err, before)
	}
	var want bytes.Buffer
	slog.New(slog.NewTextHandler(&want, nil)).LogAttrs(ctx, slog.LevelWarn, "request", attrs...)
	_, wantRest, _ := strings.Cut(want.String(), " ")
	if rest != wantRest {
		t.Errorf("line after the time %q, want %q", rest, wantRest)
	}

	var plain bytes.Buffer
	LogAttrs(ctx, slog.New(slog.NewJSONHandler(&plain, nil)), slog.LevelInfo, "request", attrs...)
	if !strings.Contains(plain.String(), `"msg":"request","request_id":"r1"`) {
		t.Errorf("another handler got %q", plain.String())
	}
}

// A request's line costs no allocation on the request's side.
func TestLogAttrsDoesNotAllocate(t *testing.T) {
	w := New(io.Discard, time.Hour)
	defer w.Close()
	log := slog.New(w.TextHandler(nil))
	ctx := context.Background()
	line := func() {
		var buf [13]slog.Attr
		LogAttrs(ctx, log, slog.LevelInfo, "request", requestAttrs(&buf)...)
	}
	for range 2 { // grow the queue and its spare
		for range 200 {
			line()
		}
		w.Flush()
	}
	if allocs := testing.AllocsPerRun(100, line); allocs != 0 {
		t.Errorf("%v allocations per line, want 0", allocs)
	}
}
