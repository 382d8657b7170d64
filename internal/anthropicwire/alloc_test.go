package anthropicwire

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
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
// every object into a map of copied keys and values (63 before).
func TestDecodeRequestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	n := testing.AllocsPerRun(100, func() {
		if _, err := DecodeRequest(benchRequestBody); err != nil {
			t.Fatal(err)
		}
	})
	if n > 13 {
		t.Errorf("DecodeRequest: %v allocations, want at most 13", n)
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
