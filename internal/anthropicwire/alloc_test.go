package anthropicwire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/octomesh/octomesh"
)

// benchRequestBody is the benchmark harness's Anthropic request
// (bench/harness: pair-anthropic-*): a system prompt and one user turn.
var benchRequestBody = []byte(`{"model":"claude-haiku-4-5","max_tokens":256,"system":"You are a concise assistant.",` +
	`"messages":[{"role":"user","content":"Explain, in one short paragraph, why the sky is blue."}]}`)

func BenchmarkDecodeRequest(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRequest(benchRequestBody); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDecodeRequestAllocs locks in the strict decoder's allocations for
// the harness's request: it splits the body in place instead of decoding
// every object into a map of copied keys and values (63 before), its
// objects come from the decoder's room (13 when each was allocated) and
// its turns are appended to one slice of their number (10 before the
// decoder was pooled, its arrays' elements and plain contents' parts came
// from rooms and max_tokens came with the request).
func TestDecodeRequestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	n := testing.AllocsPerRun(100, func() {
		if _, err := DecodeRequest(benchRequestBody); err != nil {
			t.Fatal(err)
		}
	})
	if n > 6 {
		t.Errorf("DecodeRequest: %v allocations, want at most 6", n)
	}
}

// checkSplit compares the splitter's view of the valid JSON value v with
// encoding/json's: an object's members (the last of duplicates), an
// array's elements, a string's value.
func checkSplit(t *testing.T, v []byte) {
	t.Helper()
	switch firstByte(v) {
	case '{':
		var want map[string]json.RawMessage
		if err := json.Unmarshal(v, &want); err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		o, err := decodeObject(v, "", -1)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]json.RawMessage{}
		for _, f := range o.fields {
			got[f.key] = f.val
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d members, want %d", v, len(got), len(want))
		}
		for k, w := range want {
			if g, ok := got[k]; !ok || !bytes.Equal(g, w) {
				t.Fatalf("%s: member %q = %s, want %s", v, k, g, w)
			}
			checkSplit(t, w)
		}
	case '[':
		var want []json.RawMessage
		if err := json.Unmarshal(v, &want); err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		got := splitArray(v)
		if len(got) != len(want) {
			t.Fatalf("%s: %d elements, want %d", v, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("%s: element %d = %s, want %s", v, i, got[i], want[i])
			}
			checkSplit(t, want[i])
		}
	case '"':
		var want string
		if err := json.Unmarshal(v, &want); err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if got := unquote(bytes.TrimSpace(v)); got != want {
			t.Fatalf("%s: unquoted %q, want %q", v, got, want)
		}
	}
}

var splitSeeds = []string{
	`{}`, `[]`, `{"a":1,"b":[1,2,{"c":"}]"}],"a":"x\"y","":null}`,
	` { "k\u00e9" : "\ud800 \n \\ \/" , "\"" : [ true , false , null , -1.5e3 ] } `,
	`["a","\u0041\u00e9\u20ac\ud83d\ude00","` + "\xff\xfe" + `", "` + strings.Repeat("é\\n", 400) + `"]`,
	`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"a"}]}]}`,
}

func TestSplitMatchesEncodingJSON(t *testing.T) {
	for _, s := range splitSeeds {
		checkSplit(t, []byte(s))
	}
}

// FuzzSplit checks the splitter against encoding/json on valid JSON.
func FuzzSplit(f *testing.F) {
	for _, s := range splitSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		if !json.Valid(v) {
			return
		}
		checkSplit(t, v)
	})
}

// benchResponseBody is the harness mock's Anthropic message body.
var benchResponseBody = []byte(`{"content":[{"text":"` + strings.Repeat(" token", 20) + `","type":"text"}],"id":"msg_mock","model":"claude-haiku-4-5",` +
	`"role":"assistant","stop_reason":"end_turn","stop_sequence":null,"type":"message","usage":{"cache_creation_input_tokens":0,` +
	`"cache_read_input_tokens":0,"input_tokens":24,"output_tokens":20,"service_tier":"standard"}}`)

func BenchmarkDecodeResponse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeResponse(benchResponseBody, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// checkResponseFast checks that whatever decodeResponseFast accepts, it
// decodes as json.Unmarshal does.
func checkResponseFast(t *testing.T, body []byte) bool {
	t.Helper()
	var got Response
	content, ok := decodeResponseFast(body, &got, make([]ContentBlock, 0, 1))
	if !ok {
		return false
	}
	got.Content = content
	var want Response
	if err := json.Unmarshal(body, &want); err != nil {
		t.Fatalf("%s: fast path accepted what encoding/json rejects: %v", body, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\nfast %+v\njson %+v", body, got, want)
	}
	return true
}

var responseSeeds = []string{
	string(benchResponseBody),
	`{"id":"m","type":"message","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"text","text":"a\n\u00e9"},` +
		`{"type":"tool_use","id":"tu","name":"f","input":{"a": [1, 2]}}],"stop_reason":null,"stop_sequence":"x","usage":null}`,
	`{"id":"m","type":"message","content":[]}`, `{"id":"m","type":"message","content":null,"model":null}`,
	`{"ID":"m","type":"message"}`, `{"id":"m","id":"n","type":"message"}`, `{"id":"m","type":"message","usage":{"output_tokens":1.5}}`,
	`{"id":"m","type":"message","usage":{"input_to\u212aens":3}}`, `{"id":"m","type":"message","content":[{"type":"image","source":{}}]}`,
	`{"id":"m","type":"message","content":[null]}`, `{"id":"m","type":"message","content":[{"type":"tool_use","input":null}]}`,
}

func TestDecodeResponseFastMatchesJSON(t *testing.T) {
	accepted := 0
	for _, s := range responseSeeds {
		if checkResponseFast(t, []byte(s)) {
			accepted++
		}
	}
	if accepted < 4 {
		t.Errorf("the fast path accepted %d of the common bodies", accepted)
	}
}

func FuzzDecodeResponseFast(f *testing.F) {
	for _, s := range responseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkResponseFast(t, body) })
}

// TestDecodeResponseAllocs locks in DecodeResponse's allocations for the
// mock's message (28 through encoding/json): a block for its strings, its
// text's content, the response with its choice and the usage with its
// details (one allocation each; 13 when the decoded message, its content,
// its stop reason, the choices and the usage details took their own, 7
// when each string did, 5 when the content blocks' room went to the heap
// because the content was stored in a Response that might be the heap's).
func TestDecodeResponseAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	n := testing.AllocsPerRun(100, func() {
		if _, err := DecodeResponse(benchResponseBody, ""); err != nil {
			t.Fatal(err)
		}
	})
	if n > 4 {
		t.Errorf("DecodeResponse: %v allocations, want at most 4", n)
	}
}

// benchCanonical is the harness's OpenAI-format request, decoded: a system
// and a user message.
var benchCanonical = &octomesh.ChatRequest{Model: "claude-haiku-4-5", MaxTokens: func() *int { n := 256; return &n }(),
	Messages: []octomesh.Message{
		{Role: octomesh.RoleSystem, Content: octomesh.TextContent("You are a concise assistant.")},
		{Role: octomesh.RoleUser, Content: octomesh.TextContent("Explain, in one short paragraph, why the sky is blue.")},
	}}

// TestEncodeRequestAllocs locks in EncodeRequest's allocations: error
// paths are built only for errors (10 when each message's and part's were
// built first), and the request with its system prompt, the turns and
// every block are one allocation each (5 when each content had its own).
func TestEncodeRequestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	n := testing.AllocsPerRun(100, func() {
		if _, err := EncodeRequest(benchCanonical, EncodeOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	if n > 3 {
		t.Errorf("EncodeRequest: %v allocations, want at most 3", n)
	}
}

// TestDecodeRequestOutgrowsTheRoom: a request of more objects and members
// than the decoder has room for decodes as a small one does.
func TestDecodeRequestOutgrowsTheRoom(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"model":"m","max_tokens":5,"system":[{"type":"text","text":"s0"},{"type":"text","text":"s1"}],"messages":[`)
	for i := range 30 {
		if i > 0 {
			b.WriteString(",")
		}
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		fmt.Fprintf(&b, `{"role":%q,"content":[{"type":"text","text":"a%d"},{"type":"text","text":"b%d","cache_control":{"type":"ephemeral"}}]}`, role, i, i)
	}
	b.WriteString(`]}`)
	req, err := DecodeRequest([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Messages) != 31 || req.Messages[0].Content.Text() != "s0s1" {
		t.Fatalf("%d messages, system %q", len(req.Messages), req.Messages[0].Content.Text())
	}
	for i, m := range req.Messages[1:] {
		if want := fmt.Sprintf("a%db%d", i, i); m.Content.Text() != want || len(m.Content.Parts) != 2 {
			t.Fatalf("message %d: %q, want %q", i, m.Content.Text(), want)
		}
	}
}

// TestDecodeRequestKeepsNothingOfTheDecoder: a request decoded by a pooled
// decoder is untouched by the decoding of the next ones, and of its body.
func TestDecodeRequestKeepsNothingOfTheDecoder(t *testing.T) {
	body := []byte(`{"model":"first","max_tokens":7,"system":"sys one","messages":[{"role":"user","content":"u1"},{"role":"assistant","content":"a1"}]}`)
	first, err := DecodeRequest(body)
	if err != nil {
		t.Fatal(err)
	}
	for i := range body {
		body[i] = 'x'
	}
	for range 20 {
		if _, err := DecodeRequest([]byte(`{"model":"second","max_tokens":9,"system":"zz","messages":[{"role":"user","content":"yy"},{"role":"assistant","content":"ww"},{"role":"user","content":"vv"}]}`)); err != nil {
			t.Fatal(err)
		}
	}
	got := []string{first.Model, first.Messages[0].Content.Text(), first.Messages[1].Content.Text(), first.Messages[2].Content.Text()}
	want := []string{"first", "sys one", "u1", "a1"}
	if !reflect.DeepEqual(got, want) || *first.MaxTokens != 7 || len(first.Messages) != 3 {
		t.Errorf("first request now %q, max_tokens %d; want %q, 7", got, *first.MaxTokens, want)
	}
}

// TestDecodeResponseStringsOutliveTheBody: the strings in the shared block
// are copies, escapes and invalid UTF-8 (whose U+FFFD outgrows the block)
// included.
func TestDecodeResponseStringsOutliveTheBody(t *testing.T) {
	body := []byte(`{"id":"msg_1","type":"message","model":"m\u00e9","content":[{"type":"text","text":"` + strings.Repeat("\xff", 100) +
		`a\nb"},{"type":"tool_use","id":"tu_1","name":"f","input":{"x":1}}],"stop_reason":"tool_use"}`)
	resp, err := DecodeResponse(body, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range body {
		body[i] = 'x'
	}
	m := resp.Choices[0].Message
	want := strings.Repeat("\ufffd", 100) + "a\nb"
	if resp.ID != "msg_1" || resp.Model != "m\u00e9" || m.Content.Text() != want || len(m.ToolCalls) != 1 ||
		m.ToolCalls[0].ID != "tu_1" || m.ToolCalls[0].Function.Name != "f" || m.ToolCalls[0].Function.Arguments != `{"x":1}` {
		t.Errorf("decoded %+v, message %+v", resp, m)
	}
}

// TestAPooledDecoderKeepsNoViewOfItsBody: a decoder goes back to its pool
// holding nothing of the body it split, also after an object with more
// members than its room had left (which fills the room before it moves to
// an array of its own), and the slices it hands out end at their length.
func TestAPooledDecoderKeepsNoViewOfItsBody(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"hi"`)
	for i := range 40 {
		fmt.Fprintf(&b, `,"cache_control":{"n":%d}`, i)
	}
	b.WriteString(`}]}]}`)
	if _, err := DecodeRequest([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	d := decoders.Get().(*requestDecoder)
	defer d.release()
	for i, f := range d.fields {
		if f.key != "" || f.val != nil {
			t.Fatalf("the pooled decoder's field %d still views the body: %q=%q", i, f.key, f.val)
		}
	}
	o, err := d.object([]byte(`{"a":1,"b":[1,2]}`), "", -1)
	if err != nil {
		t.Fatal(err)
	}
	a, _, _ := d.array(o, "b")
	if cap(o.fields) != len(o.fields) || cap(a) != len(a) {
		t.Errorf("members len %d cap %d, elements len %d cap %d: want each capped at its length", len(o.fields), cap(o.fields), len(a), cap(a))
	}
}
