package anthropicwire

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
	"unsafe"
)

// The splitter under DecodeRequest's strict decoding: it cuts an object
// into its members and an array into its elements, as json.Unmarshal into
// a map[string]json.RawMessage or a []json.RawMessage would, without
// copying. It relies on its input being valid JSON (DecodeRequest checks
// the whole body once) and does no validation of its own.

// isSpace reports whether c is JSON whitespace.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipSpace returns the index of the first non-space byte of b at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipString returns the index just past the string whose opening quote
// is at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index just past the value that starts at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	// A number or a literal: up to the next delimiter.
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && !isSpace(b[i]) {
		i++
	}
	return i
}

// splitObject appends the members of the valid JSON object v to dst.
func splitObject(v []byte, dst []field) []field {
	i := skipSpace(v, 0) + 1 // past '{'
	for {
		i = skipSpace(v, i)
		if i >= len(v) || v[i] == '}' {
			return dst
		}
		if v[i] == ',' {
			i = skipSpace(v, i+1)
		}
		end := skipString(v, i)
		key := objectKey(v[i:end])
		i = skipSpace(v, end) + 1 // past ':'
		i = skipSpace(v, i)
		end = skipValue(v, i)
		dst = append(dst, field{key: key, val: v[i:end]})
		i = end
	}
}

// objectKey returns the key whose quoted form is q. A key without escapes
// in valid UTF-8 is a view of q (see object); any other is decoded as
// encoding/json decodes it.
func objectKey(q []byte) string {
	raw := q[1 : len(q)-1]
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return unsafe.String(unsafe.SliceData(raw), len(raw))
	}
	var s string
	json.Unmarshal(q, &s) // valid: the body was
	return s
}

// splitArray returns the elements of the valid JSON array v, in a slice
// of their number (json.Unmarshal's is empty, not nil, for []).
func splitArray(v []byte) [][]byte { return splitArrayInto(v, nil) }

// countElems returns the number of elements of the valid JSON array v.
func countElems(v []byte) int {
	n := 0
	eachElem(v, func([]byte) { n++ })
	return n
}

// splitArrayInto is splitArray, the elements in room when they fit.
func splitArrayInto(v []byte, room [][]byte) [][]byte {
	n := countElems(v)
	out := room[:0]
	if n > cap(room) {
		out = make([][]byte, 0, n)
	}
	eachElem(v, func(e []byte) { out = append(out, e) })
	return out
}

// eachElem calls f with each element of the valid JSON array v.
func eachElem(v []byte, f func([]byte)) {
	i := skipSpace(v, 0) + 1 // past '['
	for {
		i = skipSpace(v, i)
		if i >= len(v) || v[i] == ']' {
			return
		}
		if v[i] == ',' {
			i = skipSpace(v, i+1)
		}
		end := skipValue(v, i)
		f(v[i:end])
		i = end
	}
}
