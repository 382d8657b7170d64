package httpapi

import (
	"encoding/json"

	"github.com/octomesh/octomesh"
)

// The fast chat decoder's values: strings, numbers, booleans, the pointers
// to them, string lists and maps, and raw JSON. Each follows encoding/json
// on null: a pointer, slice or map becomes nil, anything else is left as
// it is.

// stop reads Stop as its UnmarshalJSON does: null, a string, or an array
// of strings.
func (r *jsonReader) stop(dst *octomesh.Stop) bool {
	r.ws()
	switch r.peek() {
	case 'n':
		*dst = nil
		return r.literal("null")
	case '"':
		b, ok := r.str()
		*dst = octomesh.Stop{string(b)}
		return ok
	case '[':
		var s []string
		ok := r.strings(&s)
		*dst = s
		return ok
	}
	return false
}

// stringMap reads a map[string]string; null values are stored as "", as
// encoding/json stores them.
func (r *jsonReader) stringMap(dst *map[string]string) bool {
	if r.null() {
		*dst = nil
		return true
	}
	empty, ok := r.openObject()
	if !ok {
		return false
	}
	m := make(map[string]string)
	*dst = m
	for more := !empty; more; {
		kb, ok := r.str()
		if !ok {
			return false
		}
		k := string(kb)
		if !r.consume(':') {
			return false
		}
		var v string
		if !readText(r, &v) {
			return false
		}
		m[k] = v
		if more, ok = r.next('}'); !ok {
			return false
		}
	}
	return true
}

// strings reads a []string (null elements are "").
func (r *jsonReader) strings(dst *[]string) bool {
	if r.null() {
		*dst = nil
		return true
	}
	empty, ok := r.openArray()
	if !ok {
		return false
	}
	var scratch [8]string
	list := scratch[:0]
	for more := !empty; more; {
		list = append(list, "")
		if !readText(r, &list[len(list)-1]) {
			return false
		}
		if more, ok = r.next(']'); !ok {
			return false
		}
	}
	*dst = append(make([]string, 0, len(list)), list...)
	return true
}

// readText reads a string into *dst, copied; null leaves *dst alone.
func readText[S ~string](r *jsonReader, dst *S) bool {
	if r.null() {
		return true
	}
	b, ok := r.str()
	*dst = S(b)
	return ok
}

// readDeferred is readText into a string that stays put, deferred to the
// flush of the texts when they have room (see jsonReader.deferText).
func (r *jsonReader) readDeferred(dst *string) bool {
	if r.null() {
		return true
	}
	b, ok := r.str()
	if ok && !r.deferText(dst, b) {
		*dst = string(b)
	}
	return ok
}

// readName is readText for fields whose values come from a short list
// (roles, types), which it returns without allocating.
func readName[S ~string](r *jsonReader, dst *S) bool {
	if r.null() {
		return true
	}
	b, ok := r.str()
	*dst = S(intern(b))
	return ok
}

// intern returns b as a string, without allocating for the values that
// recur in requests.
func intern(b []byte) string {
	switch string(b) {
	case "system":
		return "system"
	case "developer":
		return "developer"
	case "user":
		return "user"
	case "assistant":
		return "assistant"
	case "tool":
		return "tool"
	case "text":
		return "text"
	case "image_url":
		return "image_url"
	case "function":
		return "function"
	case "json_object":
		return "json_object"
	case "json_schema":
		return "json_schema"
	case "auto":
		return "auto"
	case "low":
		return "low"
	case "high":
		return "high"
	case "cheapest":
		return "cheapest"
	case "fastest":
		return "fastest"
	case "quality":
		return "quality"
	case "weighted":
		return "weighted"
	}
	return string(b)
}

func (r *jsonReader) bool() (v, ok bool) {
	r.ws()
	switch r.peek() {
	case 't':
		return true, r.literal("true")
	case 'f':
		return false, r.literal("false")
	}
	return false, false
}

// boolInto reads a bool; null leaves *dst alone.
func (r *jsonReader) boolInto(dst *bool) bool {
	if r.null() {
		return true
	}
	v, ok := r.bool()
	*dst = v
	return ok
}

// boolPtr reads a *bool; null sets nil.
func (r *jsonReader) boolPtr(dst **bool) bool {
	if r.null() {
		*dst = nil
		return true
	}
	v, ok := r.bool()
	*dst = &v
	return ok
}

// intInto reads an int; null leaves *dst alone.
func (r *jsonReader) intInto(dst *int) bool {
	if r.null() {
		return true
	}
	n, ok := r.int64()
	*dst = int(n)
	return ok && int64(int(n)) == n
}

// intPtr reads an *int; null sets nil.
func (r *jsonReader) intPtr(dst **int) bool {
	if r.null() {
		*dst = nil
		return true
	}
	n, ok := r.int64()
	if room := r.room; room != nil && room.nints < len(room.ints) {
		*dst = &room.ints[room.nints]
		room.nints++
	} else {
		*dst = new(int)
	}
	**dst = int(n)
	return ok && int64(**dst) == n
}

// int64Ptr reads an *int64; null sets nil.
func (r *jsonReader) int64Ptr(dst **int64) bool {
	if r.null() {
		*dst = nil
		return true
	}
	n, ok := r.int64()
	*dst = &n
	return ok
}

// floatInto reads a float64; null leaves *dst alone.
func (r *jsonReader) floatInto(dst *float64) bool {
	if r.null() {
		return true
	}
	v, ok := r.float64()
	*dst = v
	return ok
}

// floatPtr reads a *float64; null sets nil.
func (r *jsonReader) floatPtr(dst **float64) bool {
	if r.null() {
		*dst = nil
		return true
	}
	v, ok := r.float64()
	if room := r.room; room != nil && room.nfloats < len(room.floats) {
		*dst = &room.floats[room.nfloats]
		room.nfloats++
	} else {
		*dst = new(float64)
	}
	**dst = v
	return ok
}

// rawInto keeps any value's bytes, null included.
func (r *jsonReader) rawInto(dst *json.RawMessage) bool {
	v, ok := r.raw()
	*dst = v
	return ok
}
