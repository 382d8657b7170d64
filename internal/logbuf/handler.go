package logbuf

import (
	"context"
	"log/slog"
)

// maxPending bounds the records waiting to be formatted: past it, the
// logging goroutine formats them itself (so a burst cannot grow memory
// without bound), oldest first.
const maxPending = 4096

// deferred is a record waiting for the flush, with the handler to format it.
type deferred struct {
	h slog.Handler
	r slog.Record
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
func (b *Writer) Handler(inner slog.Handler) slog.Handler {
	return &handler{b: b, inner: inner}
}

type handler struct {
	b     *Writer
	inner slog.Handler
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	return &handler{b: h.b, inner: h.inner.WithAttrs(as)}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{b: h.b, inner: h.inner.WithGroup(name)}
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	if scalarOnly(r) && h.b.deferRecord(h.inner, r) {
		return nil
	}
	h.b.formatPending() // what was logged before this record goes first
	return h.inner.Handle(ctx, r)
}

// scalarOnly reports whether every attribute of r is an immutable scalar.
func scalarOnly(r slog.Record) bool {
	ok := true
	r.Attrs(func(a slog.Attr) bool {
		switch a.Value.Kind() {
		case slog.KindString, slog.KindInt64, slog.KindUint64, slog.KindFloat64, slog.KindBool, slog.KindDuration, slog.KindTime:
			return true
		}
		ok = false
		return false
	})
	return ok
}

// deferRecord queues r for the next flush and reports whether it did.
func (b *Writer) deferRecord(h slog.Handler, r slog.Record) bool {
	b.mu.Lock()
	if b.closed || b.interval <= 0 {
		b.mu.Unlock()
		return false
	}
	// Grown first and filled in place: a deferred{} literal costs a 300-byte
	// temporary in the frame of every request's last log line.
	b.pending = append(b.pending, deferred{})
	d := &b.pending[len(b.pending)-1]
	d.h, d.r = h, r.Clone()
	full := len(b.pending) >= maxPending
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
	p := b.pending
	b.pending = b.spare[:0]
	b.spare = nil
	b.mu.Unlock()
	if len(p) == 0 {
		b.mu.Lock()
		b.spare = p
		b.mu.Unlock()
		return
	}
	for i := range p {
		p[i].h.Handle(context.Background(), p[i].r) // errors surface through Flush and Close
		p[i] = deferred{}
	}
	b.mu.Lock()
	if cap(p) <= 4*maxPending {
		b.spare = p[:0]
	}
	b.mu.Unlock()
}
