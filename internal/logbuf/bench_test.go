package logbuf

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

// requestAttrs are the attributes of a streamed request's line, as the
// gateway logs them (gateway.(*Service).finish).
func requestAttrs(buf *[13]slog.Attr) []slog.Attr {
	return append(buf[:0],
		slog.String("request_id", "01JDXG5Z3K9Q2W8E7R6T5Y4U3I"),
		slog.String("route", "chat"),
		slog.String("model", "mock-model"),
		slog.String("provider", "mock"),
		slog.Int("status", 200),
		slog.Int64("latency_ms", 12),
		slog.Int("prompt_tokens", 9),
		slog.Int("completion_tokens", 20),
		slog.String("cost_usd", "0.000013"),
		slog.Int64("ttft_ms", 3),
	)
}

// BenchmarkRequestLine is one request's line from the call to its bytes
// in the batch: queued by the request, formatted at the flush (one flush
// per 64 lines, as a busy server's timer finds them). "slog" is the path
// before logbuf had its formatter: Logger.LogAttrs to Handler(slog's).
func BenchmarkRequestLine(b *testing.B) {
	b.Run("slog", func(b *testing.B) {
		benchRequestLine(b, func(w *Writer) slog.Handler { return w.Handler(slog.NewTextHandler(w, nil)) }, false)
	})
	b.Run("text", func(b *testing.B) {
		benchRequestLine(b, func(w *Writer) slog.Handler { return w.TextHandler(nil) }, true)
	})
	b.Run("json", func(b *testing.B) {
		benchRequestLine(b, func(w *Writer) slog.Handler { return w.JSONHandler(nil) }, true)
	})
}

func benchRequestLine(b *testing.B, handler func(*Writer) slog.Handler, own bool) {
	w := New(io.Discard, time.Hour)
	defer w.Close()
	l := slog.New(handler(w))
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		var buf [13]slog.Attr
		if own {
			LogAttrs(ctx, l, slog.LevelInfo, "request", requestAttrs(&buf)...)
		} else {
			l.LogAttrs(ctx, slog.LevelInfo, "request", requestAttrs(&buf)...)
		}
		if i++; i%64 == 0 {
			w.Flush()
		}
	}
}

// BenchmarkFormatLine is the formatting of one request line alone:
// slog's TextHandler against lineFormat.
func BenchmarkFormatLine(b *testing.B) {
	var buf [13]slog.Attr
	attrs := requestAttrs(&buf)
	at := time.Now()
	b.Run("slog", func(b *testing.B) {
		h := slog.NewTextHandler(io.Discard, nil)
		b.ReportAllocs()
		for b.Loop() {
			r := slog.NewRecord(at, slog.LevelInfo, "request", 0)
			r.AddAttrs(attrs...)
			h.Handle(context.Background(), r)
		}
	})
	b.Run("logbuf", func(b *testing.B) {
		var c timeCache
		var out []byte
		b.ReportAllocs()
		for b.Loop() {
			out, _ = lineFormat{}.appendLine(out[:0], &c, at, slog.LevelInfo, "request", attrs)
		}
	})
}
