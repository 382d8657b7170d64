package fakeupstream

import (
	"sort"
	"strings"
)

// maxSchemaDepth bounds recursion into nested schemas.
const maxSchemaDepth = 8

// exampleValue returns a value valid against the decoded JSON Schema s
// (a subset: type, properties, required, items, enum, const, anyOf, oneOf,
// allOf, minItems). Objects get their required properties only; strings
// are str when it is set, else "example"; nil schemas give an empty object.
func exampleValue(s any, str string, depth int) any {
	m, _ := s.(map[string]any)
	if m == nil || depth > maxSchemaDepth {
		return map[string]any{}
	}
	if v, ok := m["const"]; ok {
		return v
	}
	if e, ok := m["enum"].([]any); ok && len(e) > 0 {
		return e[0]
	}
	for _, k := range []string{"anyOf", "oneOf", "allOf"} {
		if alts, ok := m[k].([]any); ok && len(alts) > 0 {
			return exampleValue(alts[0], str, depth+1)
		}
	}
	typ := schemaType(m)
	switch typ {
	case "string":
		if str != "" {
			return str
		}
		return "example"
	case "integer":
		return 1
	case "number":
		return 1.5
	case "boolean":
		return true
	case "null":
		return nil
	case "array":
		n := 1
		if mi, ok := m["minItems"].(float64); ok && int(mi) > n {
			n = int(mi)
		}
		out := make([]any, n)
		for i := range out {
			out[i] = exampleValue(m["items"], str, depth+1)
		}
		return out
	}
	// An object, or a schema without a type.
	props, _ := m["properties"].(map[string]any)
	out := map[string]any{}
	var required []string
	if req, ok := m["required"].([]any); ok {
		for _, r := range req {
			if name, ok := r.(string); ok {
				required = append(required, name)
			}
		}
	}
	sort.Strings(required)
	for _, name := range required {
		out[name] = exampleValue(props[name], str, depth+1)
	}
	return out
}

// schemaType returns a schema's type: its "type" string, or the first
// non-null entry of a type list, or "object" when properties are given.
func schemaType(m map[string]any) string {
	switch t := m["type"].(type) {
	case string:
		return strings.ToLower(t) // Gemini's OpenAPI schemas say "STRING"
	case []any:
		for _, v := range t {
			if s, ok := v.(string); ok && s != "null" {
				return strings.ToLower(s)
			}
		}
	}
	if _, ok := m["properties"]; ok {
		return "object"
	}
	return ""
}
