package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// schema is the subset of JSON Schema the generator understands: types,
// enum/const, object properties (in declaration order) with required and
// additionalProperties, array items/prefixItems with bounds, numeric bounds
// (draft-4 boolean and draft-6+ numeric exclusive bounds), multipleOf,
// string lengths and formats, anyOf/oneOf/allOf, and local $refs. Unknown
// keywords (pattern, if/then/else, dependencies …) are ignored.
type schema struct {
	never       bool // the schema `false`
	types       []string
	enum        []json.RawMessage
	constVal    json.RawMessage
	props       []property
	required    map[string]bool
	addl        *schema // additionalProperties as a schema, when no properties are declared
	items       *schema
	prefixItems []*schema
	minItems    int
	maxItems    int // -1: unbounded
	uniqueItems bool
	minimum     *float64
	maximum     *float64
	exclMin     bool
	exclMax     bool
	multipleOf  float64
	minLength   int
	maxLength   int // -1: unbounded
	format      string
	anyOf       []*schema
	oneOf       []*schema
	allOf       []*schema
	ref         string
}

type property struct {
	name   string
	schema *schema
}

// errSchema marks schemas the generator cannot use.
var errSchema = errors.New("unusable JSON schema")

// parseSchema parses a JSON Schema document. Empty input is the empty
// schema (anything goes).
func parseSchema(raw json.RawMessage) (*schema, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return &schema{maxItems: -1, maxLength: -1}, nil
	}
	return parseNode(raw, 0)
}

const maxSchemaDepth = 64

func parseNode(raw json.RawMessage, depth int) (*schema, error) {
	if depth > maxSchemaDepth {
		return nil, fmt.Errorf("%w: nested too deeply", errSchema)
	}
	s := &schema{maxItems: -1, maxLength: -1}
	raw = bytes.TrimSpace(raw)
	switch string(raw) {
	case "true":
		return s, nil
	case "false":
		s.never = true
		return s, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", errSchema, err)
	}
	sub := func(v json.RawMessage) (*schema, error) { return parseNode(v, depth+1) }
	list := func(v json.RawMessage) ([]*schema, error) {
		var raws []json.RawMessage
		if err := json.Unmarshal(v, &raws); err != nil {
			return nil, fmt.Errorf("%w: %v", errSchema, err)
		}
		out := make([]*schema, 0, len(raws))
		for _, r := range raws {
			c, err := sub(r)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, nil
	}
	var err error
	for k, v := range m {
		switch k {
		case "type":
			var one string
			if json.Unmarshal(v, &one) == nil {
				s.types = []string{one}
			} else if err = json.Unmarshal(v, &s.types); err != nil {
				return nil, fmt.Errorf("%w: type: %v", errSchema, err)
			}
		case "enum":
			if err = json.Unmarshal(v, &s.enum); err != nil {
				return nil, fmt.Errorf("%w: enum: %v", errSchema, err)
			}
			if len(s.enum) == 0 {
				return nil, fmt.Errorf("%w: empty enum", errSchema)
			}
		case "const":
			s.constVal = v
		case "properties":
			if s.props, err = parseProps(v, depth); err != nil {
				return nil, err
			}
		case "required":
			var names []string
			if err = json.Unmarshal(v, &names); err != nil {
				return nil, fmt.Errorf("%w: required: %v", errSchema, err)
			}
			s.required = make(map[string]bool, len(names))
			for _, n := range names {
				s.required[n] = true
			}
		case "additionalProperties":
			if t := bytes.TrimSpace(v); len(t) > 0 && t[0] == '{' {
				if s.addl, err = sub(v); err != nil {
					return nil, err
				}
			}
		case "items":
			if t := bytes.TrimSpace(v); len(t) > 0 && t[0] == '[' { // draft-4 tuple form
				if s.prefixItems, err = list(v); err != nil {
					return nil, err
				}
			} else if s.items, err = sub(v); err != nil {
				return nil, err
			}
		case "prefixItems":
			if s.prefixItems, err = list(v); err != nil {
				return nil, err
			}
		case "anyOf":
			if s.anyOf, err = list(v); err != nil {
				return nil, err
			}
		case "oneOf":
			if s.oneOf, err = list(v); err != nil {
				return nil, err
			}
		case "allOf":
			if s.allOf, err = list(v); err != nil {
				return nil, err
			}
		case "$ref":
			if err = json.Unmarshal(v, &s.ref); err != nil {
				return nil, fmt.Errorf("%w: $ref: %v", errSchema, err)
			}
		case "format":
			json.Unmarshal(v, &s.format)
		case "uniqueItems":
			json.Unmarshal(v, &s.uniqueItems)
		case "minItems":
			json.Unmarshal(v, &s.minItems)
		case "maxItems":
			json.Unmarshal(v, &s.maxItems)
		case "minLength":
			json.Unmarshal(v, &s.minLength)
		case "maxLength":
			json.Unmarshal(v, &s.maxLength)
		case "multipleOf":
			json.Unmarshal(v, &s.multipleOf)
		}
	}
	s.bounds(m)
	return s, nil
}

// bounds sets the effective numeric bounds from the schema's minimum,
// maximum, exclusiveMinimum and exclusiveMaximum, accepting both the
// draft-4 form (boolean exclusive flags) and the draft-6+ form (numeric
// exclusive bounds), and keeping the stricter bound when both are given.
func (s *schema) bounds(m map[string]json.RawMessage) {
	num := func(k string) *float64 {
		var f float64
		if v, ok := m[k]; ok && json.Unmarshal(v, &f) == nil {
			return &f
		}
		return nil
	}
	flag := func(k string) bool {
		var b bool
		return json.Unmarshal(m[k], &b) == nil && b
	}
	s.minimum, s.exclMin = num("minimum"), flag("exclusiveMinimum")
	if x := num("exclusiveMinimum"); x != nil && (s.minimum == nil || *x >= *s.minimum) {
		s.minimum, s.exclMin = x, true
	}
	s.maximum, s.exclMax = num("maximum"), flag("exclusiveMaximum")
	if x := num("exclusiveMaximum"); x != nil && (s.maximum == nil || *x <= *s.maximum) {
		s.maximum, s.exclMax = x, true
	}
}

// parseProps parses a "properties" object, keeping declaration order (a
// real model writes keys in the order the schema lists them).
func parseProps(raw json.RawMessage, depth int) ([]property, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("%w: properties must be an object", errSchema)
	}
	var out []property
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errSchema, err)
		}
		name, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%w: %v", errSchema, err)
		}
		s, err := parseNode(v, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, property{name: name, schema: s})
	}
	return out, nil
}

// resolver resolves local $refs ("#", "#/$defs/x", "#/definitions/x", any
// JSON pointer into the root document), caching parsed targets.
type resolver struct {
	root  json.RawMessage
	cache map[string]*schema
}

func (r *resolver) resolve(ref string) (*schema, error) {
	if s, ok := r.cache[ref]; ok {
		return s, nil
	}
	if ref != "#" && !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("%w: only local $refs are supported", errSchema)
	}
	cur := r.root
	for _, tok := range strings.Split(strings.TrimPrefix(ref, "#"), "/")[1:] {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		var m map[string]json.RawMessage
		if err := json.Unmarshal(cur, &m); err != nil {
			return nil, fmt.Errorf("%w: unresolvable $ref", errSchema)
		}
		next, ok := m[tok]
		if !ok {
			return nil, fmt.Errorf("%w: unresolvable $ref", errSchema)
		}
		cur = next
	}
	s, err := parseSchema(cur)
	if err != nil {
		return nil, err
	}
	if r.cache == nil {
		r.cache = map[string]*schema{}
	}
	r.cache[ref] = s
	return s, nil
}
