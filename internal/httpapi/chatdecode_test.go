package httpapi

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/octomesh/octomesh"
)

// benchChatBody1K is a realistic ~1 KB agent turn: a system prompt, a user
// question, an assistant tool call and its result, one tool with a JSON
// Schema, sampling options and streaming with usage.
const benchChatBody1K = `{"model":"openai/gpt-4o-mini","messages":[` +
	`{"role":"system","content":"You are a helpful travel assistant. Use the tools when the user asks about the weather, and answer in at most three sentences."},` +
	`{"role":"user","content":"What's the weather like in Lisbon today? I'm deciding whether to pack an umbrella \u2614."},` +
	`{"role":"assistant","content":null,"tool_calls":[{"id":"call_8f2a1c","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Lisbon\",\"unit\":\"celsius\"}"}}]},` +
	`{"role":"tool","tool_call_id":"call_8f2a1c","content":"{\"temperature\":19,\"condition\":\"light rain\",\"precipitation_mm\":2.4}"},` +
	`{"role":"user","content":[{"type":"text","text":"And tomorrow morning?"}]}],` +
	`"tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather and forecast for a city.",` +
	`"parameters":{"type":"object","properties":{"city":{"type":"string","description":"City name"},"unit":{"type":"string","enum":["celsius","fahrenheit"]},"day":{"type":"string"}},"required":["city"]}}}],` +
	`"tool_choice":"auto","temperature":0.3,"max_tokens":512,"user":"user-4711","stream":true,"stream_options":{"include_usage":true}}`

// fastBodies are requests as clients send them: each must take the fast
// path and decode as encoding/json decodes it.
var fastBodies = []string{
	benchChatBody,
	benchChatBody1K,
	`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
	` {"model":"m","messages":[]} ` + "\n\t\r",
	`{"MODEL":"m","Messages":[{"ROLE":"user","Content":"hi","NAME":"bob"}],"Stream":true,"Max_Tokens":5}`,
	`{"model":null,"messages":null,"stream":null,"user":null,"tools":null,"tool_choice":null,"stop":null,"metadata":null,"max_tokens":null,"temperature":null,"stream_options":null,"octomesh":null,"response_format":null,"logprobs":null}`,
	`{"model":"m","messages":[null,{"role":"user","content":null},{"role":"user","content":""},{"role":"user","content":[]},{"role":null}]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"low","extra":[1,{"a":null}]}},null,{"type":"text","cache_control":{"type":"ephemeral"}},{"TYPE":"text","Text":"x","image_url":null}]}]}`,
	`{"model":"m","messages":[{"role":"user","content":"escapes: \"\\\/\b\f\n\r\t \u00e9 \ud83d\ude00 \ud800 \udc00x \ud800\u0041 é 😀"}]}`,
	"{\"model\":\"bad utf-8: \xff\xfe \xed\xa0\x80 \xc3\",\"messages\":[]}",
	`{"model":"m","messages":[],"tool_choice":"none"}`,
	`{"model":"m","messages":[],"tool_choice":"required"}`,
	`{"model":"m","messages":[],"tool_choice":"\u0061uto"}`,
	`{"model":"m","messages":[],"tool_choice":{"type":"function","function":{"name":"f","x":1},"y":[true]}}`,
	`{"model":"m","messages":[],"tool_choice":{"Type":"function","FUNCTION":{"NAME":"f"}}}`,
	`{"model":"m","messages":[],"stop":"END"}`,
	`{"model":"m","messages":[],"stop":["a","b",null]}`,
	`{"model":"m","messages":[],"stop":[]}`,
	`{"model":"m","messages":[],"metadata":{"a":"1","b":null,"a":"2","\u00e9":"x"}}`,
	`{"model":"m","messages":[],"metadata":{}}`,
	`{"model":"m","messages":[],"max_tokens":9223372036854775807,"seed":-9223372036854775808,"n":-0,"max_completion_tokens":0}`,
	`{"model":"m","messages":[],"temperature":1e-400,"top_p":-0,"presence_penalty":1.5e2,"frequency_penalty":-2E-1}`,
	`{"model":"m","messages":[],"parallel_tool_calls":false,"stream_options":{"include_usage":false,"include_obfuscation":true}}`,
	`{"model":"m","messages":[],"response_format":{"type":"json_schema","json_schema":{"name":"s","description":"d","schema":{"type":"object","properties":{}},"strict":true}}}`,
	`{"model":"m","messages":[],"response_format":{"type":"json_object","json_schema":null}}`,
	`{"model":"m","messages":[],"response_format":{"type":"json_schema","json_schema":{"name":"s","schema":null}}}`,
	`{"model":"m","messages":[],"octomesh":{"objective":"cheapest","weights":{"quality":0.5,"cost":0.3,"latency":null},"quality_floor":0.8,"tradeoff":0.2,"max_cost_usd":"0.01","zero_retention":true,"no_training":true,"regions":["eu","us"],"fallbacks":[],"hedge":false,"timeout_ms":3000}}`,
	`{"model":"m","messages":[],"logprobs":true,"top_logprobs":3,"logit_bias":{"50256": -100},"reasoning_effort":"low","service_tier":"auto","store":false,"modalities":["text"],"audio":null,"prediction":{"type":"content","content":"x"},"verbosity":"low","web_search_options":{},"prompt_cache_key":"k","safety_identifier":"s"}`,
	`{"model":"m","messages":[{"role":"assistant","tool_calls":[{"index":0,"id":"c","type":"function","function":{"name":"f","arguments":"{}"}},null,{"function":null}],"refusal":"no"},{"role":"tool","tool_call_id":"c","content":"ok"}]}`,
	`{"model":"m","messages":[],"tools":[{"type":"function","function":{"name":"f","parameters":  [1, {"deep": [[[]]]}]  ,"strict":null}},null,{"function":null}]}`,
	// Escaped strings past the reader's small buffer, a shorter one
	// reusing the larger buffer, and invalid UTF-8 growing past it.
	`{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat(`line of text\n\"quoted\" \u00e9 `, 40) + `"},` +
		`{"role":"user","content":"` + strings.Repeat(`short\n`, 50) + `"},` +
		`{"role":"user","content":"` + strings.Repeat(`\t`+"\xff\xfe", 200) + `"}]}`,
}

// decodeBoth decodes body with decodeChat and with decodeStrict and fails
// unless both agree on the error (text and code) and the result.
func decodeBoth(t *testing.T, body string) (req *octomesh.ChatRequest, err error) {
	t.Helper()
	var got, want octomesh.ChatRequest
	gotErr := decodeChat([]byte(body), &got)
	wantErr := decodeStrict([]byte(body), &want)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || octomesh.ErrorCodeOf(gotErr) != octomesh.ErrorCodeOf(wantErr) {
		t.Fatalf("%s:\nerr = %v\nwant %v", clip(body, 200), gotErr, wantErr)
	}
	if gotErr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\ngot  %+v\nwant %+v", clip(body, 200), got, want)
	}
	// With a room given (handleChat's way), the same.
	a := new(chatAlloc)
	roomErr := decodeChatIn([]byte(body), &a.req, &a.room)
	if fmt.Sprint(roomErr) != fmt.Sprint(wantErr) || roomErr == nil && !reflect.DeepEqual(a.req, want) {
		t.Fatalf("%s: with a room:\ngot  %+v, %v\nwant %+v, %v", clip(body, 200), a.req, roomErr, want, wantErr)
	}
	return &got, gotErr
}

func TestDecodeChatFastPath(t *testing.T) {
	for _, body := range fastBodies {
		var fast octomesh.ChatRequest
		if !decodeChatFast([]byte(body), &fast) {
			t.Errorf("fast path gave up on %s", body)
			continue
		}
		var want octomesh.ChatRequest
		if err := decodeStrict([]byte(body), &want); err != nil {
			t.Fatalf("%s: encoding/json rejects it: %v", body, err)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", body, fast, want)
		}
	}
}

// TestDecodeChatSemantics pins encoding/json's behaviours that a
// hand-written decoder gets wrong most easily, each with the value it
// must produce, and checks both decoders against it.
func TestDecodeChatSemantics(t *testing.T) {
	intp := func(n int) *int { return &n }
	tests := []struct {
		name  string
		body  string
		check func(*octomesh.ChatRequest) bool
	}{
		{"keys match case-insensitively", `{"MoDeL":"m","STREAM":true}`,
			func(r *octomesh.ChatRequest) bool { return r.Model == "m" && r.Stream }},
		{"keys fold Unicode (long s)", `{"ſtream":true,"model":"m"}`,
			func(r *octomesh.ChatRequest) bool { return r.Stream }},
		{"escaped key", `{"mod\u0065l":"m"}`,
			func(r *octomesh.ChatRequest) bool { return r.Model == "m" }},
		{"repeated key: the last wins", `{"model":"a","Model":"b"}`,
			func(r *octomesh.ChatRequest) bool { return r.Model == "b" }},
		{"repeated array merges into the first's elements",
			`{"messages":[{"role":"user","name":"n"},{"role":"b"},{"role":"c"}],"messages":[{"role":"x"}],"messages":[{},{},{}]}`,
			func(r *octomesh.ChatRequest) bool {
				return len(r.Messages) == 3 && r.Messages[0].Name == "n" && r.Messages[0].Role == "x" && r.Messages[1].Role == "b"
			}},
		{"repeated object merges", `{"stream_options":{"include_usage":true},"stream_options":{"include_obfuscation":false}}`,
			func(r *octomesh.ChatRequest) bool {
				return r.StreamOptions.IncludeUsage && r.StreamOptions.IncludeObfuscation != nil
			}},
		{"null leaves a value field alone", `{"model":"m","model":null}`,
			func(r *octomesh.ChatRequest) bool { return r.Model == "m" }},
		{"null clears a pointer", `{"max_tokens":5,"max_tokens":null}`,
			func(r *octomesh.ChatRequest) bool { return r.MaxTokens == nil }},
		{"null content is absent", `{"messages":[{"content":null}]}`,
			func(r *octomesh.ChatRequest) bool { return r.Messages[0].Content.IsNull() }},
		{"null raw field is kept as null", `{"logprobs":null}`,
			func(r *octomesh.ChatRequest) bool { return string(r.Logprobs) == "null" }},
		{"raw field keeps inner spacing, not outer", `{"logit_bias": { "1" : 2 } }`,
			func(r *octomesh.ChatRequest) bool { return string(r.LogitBias) == `{ "1" : 2 }` }},
		{"empty array is not nil", `{"messages":[],"stop":[]}`,
			func(r *octomesh.ChatRequest) bool { return r.Messages != nil && r.Stop != nil }},
		{"null metadata value is stored as empty", `{"metadata":{"a":null}}`,
			func(r *octomesh.ChatRequest) bool { v, ok := r.Metadata["a"]; return ok && v == "" }},
		{"surrogate pair", `{"model":"\ud83d\ude00"}`,
			func(r *octomesh.ChatRequest) bool { return r.Model == "😀" }},
		{"lone surrogates become U+FFFD", `{"model":"\ud800\u0041\udc00"}`,
			func(r *octomesh.ChatRequest) bool { return r.Model == "\uFFFDA\uFFFD" }},
		{"invalid UTF-8 becomes U+FFFD", "{\"model\":\"a\xffb\"}",
			func(r *octomesh.ChatRequest) bool { return r.Model == "a\uFFFDb" }},
		{"-0 is an integer", `{"n":-0}`,
			func(r *octomesh.ChatRequest) bool { return reflect.DeepEqual(r.N, intp(0)) }},
		{"underflow is zero", `{"temperature":1e-400}`,
			func(r *octomesh.ChatRequest) bool { return *r.Temperature == 0 }},
		{"null body is an empty request", " null ",
			func(r *octomesh.ChatRequest) bool { return reflect.DeepEqual(*r, octomesh.ChatRequest{}) }},
		{"unknown fields in content parts are ignored", `{"messages":[{"content":[{"type":"text","text":"t","extra":1}]}]}`,
			func(r *octomesh.ChatRequest) bool { return r.Messages[0].Content.Text() == "t" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := decodeBoth(t, tt.body)
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if !tt.check(req) {
				t.Errorf("got %+v", req)
			}
		})
	}
}

// TestDecodeChatRejects checks inputs both decoders must reject with the
// same EINVALID error.
func TestDecodeChatRejects(t *testing.T) {
	deep := strings.Repeat("[", 10001) + strings.Repeat("]", 10001)
	bodies := []string{
		``, ` `, `[]`, `"x"`, `1`, `true`, `{`, `{"model":"m"`, `{"model":"m"}x`, `{"model":"m"} {}`, `{"model":"m"}}`, `{}]`,
		`{"bogus":1}`, `{"messages":[{"role":"user","bogus":1}]}`, `{"octomesh":{"bogus":1}}`, `{"stream_options":{"x":1}}`,
		`{"model":5}`, `{"model":"m","messages":{}}`, `{"stream":"true"}`, `{"max_tokens":1.0}`, `{"max_tokens":1e3}`,
		`{"max_tokens":1.5}`, `{"max_tokens":9223372036854775808}`, `{"seed":-9223372036854775809}`, `{"n":"1"}`,
		`{"temperature":1e400}`, `{"temperature":01}`, `{"temperature":-}`, `{"temperature":1.}`, `{"temperature":.5}`,
		`{"temperature":+1}`, `{"temperature":1e}`, `{"temperature":NaN}`, `{"stream":tru}`, `{"stream":nul}`,
		`{"model":"a\'"}`, `{"model":"\x"}`, `{"model":"\u12"}`, "{\"model\":\"a\nb\"}", `{"model":"a}`,
		`{"messages":[{"content":5}]}`, `{"messages":[{"content":{}}]}`, `{"messages":[{"content":[5]}]}`,
		`{"messages":[{"content":[{"type":1}]}]}`, `{"messages":[{"content":[{"image_url":"u"}]}]}`,
		`{"tool_choice":"bogus"}`, `{"tool_choice":{"type":"function","function":{"name":""}}}`,
		`{"tool_choice":{"type":"other","function":{"name":"f"}}}`, `{"tool_choice":5}`, `{"tool_choice":[]}`,
		`{"stop":5}`, `{"stop":[1]}`, `{"stop":{}}`, `{"metadata":{"a":1}}`, `{"metadata":[]}`,
		`{"tools":[{"type":"function","function":{"name":"f","parameters":{"a":}}}]}`,
		`{"logprobs":tru}`, `{"logprobs":[1,]}`, `{"logprobs":{"a" 1}}`,
		`{"logprobs":` + deep + `}`, `{"model":"m",}`, `{,"model":"m"}`, `{"model" "m"}`,
		`{"octomesh":{"timeout_ms":1.5}}`, `{"octomesh":{"weights":{"quality":"x"}}}`, `{"octomesh":{"regions":"eu"}}`,
	}
	for _, body := range bodies {
		_, err := decodeBoth(t, body)
		if err == nil {
			t.Errorf("%s: accepted", clip(body, 80))
			continue
		}
		if octomesh.ErrorCodeOf(err) != octomesh.EINVALID {
			t.Errorf("%s: err = %v, want EINVALID", clip(body, 80), err)
		}
	}
}

// TestDecodeChatDepth checks that values nested past the fast path's
// bound are left to encoding/json, which still takes them.
func TestDecodeChatDepth(t *testing.T) {
	n := maxSkipDepth + 10
	body := `{"logprobs":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`
	var req octomesh.ChatRequest
	if decodeChatFast([]byte(body), &req) {
		t.Errorf("fast path took a value %d deep", n)
	}
	if req, err := decodeBoth(t, body); err != nil || len(req.Logprobs) != 2*n {
		t.Errorf("err = %v", err)
	}
}

// TestPlainRun checks the word-at-a-time scan stops at every byte a
// string cannot keep as it is, wherever it falls in a word.
func TestPlainRun(t *testing.T) {
	for _, c := range []byte{'"', '\\', 0, 0x1f, 0x80, 0xff} {
		for pos := range 24 {
			data := []byte(strings.Repeat("abcdefgh", 3) + "tail")
			data[pos] = c
			if got := plainRun(data, 0); got > pos || got < pos/8*8 {
				t.Errorf("byte %#x at %d: plainRun = %d, want the start of its word (%d)", c, pos, got, pos/8*8)
			}
		}
	}
	plain := []byte(strings.Repeat("~ !#[]az", 4) + "xyz")
	if got := plainRun(plain, 0); got != 32 {
		t.Errorf("plain bytes: plainRun = %d, want 32", got)
	}
	if got := plainRun(plain, 30); got != 30 {
		t.Errorf("from 30: plainRun = %d, want 30 (no whole word left)", got)
	}
}

// TestDecodeChatOwnsStrings checks that nothing decoded aliases the body,
// which the handlers hand back to a pool right after decoding.
func TestDecodeChatOwnsStrings(t *testing.T) {
	body := []byte(benchChatBody1K)
	var want, got octomesh.ChatRequest
	if err := decodeStrict(body, &want); err != nil {
		t.Fatal(err)
	}
	if err := decodeChat(body, &got); err != nil {
		t.Fatal(err)
	}
	for i := range body {
		body[i] = 'z'
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the decoded request changed with the body:\ngot  %+v\nwant %+v", got, want)
	}
}

func TestDecodeChatAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	body := []byte(benchChatBody1K)
	allocs := testing.AllocsPerRun(100, func() {
		var req octomesh.ChatRequest
		if err := decodeChat(body, &req); err != nil {
			t.Fatal(err)
		}
	})
	// What the decoded request holds, each allocated once: 12 strings,
	// 8 slices (messages, tools, tool calls, 4 contents, the raw schema)
	// and 4 pointers (tool_choice, stream_options, temperature,
	// max_tokens); and the request itself, which escapes through the
	// fallback. Roles and type names are interned and cost nothing.
	if allocs > 25 {
		t.Errorf("decoding the 1 KB request allocates %v times, want at most 25", allocs)
	}
}

// A short request's messages, text parts and stream options share the
// request's allocation; appending to its messages leaves the room alone.
func TestDecodeChatRoom(t *testing.T) {
	body := []byte(`{"model":"openai/gpt-4o-mini","messages":[{"role":"system","content":"You are a concise assistant."},` +
		`{"role":"user","content":"Explain in one sentence why a reverse proxy adds latency."}],"max_tokens":256,"temperature":0.2,` +
		`"top_p":1,"n":1,"seed":7,"frequency_penalty":0.5,"stream":true,"stream_options":{"include_usage":true}}`)
	decodeBoth(t, string(body))
	a := new(chatAlloc)
	if err := decodeChatIn(body, &a.req, &a.room); err != nil {
		t.Fatal(err)
	}
	msgs := a.req.Messages
	if &msgs[0] != &a.room.msgs[0] || &msgs[1].Content.Parts[0] != &a.room.parts[1] || a.req.StreamOptions != &a.room.so ||
		a.req.MaxTokens != &a.room.ints[0] || a.req.Temperature != &a.room.floats[0] || *a.req.N != 1 || *a.req.FrequencyPenalty != 0.5 {
		t.Fatal("the parts are not in the room")
	}
	if cap(msgs) != 2 || cap(msgs[0].Content.Parts) != 1 {
		t.Fatalf("caps %d, %d: an append would write into the room", cap(msgs), cap(msgs[0].Content.Parts))
	}
	more := append(msgs, octomesh.Message{Role: "user"})
	if &more[0] == &a.room.msgs[0] || a.room.msgs[2].Role != "" {
		t.Fatal("an append wrote into the room")
	}
	if raceEnabled {
		return
	}
	allocs := testing.AllocsPerRun(100, func() {
		a := new(chatAlloc)
		if err := decodeChatIn(body, &a.req, &a.room); err != nil {
			t.Fatal(err)
		}
	})
	// The request with its room, one string for the model and the two
	// contents, and the seed and the third float, which do not fit.
	if allocs > 4 {
		t.Errorf("decoding into a chatAlloc allocates %v times, want at most 4", allocs)
	}
	// Strings past the texts' bound are allocated on their own, and all
	// come out as encoding/json has them.
	long := strings.Repeat("long text ", 60)
	decodeBoth(t, `{"model":"m","messages":[{"role":"user","content":"a\n\u00e9"},{"role":"user","content":"`+long+
		`"},{"role":"user","content":"b"},{"role":"user","content":""},{"role":"user","content":"c"}]}`)
}

// BenchmarkDecodeChat compares encoding/json (decodeStrict) with the
// hand-written decoder on a realistic 1 KB request.
func BenchmarkDecodeChat(b *testing.B) {
	body := []byte(benchChatBody1K)
	for _, bm := range []struct {
		name   string
		decode func([]byte, *octomesh.ChatRequest) error
	}{
		{"encoding_json", func(body []byte, req *octomesh.ChatRequest) error { return decodeStrict(body, req) }},
		{"hand", decodeChat},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				var req octomesh.ChatRequest
				if err := bm.decode(body, &req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestDecodeChatCoversEveryField guards the fast path against changes to
// the request types in the root package: it lists the JSON fields of every
// type reachable from ChatRequest and the types with their own decoding,
// as chatdecode.go knows them. A new field only costs speed (the fast path
// gives up on a key it does not know), but a new UnmarshalJSON would be
// ignored, so either change fails here until the decoder is updated.
func TestDecodeChatCoversEveryField(t *testing.T) {
	wantFields := map[string]string{
		"ChatRequest": "model messages tools tool_choice parallel_tool_calls response_format max_tokens max_completion_tokens " +
			"temperature top_p stop seed n presence_penalty frequency_penalty user metadata stream stream_options octomesh " +
			"logprobs top_logprobs logit_bias reasoning_effort service_tier store modalities audio prediction verbosity " +
			"web_search_options prompt_cache_key safety_identifier",
		"Message":        "role content name tool_calls tool_call_id refusal",
		"Part":           "type text image_url",
		"ImageURL":       "url detail",
		"Tool":           "type function",
		"FunctionDef":    "name description parameters strict",
		"ToolCall":       "index id type function",
		"FunctionCall":   "name arguments",
		"ResponseFormat": "type json_schema",
		"JSONSchema":     "name description schema strict",
		"StreamOptions":  "include_usage include_obfuscation",
		"RouteOptions":   "objective weights quality_floor tradeoff max_cost_usd zero_retention no_training regions fallbacks hedge timeout_ms",
		"Weights":        "quality cost latency",
	}
	wantCustom := "Content RawMessage Stop ToolChoice"

	gotFields := map[string]string{}
	var custom []string
	seen := map[reflect.Type]bool{}
	unmarshaler := reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler := reflect.TypeFor[encoding.TextUnmarshaler]()
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		if seen[typ] {
			return
		}
		seen[typ] = true
		if typ.Name() != "" {
			p := reflect.PointerTo(typ)
			if p.Implements(unmarshaler) || p.Implements(textUnmarshaler) {
				custom = append(custom, typ.Name())
				if typ == reflect.TypeFor[octomesh.ToolChoice]() {
					return // its fields are not JSON fields
				}
			} else if typ.Kind() == reflect.Struct {
				gotFields[typ.Name()] = strings.Join(jsonFieldNames(typ), " ")
			}
		}
		switch typ.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map:
			walk(typ.Elem())
		case reflect.Struct:
			for f := range typ.Fields() {
				walk(f.Type)
			}
		}
	}
	walk(reflect.TypeFor[octomesh.ChatRequest]())
	delete(gotFields, "Passthrough") // promoted into ChatRequest
	slices.Sort(custom)
	if got := strings.Join(custom, " "); got != wantCustom {
		t.Errorf("types with their own JSON decoding: %s, want %s", got, wantCustom)
	}
	for name, want := range wantFields {
		if gotFields[name] != want {
			t.Errorf("%s fields: %s\nwant %s", name, gotFields[name], want)
		}
	}
	for name := range gotFields {
		if _, ok := wantFields[name]; !ok {
			t.Errorf("type %s is not known to the fast decoder", name)
		}
	}
}

// jsonFieldNames returns the JSON names of a struct's fields in order,
// embedded structs' promoted.
func jsonFieldNames(typ reflect.Type) []string {
	var names []string
	for f := range typ.Fields() {
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case tag == "-" || !f.IsExported():
		case f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct:
			names = append(names, jsonFieldNames(f.Type)...)
		case tag == "":
			names = append(names, f.Name)
		default:
			names = append(names, tag)
		}
	}
	return names
}
