package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/octomesh/octomesh"
)

// validate checks the JSON document doc against the JSON Schema schema. It
// is written independently of the generator, for the tests: types, enum,
// const, required, properties, additionalProperties, items/prefixItems,
// array and string bounds, numeric bounds (draft-4 and draft-6+ forms),
// multipleOf, formats, anyOf/oneOf/allOf and local $refs.
func validate(schema json.RawMessage, doc string) error {
	var root any
	if err := json.Unmarshal(schema, &root); err != nil {
		return fmt.Errorf("bad schema: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("not JSON: %v", err)
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return (&validator{root: root}).check(root, v, "$", 0)
}

type validator struct{ root any }

func (vd *validator) check(s, v any, path string, depth int) error {
	if depth > 100 {
		return fmt.Errorf("%s: schema recursion", path)
	}
	switch s := s.(type) {
	case bool:
		if !s {
			return fmt.Errorf("%s: false schema", path)
		}
		return nil
	case map[string]any:
		return vd.checkObj(s, v, path, depth)
	}
	return fmt.Errorf("%s: schema is not an object", path)
}

func (vd *validator) checkObj(s map[string]any, v any, path string, depth int) error {
	if ref, ok := s["$ref"].(string); ok {
		target := vd.root
		for _, tok := range strings.Split(strings.TrimPrefix(ref, "#"), "/")[1:] {
			m, _ := target.(map[string]any)
			target = m[tok]
		}
		if target == nil {
			return fmt.Errorf("%s: unresolvable $ref %s", path, ref)
		}
		return vd.check(target, v, path, depth+1)
	}
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			if err := vd.check(sub, v, path, depth+1); err != nil {
				return err
			}
		}
	}
	if anyOf, ok := s["anyOf"].([]any); ok {
		okOne := false
		for _, sub := range anyOf {
			if vd.check(sub, v, path, depth+1) == nil {
				okOne = true
			}
		}
		if !okOne {
			return fmt.Errorf("%s: matches no anyOf branch", path)
		}
	}
	if oneOf, ok := s["oneOf"].([]any); ok {
		n := 0
		for _, sub := range oneOf {
			if vd.check(sub, v, path, depth+1) == nil {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("%s: matches %d oneOf branches, want exactly 1", path, n)
		}
	}
	if c, ok := s["const"]; ok && !sameJSON(c, v) {
		return fmt.Errorf("%s: %v is not the const %v", path, v, c)
	}
	if enum, ok := s["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			found = found || sameJSON(e, v)
		}
		if !found {
			return fmt.Errorf("%s: %v is not in enum %v", path, v, enum)
		}
	}
	if t, ok := s["type"]; ok {
		var types []string
		switch t := t.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, x := range t {
				types = append(types, x.(string))
			}
		}
		got := jsonType(v)
		match := false
		for _, want := range types {
			match = match || want == got || want == "number" && got == "integer"
		}
		if !match {
			return fmt.Errorf("%s: type %s, want %v", path, got, types)
		}
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if _, ok := v[r.(string)]; !ok {
					return fmt.Errorf("%s: missing required property %q", path, r)
				}
			}
		}
		for k, val := range v {
			if ps, ok := props[k]; ok {
				if err := vd.check(ps, val, path+"."+k, depth+1); err != nil {
					return err
				}
				continue
			}
			if ap, ok := s["additionalProperties"]; ok {
				if err := vd.check(ap, val, path+"."+k, depth+1); err != nil {
					return fmt.Errorf("%s: additional property %q: %w", path, k, err)
				}
			}
		}
	case []any:
		if n, ok := num(s["minItems"]); ok && float64(len(v)) < n {
			return fmt.Errorf("%s: %d items, want at least %v", path, len(v), n)
		}
		if n, ok := num(s["maxItems"]); ok && float64(len(v)) > n {
			return fmt.Errorf("%s: %d items, want at most %v", path, len(v), n)
		}
		prefix, _ := s["prefixItems"].([]any)
		if tuple, ok := s["items"].([]any); ok {
			prefix = tuple
		}
		for i, el := range v {
			p := fmt.Sprintf("%s[%d]", path, i)
			if i < len(prefix) {
				if err := vd.check(prefix[i], el, p, depth+1); err != nil {
					return err
				}
			} else if it, ok := s["items"]; ok && !isList(it) {
				if err := vd.check(it, el, p, depth+1); err != nil {
					return err
				}
			}
		}
		if u, _ := s["uniqueItems"].(bool); u {
			for i := range v {
				for j := range i {
					if sameJSON(v[i], v[j]) {
						return fmt.Errorf("%s: items %d and %d are equal", path, j, i)
					}
				}
			}
		}
	case string:
		n := float64(utf8.RuneCountInString(v))
		if m, ok := num(s["minLength"]); ok && n < m {
			return fmt.Errorf("%s: %q shorter than %v", path, v, m)
		}
		if m, ok := num(s["maxLength"]); ok && n > m {
			return fmt.Errorf("%s: %q longer than %v", path, v, m)
		}
		if f, ok := s["format"].(string); ok {
			if err := checkFormat(f, v); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
	case json.Number:
		x, _ := v.Float64()
		exclMin, _ := s["exclusiveMinimum"].(bool)
		exclMax, _ := s["exclusiveMaximum"].(bool)
		if m, ok := num(s["minimum"]); ok && (x < m || exclMin && x == m) {
			return fmt.Errorf("%s: %v below minimum %v", path, x, m)
		}
		if m, ok := num(s["maximum"]); ok && (x > m || exclMax && x == m) {
			return fmt.Errorf("%s: %v above maximum %v", path, x, m)
		}
		if m, ok := num(s["exclusiveMinimum"]); ok && x <= m {
			return fmt.Errorf("%s: %v not above %v", path, x, m)
		}
		if m, ok := num(s["exclusiveMaximum"]); ok && x >= m {
			return fmt.Errorf("%s: %v not below %v", path, x, m)
		}
		if m, ok := num(s["multipleOf"]); ok {
			if q := x / m; math.Abs(q-math.Round(q)) > 1e-9 {
				return fmt.Errorf("%s: %v is not a multiple of %v", path, x, m)
			}
		}
	}
	return nil
}

func checkFormat(f, v string) error {
	var err error
	switch f {
	case "date":
		_, err = time.Parse("2006-01-02", v)
	case "date-time":
		_, err = time.Parse(time.RFC3339, v)
	case "email":
		if !regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[a-z]+$`).MatchString(v) {
			err = fmt.Errorf("%q is not an email", v)
		}
	case "uuid":
		if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(v) {
			err = fmt.Errorf("%q is not a uuid", v)
		}
	case "uri":
		u, perr := url.Parse(v)
		if perr != nil || u.Scheme == "" || u.Host == "" {
			err = fmt.Errorf("%q is not an absolute URI", v)
		}
	}
	return err
}

func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case json.Number:
		if f, err := v.Float64(); err == nil && f == math.Trunc(f) && !strings.ContainsAny(v.String(), ".eE") {
			return "integer"
		}
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

func num(v any) (float64, bool) {
	f, ok := v.(float64)
	return f, ok
}

func isList(v any) bool { _, ok := v.([]any); return ok }

// sameJSON compares two decoded JSON values, numbers by value.
func sameJSON(a, b any) bool {
	norm := func(v any) any {
		b, _ := json.Marshal(v)
		var out any
		json.Unmarshal(b, &out)
		return out
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

func TestValidatorRejects(t *testing.T) {
	// The validator must be able to fail, or the schema tests prove nothing.
	tests := []struct{ schema, doc string }{
		{`{"type":"object","required":["a"]}`, `{}`},
		{`{"type":"integer"}`, `1.5`},
		{`{"type":"string","enum":["x","y"]}`, `"z"`},
		{`{"properties":{"a":{"type":"object","properties":{"b":{"type":"boolean"}}}}}`, `{"a":{"b":"yes"}}`},
		{`{"type":"array","items":{"type":"string"},"minItems":2}`, `["a"]`},
		{`{"type":"number","exclusiveMinimum":0}`, `0`},
		{`{"type":"number","minimum":0,"exclusiveMinimum":true}`, `0`},
		{`{"type":"object","additionalProperties":false,"properties":{"a":{}}}`, `{"a":1,"b":2}`},
		{`{"oneOf":[{"type":"integer"},{"type":"number"}]}`, `3`},
		{`{"$defs":{"n":{"type":"integer"}},"$ref":"#/$defs/n"}`, `"s"`},
		{`{"type":"string","format":"date"}`, `"yesterday"`},
		{`{"type":"string","maxLength":2}`, `"abc"`},
		{`{"type":"integer","multipleOf":5}`, `12`},
		{`{"type":"array","uniqueItems":true}`, `[1,1]`},
	}
	for _, tt := range tests {
		if err := validate(json.RawMessage(tt.schema), tt.doc); err == nil {
			t.Errorf("validate(%s, %s) = nil, want an error", tt.schema, tt.doc)
		}
	}
}

// schemaTable is exercised both as tool parameters and as json_schema
// response formats.
var schemaTable = []struct{ name, schema string }{
	{"required strings", `{"type":"object","properties":{"city":{"type":"string"},"country":{"type":"string"}},"required":["city"]}`},
	{"numbers", `{"type":"object","properties":{"temp":{"type":"number","minimum":-50,"maximum":60},
		"ratio":{"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1},
		"price":{"type":"number","multipleOf":0.25,"minimum":10,"maximum":20},
		"far":{"type":"number","minimum":1000000}},"required":["temp","ratio","price","far"]}`},
	{"integers", `{"type":"object","properties":{"age":{"type":"integer","minimum":0,"maximum":130},
		"count":{"type":"integer","minimum":1000},"step":{"type":"integer","multipleOf":5,"minimum":1,"maximum":100},
		"neg":{"type":"integer","maximum":-10},"excl":{"type":"integer","exclusiveMinimum":3,"exclusiveMaximum":5},
		"band":{"type":"integer","minimum":500,"maximum":510}},
		"required":["age","count","step","neg","excl","band"]}`},
	{"enums booleans const", `{"type":"object","properties":{"unit":{"type":"string","enum":["celsius","fahrenheit"]},
		"level":{"enum":[1,2,3]},"flag":{"type":"boolean"},"mode":{"const":"fast"},"nothing":{"type":"null"}},
		"required":["unit","level","flag","mode","nothing"]}`},
	{"arrays", `{"type":"object","properties":{"tags":{"type":"array","items":{"type":"string"},"minItems":2,"maxItems":4},
		"points":{"type":"array","items":{"type":"object","properties":{"x":{"type":"number"},"y":{"type":"number"}},"required":["x","y"],"additionalProperties":false},"minItems":1},
		"colors":{"type":"array","items":{"enum":["red","green","blue"]},"uniqueItems":true,"minItems":3,"maxItems":3},
		"pair":{"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],"minItems":2,"maxItems":2}},
		"required":["tags","points","colors","pair"]}`},
	{"nested strict", `{"type":"object","properties":{"user":{"type":"object","properties":{"name":{"type":"string"},
		"email":{"type":"string","format":"email"},"address":{"type":"object","properties":{"street":{"type":"string"},
		"zip":{"type":"string","minLength":5,"maxLength":5}},"required":["street","zip"],"additionalProperties":false}},
		"required":["name","email","address"],"additionalProperties":false},"note":{"type":["string","null"]}},
		"required":["user","note"],"additionalProperties":false}`},
	{"formats", `{"type":"object","properties":{"when":{"type":"string","format":"date"},"at":{"type":"string","format":"date-time"},
		"id":{"type":"string","format":"uuid"},"site":{"type":"string","format":"uri"}},"required":["when","at","id","site"]}`},
	{"recursive refs", `{"type":"object","properties":{"root":{"$ref":"#/$defs/node"}},"required":["root"],
		"$defs":{"node":{"type":"object","properties":{"label":{"type":"string"},"children":{"type":"array","items":{"$ref":"#/$defs/node"}}},
		"required":["label","children"],"additionalProperties":false}}}`},
	{"anyOf oneOf allOf", `{"type":"object","properties":{"value":{"anyOf":[{"type":"string"},{"type":"integer"}]},
		"shape":{"oneOf":[{"type":"object","properties":{"kind":{"const":"circle"},"r":{"type":"number","minimum":0}},"required":["kind","r"]},
		{"type":"object","properties":{"kind":{"const":"square"},"side":{"type":"number","minimum":0}},"required":["kind","side"]}]},
		"merged":{"allOf":[{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]},{"properties":{"b":{"type":"integer"}},"required":["b"]}]},
		"maybe":{"anyOf":[{"type":"null"},{"type":"string","maxLength":4}]}},
		"required":["value","shape","merged","maybe"]}`},
	{"string lengths", `{"type":"object","properties":{"code":{"type":"string","minLength":8,"maxLength":8},
		"short":{"type":"string","maxLength":3},"long":{"type":"string","minLength":40}},"required":["code","short","long"]}`},
	{"draft-4 exclusive bounds", `{"type":"object","properties":{"p":{"type":"number","minimum":0,"maximum":1,"exclusiveMinimum":true,"exclusiveMaximum":true},
		"i":{"type":"integer","minimum":1,"maximum":3,"exclusiveMinimum":true,"exclusiveMaximum":true}},"required":["p","i"]}`},
	{"mixed bounds", `{"type":"object","properties":{"a":{"type":"number","minimum":10,"exclusiveMinimum":5,"maximum":12},
		"b":{"type":"integer","minimum":0,"exclusiveMinimum":7,"exclusiveMaximum":9}},"required":["a","b"]}`},
	{"definitions ref", `{"definitions":{"color":{"type":"string","enum":["r","g"]}},"type":"object",
		"properties":{"c":{"$ref":"#/definitions/color"},"cs":{"type":"array","items":{"$ref":"#/definitions/color"}}},"required":["c","cs"]}`},
	{"map object", `{"type":"object","properties":{"scores":{"type":"object","additionalProperties":{"type":"integer","minimum":0}}},"required":["scores"]}`},
	{"optional only", `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"},"c":{"type":"array","items":{"type":"boolean"}}}}`},
	{"untyped", `{"type":"object","properties":{"anything":{},"obj":{"properties":{"x":{"type":"integer"}},"required":["x"]}},"required":["anything","obj"]}`},
}

func toolReq(model, prompt string, tools ...octomesh.Tool) *octomesh.ChatRequest {
	r := userReq(model, prompt)
	r.Tools = tools
	return r
}

func fnTool(name, desc, params string) octomesh.Tool {
	t := octomesh.Tool{Type: "function", Function: octomesh.FunctionDef{Name: name, Description: desc}}
	if params != "" {
		t.Function.Parameters = json.RawMessage(params)
	}
	return t
}

var (
	weatherTool = fnTool("get_weather", "Get the current weather for a city",
		`{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}`)
	timeTool = fnTool("get_time", "Get the local time in a city",
		`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)
	stockTool = fnTool("get_stock_price", "Look up a stock quote by ticker symbol",
		`{"type":"object","properties":{"ticker":{"type":"string"}},"required":["ticker"]}`)
)

func TestToolArgumentsMatchSchemas(t *testing.T) {
	f := newFleet(t, Options{})
	for _, tt := range schemaTable {
		t.Run(tt.name, func(t *testing.T) {
			if err := validate(json.RawMessage(tt.schema), "{}"); err == nil && strings.Contains(tt.schema, "required") && tt.name != "optional only" {
				t.Fatalf("schema accepts {}: the test would prove little")
			}
			for seed := range int64(25) {
				req := toolReq("gpt-4o", "Please do the thing for Lisbon", fnTool("do_it", "does it", tt.schema))
				req.ToolChoice = &octomesh.ToolChoice{Mode: octomesh.ToolChoiceRequired}
				req.Seed = &seed
				resp := mustChat(t, f, req)
				c := resp.Choices[0]
				if c.FinishReason != octomesh.FinishToolCalls || len(c.Message.ToolCalls) != 1 {
					t.Fatalf("finish %q with %d tool calls, want tool_calls with 1", c.FinishReason, len(c.Message.ToolCalls))
				}
				tc := c.Message.ToolCalls[0]
				if tc.Function.Name != "do_it" || tc.Type != "function" || !strings.HasPrefix(tc.ID, "call_") {
					t.Errorf("tool call = %+v", tc)
				}
				if err := validate(json.RawMessage(tt.schema), tc.Function.Arguments); err != nil {
					t.Fatalf("seed %d: arguments %s invalid: %v", seed, tc.Function.Arguments, err)
				}
			}
		})
	}
}

func TestJSONSchemaResponsesMatchSchemas(t *testing.T) {
	f := newFleet(t, Options{})
	table := append(schemaTable[:len(schemaTable):len(schemaTable)], struct{ name, schema string }{
		"top-level array", `{"type":"array","items":{"type":"object","properties":{"id":{"type":"integer"}},"required":["id"]},"minItems":1}`})
	for _, tt := range table {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range int64(25) {
				req := userReq("gemini-1.5-flash-002", "Extract the details about Lisbon")
				req.ResponseFormat = &octomesh.ResponseFormat{Type: octomesh.FormatJSONSchema,
					JSONSchema: &octomesh.JSONSchema{Name: "out", Schema: json.RawMessage(tt.schema)}}
				req.Seed = &seed
				resp := mustChat(t, f, req)
				if err := validate(json.RawMessage(tt.schema), resp.Choices[0].Message.Content.Text()); err != nil {
					t.Fatalf("seed %d: content %s invalid: %v", seed, resp.Choices[0].Message.Content.Text(), err)
				}
			}
		})
	}
}

func TestSchemaKeyOrder(t *testing.T) {
	// Keys come out in the schema's declaration order, as from a real model.
	schema := `{"type":"object","properties":{"zeta":{"type":"string"},"alpha":{"type":"integer"},"mid":{"type":"boolean"}},"required":["zeta","alpha","mid"]}`
	req := userReq("gpt-4o", "go")
	req.ResponseFormat = &octomesh.ResponseFormat{Type: octomesh.FormatJSONSchema, JSONSchema: &octomesh.JSONSchema{Name: "o", Schema: json.RawMessage(schema)}}
	text := mustChat(t, newFleet(t, Options{}), req).Choices[0].Message.Content.Text()
	if z, a, m := strings.Index(text, `"zeta"`), strings.Index(text, `"alpha"`), strings.Index(text, `"mid"`); !(0 < z && z < a && a < m) {
		t.Errorf("keys out of declaration order in %s", text)
	}
}

func TestJSONObjectResponse(t *testing.T) {
	f := newFleet(t, Options{})
	for _, model := range []string{"gpt-4o", "claude-3-haiku", "mistral-7b-instruct"} {
		req := userReq(model, "Summarise the benefits of cycling to work")
		req.ResponseFormat = &octomesh.ResponseFormat{Type: octomesh.FormatJSONObject}
		text := mustChat(t, f, req).Choices[0].Message.Content.Text()
		var obj map[string]any
		if err := json.Unmarshal([]byte(text), &obj); err != nil || len(obj) == 0 {
			t.Errorf("%s: json_object content %q is not a non-empty JSON object: %v", model, text, err)
		}
	}
}

func TestToolChoiceModes(t *testing.T) {
	f := newFleet(t, Options{})
	prompt := "What's the weather in Paris and the local time in Tokyo?"
	names := func(resp *octomesh.ChatResponse) []string {
		var out []string
		for _, tc := range resp.Choices[0].Message.ToolCalls {
			out = append(out, tc.Function.Name)
		}
		return out
	}
	no := false
	tests := []struct {
		name   string
		edit   func(r *octomesh.ChatRequest)
		want   []string
		finish string
	}{
		{"auto calls the fitting tools in parallel", func(r *octomesh.ChatRequest) {}, []string{"get_weather", "get_time"}, octomesh.FinishToolCalls},
		// The best fit: the prompt shares "time" and "local" with get_time.
		{"parallel_tool_calls false calls the best one", func(r *octomesh.ChatRequest) { r.ParallelToolCalls = &no }, []string{"get_time"}, octomesh.FinishToolCalls},
		{"none answers in text", func(r *octomesh.ChatRequest) { r.ToolChoice = &octomesh.ToolChoice{Mode: octomesh.ToolChoiceNone} }, nil, octomesh.FinishStop},
		{"named function", func(r *octomesh.ChatRequest) {
			r.ToolChoice = &octomesh.ToolChoice{Mode: octomesh.ToolChoiceFunction, Function: "get_stock_price"}
		}, []string{"get_stock_price"}, octomesh.FinishToolCalls},
		{"after a tool result, text", func(r *octomesh.ChatRequest) {
			r.Messages = append(r.Messages,
				octomesh.Message{Role: octomesh.RoleAssistant, ToolCalls: []octomesh.ToolCall{{ID: "call_1", Type: "function", Function: octomesh.FunctionCall{Name: "get_weather", Arguments: `{"city":"Paris"}`}}}},
				octomesh.Message{Role: octomesh.RoleTool, ToolCallID: "call_1", Content: octomesh.TextContent(`{"temp":18}`)})
		}, nil, octomesh.FinishStop},
		{"required after a tool result still calls", func(r *octomesh.ChatRequest) {
			r.ToolChoice = &octomesh.ToolChoice{Mode: octomesh.ToolChoiceRequired}
			r.Messages = append(r.Messages,
				octomesh.Message{Role: octomesh.RoleAssistant, ToolCalls: []octomesh.ToolCall{{ID: "call_1", Type: "function", Function: octomesh.FunctionCall{Name: "get_weather", Arguments: `{}`}}}},
				octomesh.Message{Role: octomesh.RoleTool, ToolCallID: "call_1", Content: octomesh.TextContent(`ok`)})
		}, []string{"get_weather", "get_time"}, octomesh.FinishToolCalls},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := toolReq("gpt-4o-mini", prompt, weatherTool, timeTool, stockTool)
			tt.edit(req)
			resp := mustChat(t, f, req)
			c := resp.Choices[0]
			if got := names(resp); strings.Join(got, ",") != strings.Join(tt.want, ",") || c.FinishReason != tt.finish {
				t.Fatalf("calls %v finish %q, want %v %q", got, c.FinishReason, tt.want, tt.finish)
			}
			if tt.want == nil && c.Message.Content.Text() == "" {
				t.Errorf("no text answer")
			}
			if tt.want != nil && !c.Message.Content.IsNull() {
				t.Errorf("tool-call message has content %q, want null", c.Message.Content.Text())
			}
			for _, tc := range c.Message.ToolCalls {
				var args map[string]any
				if err := json.Unmarshal([]byte(tc.Function.Arguments), &args); err != nil {
					t.Errorf("arguments %q: %v", tc.Function.Arguments, err)
				}
			}
		})
	}
	// After a tool result the answer names the tool it used.
	req := toolReq("gpt-4o-mini", prompt, weatherTool)
	req.Messages = append(req.Messages,
		octomesh.Message{Role: octomesh.RoleAssistant, ToolCalls: []octomesh.ToolCall{{ID: "call_9", Type: "function", Function: octomesh.FunctionCall{Name: "get_weather", Arguments: `{}`}}}},
		octomesh.Message{Role: octomesh.RoleTool, ToolCallID: "call_9", Content: octomesh.TextContent(`sunny`)})
	if text := mustChat(t, f, req).Choices[0].Message.Content.Text(); !strings.Contains(text, "get_weather") {
		t.Errorf("answer after the tool result %q does not mention get_weather", text)
	}
}

func TestToolArgumentsUsePromptPlaces(t *testing.T) {
	req := toolReq("gpt-4o", "What's the weather like in Reykjavik right now?", weatherTool)
	tc := mustChat(t, newFleet(t, Options{}), req).Choices[0].Message.ToolCalls
	if len(tc) != 1 || !strings.Contains(tc[0].Function.Arguments, `"city":"Reykjavik"`) {
		t.Errorf("tool calls %+v, want get_weather with city Reykjavik", tc)
	}
}

func TestToolCallWithoutParameters(t *testing.T) {
	req := toolReq("gpt-4o", "ping the server", fnTool("ping", "Ping the server", ""))
	tc := mustChat(t, newFleet(t, Options{}), req).Choices[0].Message.ToolCalls
	if len(tc) != 1 || tc[0].Function.Arguments != "{}" {
		t.Errorf("tool calls %+v, want one ping with {}", tc)
	}
}

func TestToolCallsHonourMaxTokens(t *testing.T) {
	req := toolReq("gpt-4o", "Please do the thing", fnTool("do_it", "", schemaTable[5].schema))
	req.ToolChoice = &octomesh.ToolChoice{Mode: octomesh.ToolChoiceRequired}
	req.MaxTokens = intp(6)
	resp := mustChat(t, newFleet(t, Options{}), req)
	c := resp.Choices[0]
	if c.FinishReason != octomesh.FinishLength || resp.Usage.CompletionTokens > 6 || len(c.Message.ToolCalls) != 1 {
		t.Fatalf("finish %q tokens %d calls %d, want length, at most 6, 1", c.FinishReason, resp.Usage.CompletionTokens, len(c.Message.ToolCalls))
	}
	if json.Valid([]byte(c.Message.ToolCalls[0].Function.Arguments)) {
		t.Errorf("arguments %q are complete JSON; a 6-token cap should truncate them", c.Message.ToolCalls[0].Function.Arguments)
	}
}

func TestWriteJSONString(t *testing.T) {
	for _, s := range []string{"plain", "quo\"te \\ back", "new\nline\ttab\r", "\x01\x1f ctl", "<html> & ünïcödé"} {
		var b bytes.Buffer
		writeJSONString(&b, s)
		var got string
		if err := json.Unmarshal(b.Bytes(), &got); err != nil || got != s {
			t.Errorf("writeJSONString(%q) = %s (decodes to %q, %v)", s, b.String(), got, err)
		}
	}
}
