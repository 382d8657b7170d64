package jsonw

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// reference is encoding/json's encoding of s, with or without HTML escaping.
func reference(s string, escapeHTML bool) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(escapeHTML)
	enc.Encode(s)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

var seeds = []string{"", "plain", "quote\"back\\slash", "\x00\x1f\n\t\r\b\f\x7f", "\u2028\u2029", "héllo 世界 😀",
	"\xff\xfe bad utf8", "<&>", "\"\\/", "a\xe2\x80"}

func TestAppendString(t *testing.T) {
	for _, s := range seeds {
		for _, html := range []bool{false, true} {
			if got, want := AppendString([]byte("x"), s, html), append([]byte("x"), reference(s, html)...); !bytes.Equal(got, want) {
				t.Errorf("AppendString(%q, html=%v) = %s, want %s", s, html, got, want)
			}
		}
	}
}

// FuzzAppendString compares the encoder with encoding/json, byte for byte,
// in both HTML modes, on any bytes (invalid UTF-8 included).
func FuzzAppendString(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, html := range []bool{false, true} {
			if got, want := AppendString(nil, s, html), reference(s, html); !bytes.Equal(got, want) {
				t.Fatalf("AppendString(%q, html=%v) = %s, want %s", s, html, got, want)
			}
		}
	})
}

func BenchmarkAppendString(b *testing.B) {
	s := "The quick brown fox jumps over the lazy dog, \"twice\".\n"
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendString(buf[:0], s, true)
	}
}

// FuzzAppendFloatField compares the number encoder with encoding/json.
func FuzzAppendFloatField(f *testing.F) {
	for _, v := range []float64{0, math.Copysign(0, -1), 1, 0.2, 1e-6, 9.99e-7, 1e20, 1e21, 123456789.123, -1e-7, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1), math.NaN()} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		want, err := json.Marshal(v)
		got, ok := AppendFloatField(nil, "", &v)
		if ok != (err == nil) {
			t.Fatalf("%v: encoded %v, encoding/json error %v", v, ok, err)
		}
		if ok && !bytes.Equal(got, want) {
			t.Fatalf("%v: %s, want %s", v, got, want)
		}
	})
}

func TestAppendStringsField(t *testing.T) {
	for _, ss := range [][]string{nil, {}, {"a"}, {"<end>", "line\nbreak", "\u2028"}} {
		got := string(AppendStringsField([]byte("{"), `"stop":`, ss))
		want := "{"
		if len(ss) > 0 {
			j, _ := json.Marshal(ss)
			want += `"stop":` + string(j)
		}
		if got != want {
			t.Errorf("%q: %s, want %s", ss, got, want)
		}
	}
}
