package httpapi

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/octomesh/octomesh"
)

// FuzzChatDecode holds the hand-written chat decoder to encoding/json's:
// whenever the fast path takes a body, decodeStrict must accept it too and
// decode the same request; and decodeChat as a whole must give
// decodeStrict's answer, error text included. Whatever the body, a
// rejection (by decoding or Validate) is a 400 invalid_request.
func FuzzChatDecode(f *testing.F) {
	f.Add([]byte(okChat))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}],"tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"tool_choice":"auto","stop":"x","stream":true,"stream_options":{"include_usage":true}}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"tool","content":null}]}`))
	for _, body := range fastBodies {
		f.Add([]byte(body))
	}
	g := &chatGen{rng: rand.New(rand.NewPCG(3, 4))}
	for range 100 {
		f.Add(g.request())
	}
	for _, body := range []string{
		`null`, `{"model":"m","model":"n"}`, `{"ſtream":true}`, `{"mod\u0065l":"m"}`, `{"bogus":1}`,
		`{"messages":[{"role":"user","content":5}]}`, `{"messages":[{"content":{"a":1}}]}`,
		`{"tool_choice":"bogus"}`, `{"tool_choice":{"type":"function","function":{"name":""}}}`, `{"tool_choice":[1]}`,
		`{"stop":[1,2]}`, `{"stop":{}}`, `{"max_tokens":1.5}`, `{"max_tokens":1e3}`, `{"max_tokens":99999999999999999999}`,
		`{"temperature":1e999}`, `{"temperature":"0.5"}`, `{"stream":"yes"}`, `{"metadata":{"a":1}}`,
		`{"model":"m"} x`, `{"model":"m"}}`, `{"model":"\ud800"}`, `{"model":"\u00"}`, "{\"model\":\"\x01\"}",
		`{"messages":[{"role":"user","content":[{"type":"text","text":"a","text":"b"}]}]}`,
		`{"octomesh":{"weights":{"quality":1,"bogus":2}}}`, `{"response_format":{"type":"json_schema","json_schema":{"schema":{"a":[}}}}`,
		`{"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"},"extra":true}}]}`,
	} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var want octomesh.ChatRequest
		wantErr := decodeStrict(body, &want)

		var fast octomesh.ChatRequest
		if decodeChatFast(body, &fast) {
			if wantErr != nil {
				t.Fatalf("fast path took a body encoding/json rejects (%v): %q", wantErr, body)
			}
			if !reflect.DeepEqual(fast, want) {
				t.Fatalf("%q:\nfast %+v\nwant %+v", body, fast, want)
			}
		}

		a := new(chatAlloc) // with a room, as handleChat decodes
		if decodeChatIn(body, &a.req, &a.room) == nil && wantErr == nil && !reflect.DeepEqual(a.req, want) {
			t.Fatalf("%q: with a room:\ngot  %+v\nwant %+v", body, a.req, want)
		}

		var got octomesh.ChatRequest
		gotErr := decodeChat(body, &got)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || octomesh.ErrorCodeOf(gotErr) != octomesh.ErrorCodeOf(wantErr) {
			t.Fatalf("%q:\nerr = %v\nwant %v", body, gotErr, wantErr)
		}
		if gotErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\ngot  %+v\nwant %+v", body, got, want)
		}

		if gotErr == nil {
			gotErr = got.Validate()
		}
		if gotErr != nil {
			if octomesh.ErrorCodeOf(gotErr) != octomesh.EINVALID {
				t.Fatalf("decode error %v has code %q, want invalid_request", gotErr, octomesh.ErrorCodeOf(gotErr))
			}
			if StatusOf(gotErr) != http.StatusBadRequest {
				t.Fatalf("status %d", StatusOf(gotErr))
			}
		}
	})
}

// TestDecodeChatRandom compares the decoders on generated requests: valid
// shapes with random key case, spacing, escapes, nulls, repeated and
// unknown keys and values of the wrong type. Random bytes (the fuzzer's)
// rarely reach deep into a request; these do.
func TestDecodeChatRandom(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 2000
	}
	g := &chatGen{rng: rand.New(rand.NewPCG(1, 2))}
	fast, accepted := 0, 0
	for range n {
		body := g.request()
		var req octomesh.ChatRequest
		if decodeChatFast(body, &req) {
			fast++
		}
		if _, err := decodeBoth(t, string(body)); err == nil {
			accepted++
		}
	}
	t.Logf("%d bodies: %d accepted, %d by the fast path", n, accepted, fast)
	if fast < n/10 {
		t.Errorf("the fast path took only %d of %d bodies", fast, n)
	}
}

// chatGen generates chat request bodies for TestDecodeChatRandom and the
// fuzz seeds.
type chatGen struct {
	rng *rand.Rand
	b   []byte
}

type genField struct {
	name string
	val  func()
}

func (g *chatGen) chance(p float64) bool { return g.rng.Float64() < p }

func (g *chatGen) pick(s ...string) string { return s[g.rng.IntN(len(s))] }

func (g *chatGen) ws() {
	if g.chance(0.05) {
		g.b = append(g.b, g.pick(" ", "\n", "\t ", "\r\n  ")...)
	}
}

func (g *chatGen) request() []byte {
	g.b = g.b[:0]
	g.ws()
	g.object(g.requestFields())
	g.ws()
	if g.chance(0.01) {
		g.b = append(g.b, g.pick("x", "}", "{}", " null", "]")...)
	}
	return bytes.Clone(g.b)
}

func (g *chatGen) requestFields() []genField {
	raw := func() { g.raw(3) }
	return []genField{
		{"model", g.text}, {"messages", func() { g.array(g.message) }}, {"tools", func() { g.array(g.tool) }},
		{"tool_choice", g.toolChoice}, {"parallel_tool_calls", g.bool}, {"response_format", g.responseFormat},
		{"max_tokens", g.int}, {"max_completion_tokens", g.int}, {"temperature", g.float}, {"top_p", g.float},
		{"stop", g.stop}, {"seed", g.int}, {"n", g.int}, {"presence_penalty", g.float}, {"frequency_penalty", g.float},
		{"user", g.text}, {"metadata", g.metadata}, {"stream", g.bool},
		{"stream_options", func() { g.object([]genField{{"include_usage", g.bool}, {"include_obfuscation", g.bool}}) }},
		{"octomesh", g.routeOptions},
		{"logprobs", raw}, {"top_logprobs", raw}, {"logit_bias", raw}, {"reasoning_effort", raw}, {"service_tier", raw},
		{"store", raw}, {"modalities", raw}, {"audio", raw}, {"prediction", raw}, {"verbosity", raw},
		{"web_search_options", raw}, {"prompt_cache_key", raw}, {"safety_identifier", raw},
	}
}

func (g *chatGen) message() {
	g.object([]genField{{"role", g.name}, {"content", g.content}, {"name", g.text},
		{"tool_calls", func() { g.array(g.toolCall) }}, {"tool_call_id", g.text}, {"refusal", g.text}})
}

func (g *chatGen) content() {
	if g.chance(0.5) {
		g.text()
		return
	}
	g.array(func() {
		g.object([]genField{{"type", g.name}, {"text", g.text}, {"image_url", func() {
			g.object([]genField{{"url", g.text}, {"detail", g.name}})
		}}})
	})
}

func (g *chatGen) toolCall() {
	g.object([]genField{{"index", g.int}, {"id", g.text}, {"type", g.name},
		{"function", func() { g.object([]genField{{"name", g.text}, {"arguments", g.text}}) }}})
}

func (g *chatGen) tool() {
	g.object([]genField{{"type", g.name}, {"function", func() {
		g.object([]genField{{"name", g.text}, {"description", g.text}, {"parameters", func() { g.raw(4) }}, {"strict", g.bool}})
	}}})
}

func (g *chatGen) toolChoice() {
	if g.chance(0.6) {
		g.b = append(g.b, g.pick(`"auto"`, `"none"`, `"required"`, `"\u0061uto"`, `"function"`, `"AUTO"`)...)
		return
	}
	g.object([]genField{{"type", func() { g.b = append(g.b, g.pick(`"function"`, `"function"`, `"other"`)...) }},
		{"function", func() { g.object([]genField{{"name", g.text}}) }}})
}

func (g *chatGen) responseFormat() {
	g.object([]genField{{"type", g.name}, {"json_schema", func() {
		g.object([]genField{{"name", g.text}, {"description", g.text}, {"schema", func() { g.raw(4) }}, {"strict", g.bool}})
	}}})
}

func (g *chatGen) routeOptions() {
	g.object([]genField{{"objective", g.name}, {"weights", func() {
		g.object([]genField{{"quality", g.float}, {"cost", g.float}, {"latency", g.float}})
	}}, {"quality_floor", g.float}, {"tradeoff", g.float}, {"max_cost_usd", g.text}, {"zero_retention", g.bool},
		{"no_training", g.bool}, {"regions", func() { g.array(g.text) }}, {"fallbacks", func() { g.array(g.text) }},
		{"hedge", g.bool}, {"timeout_ms", g.int}})
}

func (g *chatGen) stop() {
	if g.chance(0.5) {
		g.text()
		return
	}
	g.array(g.text)
}

func (g *chatGen) metadata() {
	fields := make([]genField, g.rng.IntN(4))
	for i := range fields {
		fields[i] = genField{g.pick("a", "b", "A", `\u00e9`, "key", "é"), g.text}
	}
	g.object(fields)
}

// object writes an object with a random selection of fields in random
// order, and now and then a repeated, unknown or oddly spelt key.
func (g *chatGen) object(fields []genField) {
	if g.value() {
		return
	}
	g.b = append(g.b, '{')
	first := true
	for _, i := range g.rng.Perm(len(fields)) {
		if !g.chance(0.5) && len(fields) > 3 {
			continue
		}
		f := fields[i]
		reps := 1
		if g.chance(0.005) {
			reps = 2
		}
		for range reps {
			if !first {
				g.b = append(g.b, ',')
			}
			first = false
			g.ws()
			g.key(f.name)
			g.b = append(g.b, ':')
			g.ws()
			f.val()
			g.ws()
		}
	}
	if g.chance(0.005) {
		if !first {
			g.b = append(g.b, ',')
		}
		g.b = append(g.b, `"extra":1`...)
	}
	g.b = append(g.b, '}')
}

func (g *chatGen) key(name string) {
	k := []byte(name)
	switch {
	case g.chance(0.1):
		for i, c := range k {
			if 'a' <= c && c <= 'z' && g.chance(0.5) {
				k[i] = c - 'a' + 'A'
			}
		}
	case g.chance(0.003):
		k = []byte(strings.Replace(name, "s", "ſ", 1))
	case g.chance(0.003) && len(k) > 0:
		k = fmt.Appendf(nil, `\u%04x%s`, k[0], k[1:])
	}
	g.b = append(g.b, '"')
	g.b = append(g.b, k...)
	g.b = append(g.b, '"')
}

// value writes, now and then, null or a value of a random type in place
// of the expected one, and reports whether it did.
func (g *chatGen) value() bool {
	switch {
	case g.chance(0.05):
		g.b = append(g.b, "null"...)
	case g.chance(0.003):
		g.raw(2)
	default:
		return false
	}
	return true
}

func (g *chatGen) array(elem func()) {
	if g.value() {
		return
	}
	g.b = append(g.b, '[')
	for i := range g.rng.IntN(4) {
		if i > 0 {
			g.b = append(g.b, ',')
		}
		g.ws()
		elem()
	}
	g.b = append(g.b, ']')
}

func (g *chatGen) text() {
	if g.value() {
		return
	}
	g.b = append(g.b, '"')
	for range g.rng.IntN(6) {
		g.b = append(g.b, g.pick("hello", " ", "é", "😀", `\"`, `\\`, `\/`, `\n`, `\t`, `\b\f\r`, `\u00e9`, `\u2614`,
			`\ud83d\ude00`, `\ud800`, `\udc00`, `\uDBFF\uDFFF`, "\xff", "\xed\xa0\x80", "\xc3", "{}", `\u0000`)...)
	}
	if g.chance(0.002) {
		g.b = append(g.b, g.pick("\x01", `\x`, `\u12`, `\'`)...)
	}
	g.b = append(g.b, '"')
}

func (g *chatGen) name() {
	if g.value() {
		return
	}
	g.b = append(g.b, g.pick(`"user"`, `"system"`, `"assistant"`, `"tool"`, `"developer"`, `"text"`, `"image_url"`,
		`"function"`, `"json_schema"`, `"json_object"`, `"auto"`, `"low"`, `"high"`, `"cheapest"`, `"other"`, `"us\u0065r"`)...)
}

func (g *chatGen) int() {
	if g.value() {
		return
	}
	if g.chance(0.01) {
		g.b = append(g.b, g.pick("9223372036854775808", "-9223372036854775809", "1.0", "1e3", "1.5", "01", "-", `"1"`)...)
		return
	}
	g.b = append(g.b, g.pick("0", "1", "-0", "512", "-7", "9223372036854775807", "-9223372036854775808", "2147483648")...)
}

func (g *chatGen) float() {
	if g.value() {
		return
	}
	if g.chance(0.01) {
		g.b = append(g.b, g.pick("1e400", "1.", ".5", "+1", "1e", "NaN", `"1"`)...)
		return
	}
	g.b = append(g.b, g.pick("0", "0.2", "1", "-0", "1e-400", "1.5e2", "-2E-1", "3.14159265358979323846", "0.1e+1")...)
}

func (g *chatGen) bool() {
	if g.value() {
		return
	}
	if g.chance(0.01) {
		g.b = append(g.b, g.pick("tru", "0", `"true"`)...)
		return
	}
	g.b = append(g.b, g.pick("true", "false")...)
}

// raw writes any JSON value up to depth levels deep.
func (g *chatGen) raw(depth int) {
	switch k := g.rng.IntN(7); {
	case k == 0 && depth > 0:
		g.b = append(g.b, '{')
		for i := range g.rng.IntN(3) {
			if i > 0 {
				g.b = append(g.b, ',')
			}
			g.ws()
			g.key(g.pick("type", "a", "properties", ""))
			g.b = append(g.b, ':')
			g.raw(depth - 1)
		}
		g.b = append(g.b, '}')
	case k == 1 && depth > 0:
		g.b = append(g.b, '[')
		for i := range g.rng.IntN(3) {
			if i > 0 {
				g.b = append(g.b, ", "...)
			}
			g.raw(depth - 1)
		}
		g.b = append(g.b, ']')
	case k == 2:
		g.text()
	case k == 3:
		g.float()
	case k == 4:
		g.bool()
	default:
		g.b = append(g.b, g.pick("null", "true", "1", `"s"`, "[]", "{}")...)
	}
}
