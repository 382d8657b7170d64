// Package logbuf batches log lines before they reach the log's file.
//
// A gateway logs one line per request. Written straight to stderr that is
// one write system call per request, about 4% of the CPU a request costs at
// saturation (it is 1 of ~10 system calls on the request's path). A Writer
// gathers the lines and writes them together: when the batch reaches its
// size limit, or when the flush interval has passed since the first line of
// the batch. A crash loses at most that interval of log lines; Close and
// Flush write everything out.
package logbuf

import (
	"io"
	"log/slog"
	"sync"
	"time"
)

// maxBatch is the size at which a batch is written at once, without
// waiting for the interval: large enough to carry a few hundred lines per
// write, small enough to keep the copy cheap.
const maxBatch = 64 << 10

// Writer is an io.Writer that batches writes to w. It is safe for
// concurrent use; each Write is kept whole (log handlers write one line per
// call, so lines never interleave).
type Writer struct {
	w        io.Writer
	interval time.Duration

	mu     sync.Mutex
	buf    []byte
	armed  bool        // a flush is scheduled
	timer  *time.Timer // runs flushTimer; created on first use
	closed bool
	err    error // the first error from w, reported by Flush and Close

	// Records a Handler deferred and their attributes, and the slices the
	// last formatting left for reuse (handler.go).
	pending, spare    []deferred
	attrs, spareAttrs []slog.Attr

	// fmtMu serialises formatting, and guards what it keeps between
	// batches: the lines' buffer and the time cache.
	fmtMu sync.Mutex
	lines []byte
	clock timeCache
}

// New returns a Writer that writes to w at most interval after a line
// arrives. An interval of 0 or less writes every line at once.
func New(w io.Writer, interval time.Duration) *Writer {
	return &Writer{w: w, interval: interval}
}

// Write queues p. It never blocks on w unless the batch is full or the
// writer is unbuffered or closed, and it reports w's errors only from those
// direct writes (a log line must not fail the request that logged it).
func (b *Writer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.interval <= 0 {
		if len(b.buf) > 0 {
			b.flushLocked()
		}
		return b.w.Write(p)
	}
	b.buf = append(b.buf, p...)
	if len(b.buf) >= maxBatch {
		b.flushLocked()
		return len(p), nil
	}
	b.armLocked()
	return len(p), nil
}

// armLocked schedules a flush unless one is scheduled. The caller holds mu.
func (b *Writer) armLocked() {
	if !b.armed {
		b.armed = true
		if b.timer == nil {
			b.timer = time.AfterFunc(b.interval, b.flushTimer)
		} else {
			b.timer.Reset(b.interval)
		}
	}
}

// flushTimer is the scheduled flush.
func (b *Writer) flushTimer() {
	b.formatPending()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
	if len(b.pending) > 0 {
		b.armLocked() // deferred while this flush ran, when it was still armed
	}
}

// flushLocked writes the batch and keeps its buffer for the next one
// (shrunk when an unusual burst grew it).
func (b *Writer) flushLocked() {
	b.armed = false
	if len(b.buf) == 0 {
		return
	}
	if _, err := b.w.Write(b.buf); err != nil && b.err == nil {
		b.err = err
	}
	if cap(b.buf) > 4*maxBatch {
		b.buf = nil
	} else {
		b.buf = b.buf[:0]
	}
}

// Flush writes what is queued and returns the first error w reported.
func (b *Writer) Flush() error {
	b.formatPending()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
	return b.err
}

// Close flushes and makes later writes go straight to w (a line logged
// during shutdown after Close is still written). It does not close w.
func (b *Writer) Close() error {
	b.mu.Lock()
	b.closed = true // from here records are formatted, and lines written, at once
	b.mu.Unlock()
	b.formatPending()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
	if b.timer != nil {
		b.timer.Stop()
	}
	return b.err
}
