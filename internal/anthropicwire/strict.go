package anthropicwire

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/octomesh/octomesh/internal/jsonw"

	"github.com/octomesh/octomesh"
)

// object is a JSON object split one level deep, for strict field-by-field
// validation with precise error paths. Its values are sub-slices of the
// request body, which DecodeRequest has validated as a whole: every value
// is valid JSON, so splitting needs no validation of its own. Keys without
// escapes are views of the body too (see field): they never outlive the
// decode except through clone, in error messages.
type object struct {
	base   string // the path, or its prefix when idx >= 0
	idx    int    // the path is base[idx] (built only for an error); -1: base
	fields []field
}

// field is one member: key is a view of the body when it holds no escape
// (see object), else its decoded copy. Duplicates are kept in order; get
// takes the last, as decoding into a map would.
type field struct {
	key string
	val []byte
}

// decodeObject splits raw, one of the validated body's values, as a JSON
// object at path base (base[idx] when idx >= 0).
func decodeObject(raw []byte, base string, idx int) (*object, error) {
	o := &object{base: base, idx: idx}
	if firstByte(raw) != '{' {
		return nil, invalid(o.path(), "%s must be a JSON object", o.path())
	}
	o.fields = splitObject(raw, make([]field, 0, 8))
	return o, nil
}

// path returns the object's path.
func (o *object) path() string {
	if o.idx < 0 {
		return o.base
	}
	return o.base + "[" + strconv.Itoa(o.idx) + "]"
}

// minKey returns the least key, in sorted order, for which bad is true.
func (o *object) minKey(bad func(string) bool) (string, bool) {
	var min string
	found := false
	for i := range o.fields {
		k := o.fields[i].key
		if bad(k) && (!found || k < min) {
			min, found = k, true
		}
	}
	// The key may be a view of the body, which does not outlive the decode.
	return strings.Clone(min), found
}

// only rejects fields outside allowed, naming the first in sorted order.
func (o *object) only(allowed ...string) error {
	k, bad := o.minKey(func(k string) bool { return !contains(allowed, k) })
	if bad {
		return invalid(o.at(k), "unknown field %q", safeQuote(k))
	}
	return nil
}

// at returns the path of field name.
func (o *object) at(name string) string {
	p := o.path()
	if p == "" {
		return name
	}
	return p + "." + name
}

// get returns a field's raw value; a JSON null counts as absent.
func (o *object) get(name string) ([]byte, bool) {
	for i := len(o.fields) - 1; i >= 0; i-- {
		if o.fields[i].key == name {
			v := o.fields[i].val
			if isNull(v) {
				return nil, false
			}
			return v, true
		}
	}
	return nil, false
}

// str returns a string field; required fields must be present and non-empty.
func (o *object) str(name string, required bool) (string, error) {
	v, ok := o.get(name)
	if !ok {
		if required {
			return "", invalid(o.at(name), "%s is required", o.at(name))
		}
		return "", nil
	}
	if firstByte(v) != '"' {
		return "", invalid(o.at(name), "%s must be a string", o.at(name))
	}
	s := unquote(v)
	if required && s == "" {
		return "", invalid(o.at(name), "%s must not be empty", o.at(name))
	}
	return s, nil
}

// unquote returns the validated JSON string v's value, as json.Unmarshal
// decodes it. The common values of the fields read are shared constants.
func unquote(v []byte) string {
	raw := v[1 : len(v)-1]
	if s, ok := common(raw); ok {
		return s
	}
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw)
	}
	var buf [512]byte
	return string(jsonw.AppendUnescaped(buf[:0], raw))
}

// common returns the shared constant for a common string value raw.
func common(raw []byte) (string, bool) {
	switch string(raw) {
	case "":
		return "", true
	case "user":
		return "user", true
	case "assistant":
		return "assistant", true
	case BlockText:
		return BlockText, true
	case BlockImage:
		return BlockImage, true
	case BlockToolUse:
		return BlockToolUse, true
	case BlockToolResult:
		return BlockToolResult, true
	case SourceBase64:
		return SourceBase64, true
	case SourceURL:
		return SourceURL, true
	case ChoiceAuto:
		return ChoiceAuto, true
	case ChoiceAny:
		return ChoiceAny, true
	case ChoiceNone:
		return ChoiceNone, true
	case "custom":
		return "custom", true
	case "message":
		return "message", true
	}
	return "", false
}

// boolean returns an optional boolean field; nil when absent.
func (o *object) boolean(name string) (*bool, error) {
	v, ok := o.get(name)
	if !ok {
		return nil, nil
	}
	var b bool
	switch string(v) {
	case "true":
		b = true
	case "false":
	default:
		return nil, invalid(o.at(name), "%s must be a boolean", o.at(name))
	}
	return &b, nil
}

// numeric reports whether the validated JSON value v is a number.
func numeric(v []byte) bool {
	return len(v) > 0 && (v[0] == '-' || '0' <= v[0] && v[0] <= '9')
}

// number returns an optional number field within [lo, hi]; nil when absent.
func (o *object) number(name string, lo, hi float64) (*float64, error) {
	v, ok := o.get(name)
	if !ok {
		return nil, nil
	}
	if !numeric(v) {
		return nil, invalid(o.at(name), "%s must be a number", o.at(name))
	}
	f, err := strconv.ParseFloat(string(v), 64) // as encoding/json parses it
	if err != nil {
		return nil, invalid(o.at(name), "%s must be a number", o.at(name))
	}
	if f < lo || f > hi || math.IsNaN(f) {
		return nil, invalid(o.at(name), "%s must be between %g and %g", o.at(name), lo, hi)
	}
	return &f, nil
}

// integerValue returns an optional integer field of at least min; ok is
// false when it is absent.
func (o *object) integerValue(name string, min int) (_ int, ok bool, _ error) {
	v, ok := o.get(name)
	if !ok {
		return 0, false, nil
	}
	if !numeric(v) {
		return 0, true, invalid(o.at(name), "%s must be an integer", o.at(name))
	}
	n64, err := strconv.ParseInt(string(v), 10, strconv.IntSize) // as encoding/json parses it
	if err != nil {
		return 0, true, invalid(o.at(name), "%s must be an integer", o.at(name))
	}
	n := int(n64)
	if n < min {
		return 0, true, invalid(o.at(name), "%s must be at least %d", o.at(name), min)
	}
	return n, true, nil
}

// arrayInto returns an optional array field's elements (in room when
// they fit); nil when absent.
func (o *object) arrayInto(name string, room [][]byte) ([][]byte, bool, error) {
	v, ok := o.get(name)
	if !ok {
		return nil, false, nil
	}
	if firstByte(v) != '[' {
		return nil, true, invalid(o.at(name), "%s must be an array", o.at(name))
	}
	return splitArrayInto(v, room), true, nil
}

// strings returns an optional array-of-strings field. A null element is
// "", as encoding/json decodes it.
func (o *object) strings(name string) ([]string, error) {
	v, ok := o.get(name)
	if !ok {
		return nil, nil
	}
	if firstByte(v) != '[' {
		return nil, invalid(o.at(name), "%s must be an array of strings", o.at(name))
	}
	elems := splitArray(v)
	a := make([]string, len(elems))
	for i, e := range elems {
		switch e[0] {
		case '"':
			a[i] = unquote(e)
		case 'n':
		default:
			return nil, invalid(o.at(name), "%s must be an array of strings", o.at(name))
		}
	}
	return a, nil
}

// jsonObject returns an optional field that must be a JSON object, compacted.
func (o *object) jsonObject(name string) (json.RawMessage, error) {
	v, ok := o.get(name)
	if !ok {
		return nil, nil
	}
	if firstByte(v) != '{' {
		return nil, invalid(o.at(name), "%s must be a JSON object", o.at(name))
	}
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return nil, invalid(o.at(name), "%s must be a JSON object", o.at(name))
	}
	return b.Bytes(), nil
}

func isNull(v []byte) bool {
	return string(bytes.TrimSpace(v)) == "null"
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// syntaxError turns a JSON decoding error of the whole body into a
// client-safe message (an offset, never the body's text).
func syntaxError(err error) *octomesh.Error {
	msg := "request body is not valid JSON"
	var se *json.SyntaxError
	if errors.As(err, &se) {
		msg += " (syntax error at byte " + strconv.FormatInt(se.Offset, 10) + ")"
	}
	return octomesh.Errorf(octomesh.EINVALID, "%s", msg).WithCause(err)
}
