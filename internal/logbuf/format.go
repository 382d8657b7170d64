package logbuf

import (
	"log/slog"
	"math"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

// lineFormat writes a record as slog's TextHandler (or, json, JSONHandler)
// writes it, for a handler made without ReplaceAttr, AddSource, WithAttrs
// or WithGroup, and for the scalar kinds a Handler defers: strings,
// integers, floats, bools, durations and times. slog's handlers spend
// most of a request line's formatting on what this one skips: a pooled
// handleState and its buffers, a deferred recover per value, the kind
// switch on a Value behind Record.Attrs's callback, and formatting the
// time from scratch. Byte-identical output is the contract (the fuzz test
// compares the two); where a value would need one of slog's rarer paths
// (a JSON float that is not finite, a year outside 0-9999), appendLine
// reports false and the record goes to slog's handler instead.
type lineFormat struct {
	json bool
}

// appendLine appends r's line to dst, using and updating the time cache c
// (which its caller serialises). When it reports false, dst may hold part
// of the line past its original length, for the caller to cut.
func (f lineFormat) appendLine(dst []byte, c *timeCache, t time.Time, level slog.Level, msg string, attrs []slog.Attr) ([]byte, bool) {
	sep := ""
	if f.json {
		dst = append(dst, '{')
	}
	var ok bool
	if !t.IsZero() {
		dst = f.appendKey(dst, sep, slog.TimeKey)
		if dst, ok = f.appendTime(dst, c, t); !ok {
			return dst, false
		}
		sep = f.sep()
	}
	dst = f.appendKey(dst, sep, slog.LevelKey)
	dst = f.appendString(dst, level.String())
	dst = f.appendKey(dst, f.sep(), slog.MessageKey)
	dst = f.appendString(dst, msg)
	for _, a := range attrs {
		if a.Key == "" && a.Value.Kind() == slog.KindAny && a.Value.Any() == nil {
			continue // slog elides the empty Attr
		}
		dst = f.appendKey(dst, f.sep(), a.Key)
		if dst, ok = f.appendValue(dst, c, a.Value); !ok {
			return dst, false
		}
	}
	if f.json {
		dst = append(dst, '}')
	}
	return append(dst, '\n'), true
}

func (f lineFormat) sep() string {
	if f.json {
		return ","
	}
	return " "
}

func (f lineFormat) appendKey(dst []byte, sep, key string) []byte {
	dst = append(dst, sep...)
	dst = f.appendString(dst, key)
	if f.json {
		return append(dst, ':')
	}
	return append(dst, '=')
}

// appendString is slog's handleState.appendString.
func (f lineFormat) appendString(dst []byte, s string) []byte {
	if f.json {
		dst = append(dst, '"')
		dst = appendEscapedJSONString(dst, s)
		return append(dst, '"')
	}
	if needsQuoting(s) {
		return strconv.AppendQuote(dst, s)
	}
	return append(dst, s...)
}

// appendValue is slog's appendTextValue and appendJSONValue for the scalar
// kinds; any other kind reports false.
func (f lineFormat) appendValue(dst []byte, c *timeCache, v slog.Value) ([]byte, bool) {
	switch v.Kind() {
	case slog.KindString:
		return f.appendString(dst, v.String()), true
	case slog.KindInt64:
		return strconv.AppendInt(dst, v.Int64(), 10), true
	case slog.KindUint64:
		return strconv.AppendUint(dst, v.Uint64(), 10), true
	case slog.KindFloat64:
		if f.json {
			return appendJSONFloat(dst, v.Float64())
		}
		return strconv.AppendFloat(dst, v.Float64(), 'g', -1, 64), true
	case slog.KindBool:
		return strconv.AppendBool(dst, v.Bool()), true
	case slog.KindDuration:
		if f.json {
			return strconv.AppendInt(dst, int64(v.Duration()), 10), true
		}
		return append(dst, v.Duration().String()...), true // unquoted, as slog writes it
	case slog.KindTime:
		return f.appendTime(dst, c, v.Time())
	}
	return dst, false
}

// appendTime is slog's appendRFC3339Millis for text (the record's time and
// time values alike) and appendJSONTime (RFC 3339 with nanoseconds, their
// trailing zeros trimmed) for JSON, from the cache of the second's date and
// zone. A year outside 0-9999 reports false: slog writes an error there.
func (f lineFormat) appendTime(dst []byte, c *timeCache, t time.Time) ([]byte, bool) {
	if !c.load(t) {
		return dst, false
	}
	ns := t.Nanosecond()
	if f.json {
		dst = append(dst, '"')
		dst = append(dst, c.date[:c.n]...)
		if ns != 0 {
			var frac [10]byte
			frac[0] = '.'
			for i := 9; i >= 1; i-- {
				frac[i] = byte('0' + ns%10)
				ns /= 10
			}
			n := 10
			for frac[n-1] == '0' {
				n--
			}
			dst = append(dst, frac[:n]...)
		}
		dst = append(dst, c.date[c.n:c.end]...)
		return append(dst, '"'), true
	}
	ms := ns / 1e6
	dst = append(dst, c.date[:c.n]...)
	dst = append(dst, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return append(dst, c.date[c.n:c.end]...), true
}

// timeCache keeps the date, clock and zone of the last second formatted:
// a request line's time changes only in its milliseconds between most
// lines, and formatting the rest is most of a time's cost. Safe for one
// goroutine at a time.
type timeCache struct {
	sec   int64
	loc   *time.Location
	valid bool // sec and loc name a second whose year is in 0-9999
	set   bool
	// date holds "2006-01-02T15:04:05" in [:n] and "Z07:00" in [n:end].
	date   [32]byte
	n, end int
}

// load makes the cache hold t's second in t's location (a location maps
// each instant to one offset, so the pair fixes the text) and reports
// whether slog formats that second as this cache does.
func (c *timeCache) load(t time.Time) bool {
	sec, loc := t.Unix(), t.Location()
	if c.set && sec == c.sec && loc == c.loc {
		return c.valid
	}
	c.sec, c.loc, c.set = sec, loc, true
	if y := t.Year(); y < 0 || y > 9999 {
		c.valid = false
		return false
	}
	// RFC 3339 without the fraction: the same code that writes slog's.
	b := t.AppendFormat(c.date[:0], time.RFC3339)
	c.n, c.end = len("2006-01-02T15:04:05"), len(b)
	c.valid = len(b) <= len(c.date) && len(b) > c.n
	return c.valid
}

// appendJSONFloat is encoding/json's float64 encoding, which slog's
// JSONHandler uses; a NaN or an infinity reports false (json.Marshal
// fails on them, and slog writes the error).
func appendJSONFloat(dst []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, false
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// e-09 to e-9, as encoding/json writes it
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, true
}

// needsQuoting is slog's: whether the TextHandler quotes a key or string.
func needsQuoting(s string) bool {
	if len(s) == 0 {
		return true
	}
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			// Quote anything except a backslash that would need quoting in a
			// JSON string, as well as space and '='
			if b != '\\' && (b == ' ' || b == '=' || !safeSet[b]) {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

// appendEscapedJSONString is slog's (encoding/json's string encoding
// without HTML escaping), without the quotation marks.
func appendEscapedJSONString(buf []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if safeSet[b] {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\')
			switch b {
			case '\\', '"':
				buf = append(buf, b)
			case '\n':
				buf = append(buf, 'n')
			case '\r':
				buf = append(buf, 'r')
			case '\t':
				buf = append(buf, 't')
			default:
				// bytes < 0x20 but \t, \n and \r
				buf = append(buf, 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but not JavaScript.
		if c == '\u2028' || c == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\u202`...)
			buf = append(buf, hex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(buf, s[start:]...)
}

const hex = "0123456789abcdef"

// safeSet is slog's (encoding/json's) table of the ASCII bytes a JSON
// string holds unescaped: all but the control characters, '"' and '\\'.
var safeSet = func() (t [utf8.RuneSelf]bool) {
	for b := ' '; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()
