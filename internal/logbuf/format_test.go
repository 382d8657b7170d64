package logbuf

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"
)

// slogLine is the line slog's own handler writes for the record.
func slogLine(t *testing.T, json bool, at time.Time, level slog.Level, msg string, attrs []slog.Attr) string {
	t.Helper()
	var buf bytes.Buffer
	opts := &slog.HandlerOptions{Level: slog.Level(math.MinInt)}
	var h slog.Handler = slog.NewTextHandler(&buf, opts)
	if json {
		h = slog.NewJSONHandler(&buf, opts)
	}
	r := slog.NewRecord(at, level, msg, 0)
	r.AddAttrs(attrs...)
	if err := h.Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// slogFallback reports whether slog writes the record through one of the
// paths lineFormat leaves to it: a year outside 0-9999, and for JSON a
// float that is not finite.
func slogFallback(json bool, at time.Time, attrs []slog.Attr) bool {
	outside := func(t time.Time) bool { return t.Year() < 0 || t.Year() > 9999 }
	if !at.IsZero() && outside(at) {
		return true
	}
	for _, a := range attrs {
		switch a.Value.Kind() {
		case slog.KindTime:
			if outside(a.Value.Time()) {
				return true
			}
		case slog.KindFloat64:
			if f := a.Value.Float64(); json && (math.IsNaN(f) || math.IsInf(f, 0)) {
				return true
			}
		}
	}
	return false
}

// checkSame formats the record with lineFormat, using the cache c, and
// fails unless it wrote slog's bytes, or declined exactly where slog
// takes a path it leaves to slog.
func checkSame(t *testing.T, c *timeCache, json bool, at time.Time, level slog.Level, msg string, attrs []slog.Attr) {
	t.Helper()
	want := slogLine(t, json, at, level, msg, attrs)
	got, ok := lineFormat{json: json}.appendLine([]byte("prefix"), c, at, level, msg, attrs)
	if fallback := slogFallback(json, at, attrs); ok == fallback {
		t.Fatalf("json=%v: formatted %v, want %v (slog writes %q)", json, ok, !fallback, want)
	}
	if ok && string(got) != "prefix"+want {
		t.Fatalf("json=%v:\n got %q\nwant %q", json, strings.TrimPrefix(string(got), "prefix"), want)
	}
}

var (
	when = time.Date(2026, 11, 27, 17, 36, 54, 123456789, time.UTC)
	east = time.FixedZone("east", 5*3600+30*60)
	odd  = time.FixedZone("odd", -(3*3600 + 25*60 + 7)) // an offset with seconds, as local mean times have
)

func TestLineFormatMatchesSlog(t *testing.T) {
	var room [13]slog.Attr
	request := append(requestAttrs(&room), slog.Bool("usage_estimated", true))
	tests := []struct {
		name  string
		at    time.Time
		level slog.Level
		msg   string
		attrs []slog.Attr
	}{
		{"request line", when, slog.LevelInfo, "request", request},
		{"failed request", when.In(east), slog.LevelWarn, "request", append(request[:9:9],
			slog.String("code", "upstream_error"), slog.String("cause", `openai: status 503 "overloaded"`))},
		{"no attributes", when, slog.LevelError, "stopped", nil},
		{"no time", time.Time{}, slog.LevelInfo, "m", request[:2]},
		{"custom levels", when, slog.LevelInfo + 2, "m", nil},
		{"below debug", when, slog.LevelDebug - 3, "m", nil},
		{"quoting", when, slog.LevelInfo, "two words", []slog.Attr{
			slog.String("", ""),
			slog.String("k=v", "a=b"),
			slog.String("sp ace", " "),
			slog.String("quote", `"`),
			slog.String("backslash", `a\b`),
			slog.String("tab", "a\tb"),
			slog.String("newline", "a\nb"),
			slog.String("nul", "\x00"),
			slog.String("del", "\x7f"),
			slog.String("unicode", "héllo wörld ✓"),
			slog.String("nbsp", "a\u00a0b"),
			slog.String("linesep", "a\u2028b\u2029"),
			slog.String("bad utf-8", "a\xffb\xc3"),
			slog.String("zero-width", "a\u200bb"),
			slog.String("html", "<a href='x'>&</a>"),
			slog.String("ключ", "значение"),
		}},
		{"numbers", when, slog.LevelInfo, "m", []slog.Attr{
			slog.Int64("min", math.MinInt64),
			slog.Int64("max", math.MaxInt64),
			slog.Uint64("umax", math.MaxUint64),
			slog.Float64("pi", math.Pi),
			slog.Float64("zero", 0),
			slog.Float64("negzero", math.Copysign(0, -1)),
			slog.Float64("tiny", 1e-7),
			slog.Float64("small", 0.000001),
			slog.Float64("big", 1e21),
			slog.Float64("bigger", 123456789e20),
			slog.Float64("denormal", 5e-324),
			slog.Float64("maxfloat", math.MaxFloat64),
			slog.Bool("false", false),
		}},
		{"durations", when, slog.LevelInfo, "m", []slog.Attr{
			slog.Duration("zero", 0),
			slog.Duration("ns", 7),
			slog.Duration("us", 1500),
			slog.Duration("ms", 12*time.Millisecond+300*time.Microsecond),
			slog.Duration("long", 49*time.Hour+time.Nanosecond),
			slog.Duration("negative", -90*time.Second),
			slog.Duration("min", math.MinInt64),
		}},
		{"times", when.In(odd), slog.LevelInfo, "m", []slog.Attr{
			slog.Time("zero", time.Time{}),
			slog.Time("utc", when),
			slog.Time("whole second", when.Truncate(time.Second)),
			slog.Time("one ms", when.Truncate(time.Second).Add(time.Millisecond)),
			slog.Time("east", when.In(east)),
			slog.Time("odd", when.In(odd)),
			slog.Time("local", when.Local()),
			slog.Time("year 1", time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)),
			slog.Time("year 9999", time.Date(9999, 12, 31, 23, 59, 59, 999999999, east)),
			slog.Time("before 1970", time.Date(1969, 12, 31, 23, 59, 59, 999000000, time.UTC)),
		}},
		{"empty attr", when, slog.LevelInfo, "m", []slog.Attr{{}, slog.Int("n", 1), {}}},
		// Left to slog: the formatter must decline these.
		{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), slog.LevelInfo, "m", nil},
		{"negative year", when, slog.LevelInfo, "m", []slog.Attr{slog.Time("t", time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC))}},
		{"non-finite floats", when, slog.LevelInfo, "m", []slog.Attr{
			slog.Float64("nan", math.NaN()), slog.Float64("inf", math.Inf(1)), slog.Float64("-inf", math.Inf(-1)),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, json := range []bool{false, true} {
				var c timeCache
				checkSame(t, &c, json, tt.at, tt.level, tt.msg, tt.attrs)
				checkSame(t, &c, json, tt.at, tt.level, tt.msg, tt.attrs) // from the cache
			}
		})
	}
}

// The time cache follows the second and the location: a line one second,
// one millisecond or one zone away is not written with the last one's date.
func TestLineFormatTimeCache(t *testing.T) {
	var c timeCache
	base := time.Date(2026, 12, 31, 23, 59, 59, 999_999_999, time.UTC)
	for _, at := range []time.Time{
		base, base.Add(time.Nanosecond), base.Add(-time.Millisecond), base.In(east), base.In(odd),
		base.Add(time.Nanosecond).In(east), base, base.Add(time.Second), base.Local(),
	} {
		for _, json := range []bool{false, true} {
			checkSame(t, &c, json, at, slog.LevelInfo, "m", []slog.Attr{slog.Time("t", at.Add(-time.Second))})
		}
	}
}

// FuzzLineFormat compares lineFormat with slog's handlers on arbitrary
// strings (keys and values needing quotes, unicode, control characters,
// invalid UTF-8, empty ones), numbers, durations, times and zones, twice
// with one time cache.
func FuzzLineFormat(f *testing.F) {
	f.Add("request_id", "01JDXG5Z3K", "request", int64(200), uint64(9), 0.5, true, int64(12*time.Millisecond), when.Unix(), int64(when.Nanosecond()), int64(0), 0)
	f.Add("", "", "", int64(-1), uint64(0), math.Copysign(0, -1), false, int64(-1), int64(0), int64(0), int64(5*3600+30*60), 4)
	f.Add("k=v", "a b\t\"\\\x00\u2028é\xff", "two words", int64(math.MinInt64), uint64(math.MaxUint64), 1e21, false, int64(math.MinInt64), int64(-62135596800), int64(999_999_999), int64(-12345), -4)
	f.Add("ключ", "\u00a0\u200b", "\x7f", int64(0), uint64(1), math.NaN(), true, int64(49*time.Hour), int64(253402300799), int64(1), int64(86399), 8)
	f.Fuzz(func(t *testing.T, key, s, msg string, i int64, u uint64, fl float64, b bool, d, sec, nsec, off int64, level int) {
		// The zone: a fixed offset (within a day each way), UTC or Local.
		var loc *time.Location
		switch {
		case off == 0:
			loc = time.UTC
		case off == 1:
			loc = time.Local
		default:
			loc = time.FixedZone(key, int(off%86400))
		}
		at := time.Unix(sec, nsec).In(loc)
		attrs := []slog.Attr{
			slog.String(key, s),
			slog.String(s, key),
			slog.Int64(key, i),
			slog.Uint64(key, u),
			slog.Float64(key, fl),
			slog.Bool(key, b),
			slog.Duration(key, time.Duration(d)),
			slog.Time(key, at),
			slog.Time(s, at.Add(time.Duration(d))),
			slog.String(key, msg),
		}
		for _, json := range []bool{false, true} {
			var c timeCache
			checkSame(t, &c, json, at, slog.Level(level), msg, attrs)
			later := at.Add(time.Duration(i % int64(2*time.Second)))
			checkSame(t, &c, json, later, slog.Level(level), msg, attrs[:3])
		}
	})
}
