package logbuf

import (
	"context"
	"log/slog"
	"time"
)

// maxPending bounds the records waiting to be formatted, and
// maxPendingAttrs their attributes: past either, the logging goroutine
// formats them itself (so a burst cannot grow memory without bound),
// oldest first.
const (
	maxPending      = 4096
	maxPendingAttrs = 16 * maxPending
)

// deferred is a record waiting for the flush: its attributes are
// attrs[lo:hi] of the batch's shared slice (one copy per attribute, no
// slog.Record and its 5-attribute array per record), h the handler that
// logged it.
type deferred struct {
	t      time.Time
	msg    string
	level  slog.Level
	pc     uintptr
	lo, hi int
	h      *handler
}

// Handler wraps inner, which must write to b, so that a record is
// formatted when the batch is flushed rather than in the goroutine that
// logged it. Formatting a request's log line (slog's handler chain) is the
// deepest call a request makes: done inline, it grew every connection's
// goroutine stack from 8 to 16 KiB, which a kept-alive connection keeps
// while it waits for its next request or relays a stream. Deferred, it
// also leaves the request's latency.
//
// Only records whose attributes are all scalars (strings, numbers, bools,
// durations, times: values that cannot change after the call) are
// deferred; a record with any other attribute is formatted at once, after
// the records queued before it, so lines keep their order. The record's
// context is not kept: the wrapped handler sees context.Background. With a
// zero interval, or after Close, every record is formatted at once.
//
// TextHandler and JSONHandler are Handler with slog's handlers, formatted
// more cheaply.
func (b *Writer) Handler(inner slog.Handler) slog.Handler {
	return &handler{b: b, inner: inner}
}

// TextHandler is Handler(slog.NewTextHandler(b, opts)), except that the
// records it defers are formatted by logbuf's own formatter, which writes
// the same bytes as slog's at a fraction of the cost, when opts has no
// ReplaceAttr and no AddSource (with either, slog's handler formats them).
func (b *Writer) TextHandler(opts *slog.HandlerOptions) slog.Handler {
	return b.formatted(slog.NewTextHandler(b, opts), opts, false)
}

// JSONHandler is TextHandler for slog.NewJSONHandler's format.
func (b *Writer) JSONHandler(opts *slog.HandlerOptions) slog.Handler {
	return b.formatted(slog.NewJSONHandler(b, opts), opts, true)
}

func (b *Writer) formatted(inner slog.Handler, opts *slog.HandlerOptions, json bool) slog.Handler {
	own := opts == nil || (opts.ReplaceAttr == nil && !opts.AddSource)
	return &handler{b: b, inner: inner, own: own, f: lineFormat{json: json}}
}

type handler struct {
	b     *Writer
	inner slog.Handler
	// own: the Writer formats this handler's records with f, which writes
	// what inner would.
	own bool
	f   lineFormat
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

// WithAttrs and WithGroup return handlers whose records slog formats: the
// own formatter knows no preformatted attributes or groups.
func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	return &handler{b: h.b, inner: h.inner.WithAttrs(as)}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{b: h.b, inner: h.inner.WithGroup(name)}
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	if scalarOnly(r) && h.b.deferRecord(h, r) {
		return nil
	}
	h.b.formatPending() // what was logged before this record goes first
	return h.inner.Handle(ctx, r)
}

// LogAttrs is l.LogAttrs(ctx, level, msg, attrs...) that, when l's handler
// is a Writer's and attrs are all scalars, queues the record without the
// slog.Record that Logger.LogAttrs builds (it copies attributes past the
// fifth to the heap, and the program counter it looks up is only for
// AddSource, which a Writer's own formatter does not do). Any other logger
// gets l.LogAttrs. It is for a line logged per request.
func LogAttrs(ctx context.Context, l *slog.Logger, level slog.Level, msg string, attrs ...slog.Attr) {
	h, ok := l.Handler().(*handler)
	if !ok || !h.own || !scalars(attrs) {
		l.LogAttrs(ctx, level, msg, attrs...)
		return
	}
	if !h.Enabled(ctx, level) {
		return
	}
	if !h.b.deferAttrs(h, time.Now(), level, msg, 0, attrs) {
		l.LogAttrs(ctx, level, msg, attrs...) // unbuffered or closed: slog formats it now
	}
}

// scalarOnly reports whether every attribute of r is an immutable scalar.
func scalarOnly(r slog.Record) bool {
	ok := true
	r.Attrs(func(a slog.Attr) bool {
		ok = scalar(a.Value.Kind())
		return ok
	})
	return ok
}

func scalars(as []slog.Attr) bool {
	for _, a := range as {
		if !scalar(a.Value.Kind()) {
			return false
		}
	}
	return true
}

func scalar(k slog.Kind) bool {
	switch k {
	case slog.KindString, slog.KindInt64, slog.KindUint64, slog.KindFloat64, slog.KindBool, slog.KindDuration, slog.KindTime:
		return true
	}
	return false
}

// deferRecord queues r for the next flush and reports whether it did.
func (b *Writer) deferRecord(h *handler, r slog.Record) bool {
	b.mu.Lock()
	if b.closed || b.interval <= 0 {
		b.mu.Unlock()
		return false
	}
	lo := len(b.attrs)
	r.Attrs(func(a slog.Attr) bool {
		b.attrs = append(b.attrs, a)
		return true
	})
	return b.queueLocked(h, r.Time, r.Level, r.Message, r.PC, lo)
}

// deferAttrs queues a record of attrs for the next flush and reports
// whether it did.
func (b *Writer) deferAttrs(h *handler, t time.Time, level slog.Level, msg string, pc uintptr, attrs []slog.Attr) bool {
	b.mu.Lock()
	if b.closed || b.interval <= 0 {
		b.mu.Unlock()
		return false
	}
	lo := len(b.attrs)
	b.attrs = append(b.attrs, attrs...)
	return b.queueLocked(h, t, level, msg, pc, lo)
}

// queueLocked queues the record whose attributes start at attrs[lo],
// unlocks mu, and formats the queue when it is full. It reports true.
func (b *Writer) queueLocked(h *handler, t time.Time, level slog.Level, msg string, pc uintptr, lo int) bool {
	// Grown first and filled in place: a deferred{} literal would be a
	// temporary in the frame of every request's last log line.
	b.pending = append(b.pending, deferred{})
	d := &b.pending[len(b.pending)-1]
	d.t, d.msg, d.level, d.pc, d.lo, d.hi, d.h = t, msg, level, pc, lo, len(b.attrs), h
	full := len(b.pending) >= maxPending || len(b.attrs) >= maxPendingAttrs
	if !full {
		b.armLocked()
	}
	b.mu.Unlock()
	if full {
		b.formatPending()
	}
	return true
}

// formatPending formats the queued records, oldest first, into the batch.
// One formatter runs at a time, so records keep their order.
func (b *Writer) formatPending() {
	b.fmtMu.Lock()
	defer b.fmtMu.Unlock()
	b.mu.Lock()
	p, as := b.pending, b.attrs
	b.pending, b.attrs = b.spare[:0], b.spareAttrs[:0]
	b.spare, b.spareAttrs = nil, nil
	b.mu.Unlock()
	out := b.lines[:0]
	for i := range p {
		d := &p[i]
		if d.h.own {
			n := len(out)
			var ok bool
			if out, ok = d.h.f.appendLine(out, &b.clock, d.t, d.level, d.msg, as[d.lo:d.hi]); ok {
				if len(out) >= maxBatch/2 {
					b.Write(out)
					out = out[:0]
				}
				continue
			}
			out = out[:n]
		}
		if len(out) > 0 { // the lines before this record go first
			b.Write(out)
			out = out[:0]
		}
		r := slog.NewRecord(d.t, d.level, d.msg, d.pc)
		r.AddAttrs(as[d.lo:d.hi]...)
		d.h.inner.Handle(context.Background(), r) // errors surface through Flush and Close
	}
	if len(out) > 0 {
		b.Write(out)
	}
	b.lines = out[:0]
	clear(p)
	clear(as) // the strings they hold are the requests'
	b.mu.Lock()
	if cap(p) <= 4*maxPending {
		b.spare = p[:0]
	}
	if cap(as) <= 4*maxPendingAttrs {
		b.spareAttrs = as[:0]
	}
	b.mu.Unlock()
}
