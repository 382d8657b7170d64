package anthropicwire

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"sort"
	"strconv"

	"github.com/octomesh/octomesh"
)

// object is a JSON object decoded one level deep, for strict field-by-field
// validation with precise error paths.
type object struct {
	path   string
	fields map[string]json.RawMessage
}

// decodeObject decodes raw as a JSON object; what names it in errors.
func decodeObject(raw json.RawMessage, path, what string) (*object, error) {
	if firstByte(raw) != '{' {
		return nil, invalid(path, "%s must be a JSON object", what)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, invalid(path, "%s is not valid JSON", what)
	}
	return &object{path: path, fields: m}, nil
}

// names returns the object's field names in sorted order, so errors are
// deterministic.
func (o *object) names() []string {
	names := make([]string, 0, len(o.fields))
	for k := range o.fields {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// only rejects fields outside allowed, naming the first in sorted order.
func (o *object) only(allowed ...string) error {
	for _, k := range o.names() {
		if !contains(allowed, k) {
			return invalid(o.at(k), "unknown field %q", safeQuote(k))
		}
	}
	return nil
}

// at returns the path of field name.
func (o *object) at(name string) string {
	if o.path == "" {
		return name
	}
	return o.path + "." + name
}

// get returns a field's raw value; a JSON null counts as absent.
func (o *object) get(name string) (json.RawMessage, bool) {
	v, ok := o.fields[name]
	if !ok || isNull(v) {
		return nil, false
	}
	return v, true
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
	var s string
	if firstByte(v) != '"' || json.Unmarshal(v, &s) != nil {
		return "", invalid(o.at(name), "%s must be a string", o.at(name))
	}
	if required && s == "" {
		return "", invalid(o.at(name), "%s must not be empty", o.at(name))
	}
	return s, nil
}

// boolean returns an optional boolean field; nil when absent.
func (o *object) boolean(name string) (*bool, error) {
	v, ok := o.get(name)
	if !ok {
		return nil, nil
	}
	var b bool
	if json.Unmarshal(v, &b) != nil {
		return nil, invalid(o.at(name), "%s must be a boolean", o.at(name))
	}
	return &b, nil
}

// number returns an optional number field within [lo, hi]; nil when absent.
func (o *object) number(name string, lo, hi float64) (*float64, error) {
	v, ok := o.get(name)
	if !ok {
		return nil, nil
	}
	var f float64
	if firstByte(v) == '"' || json.Unmarshal(v, &f) != nil {
		return nil, invalid(o.at(name), "%s must be a number", o.at(name))
	}
	if f < lo || f > hi || math.IsNaN(f) {
		return nil, invalid(o.at(name), "%s must be between %g and %g", o.at(name), lo, hi)
	}
	return &f, nil
}

// integer returns an optional integer field of at least min; nil when absent.
func (o *object) integer(name string, min int) (*int, error) {
	v, ok := o.get(name)
	if !ok {
		return nil, nil
	}
	var n int
	if firstByte(v) == '"' || json.Unmarshal(v, &n) != nil {
		return nil, invalid(o.at(name), "%s must be an integer", o.at(name))
	}
	if n < min {
		return nil, invalid(o.at(name), "%s must be at least %d", o.at(name), min)
	}
	return &n, nil
}

// array returns an optional array field's elements; nil when absent.
func (o *object) array(name string) ([]json.RawMessage, bool, error) {
	v, ok := o.get(name)
	if !ok {
		return nil, false, nil
	}
	var a []json.RawMessage
	if firstByte(v) != '[' || json.Unmarshal(v, &a) != nil {
		return nil, true, invalid(o.at(name), "%s must be an array", o.at(name))
	}
	return a, true, nil
}

// strings returns an optional array-of-strings field.
func (o *object) strings(name string) ([]string, error) {
	v, ok := o.get(name)
	if !ok {
		return nil, nil
	}
	var a []string
	if firstByte(v) != '[' || json.Unmarshal(v, &a) != nil {
		return nil, invalid(o.at(name), "%s must be an array of strings", o.at(name))
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

func isNull(v json.RawMessage) bool {
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
