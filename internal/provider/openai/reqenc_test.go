package openai

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/octomesh/octomesh"
)

// goldenRequests returns the canonical requests of the golden cases.
func goldenRequests(t testing.TB) [][]byte {
	paths, err := filepath.Glob(filepath.Join("testdata", "golden*", "*", "request.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden requests (%v)", err)
	}
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

var trickyRequests = []string{
	`{"model":"m","messages":[{"role":"user","content":"<b>&amp;</b> \u2028\u2029 \u0000\u001f\b\f\n\r\t \"q\" \\ / é 😀"}]}`,
	`{"model":"m","messages":[{"role":"user","content":null},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":\"<x>\"}"}},{"function":{"arguments":""}}]},{"role":"tool","tool_call_id":"call_1","content":"42","name":"f"}]}`,
	`{"model":"m","messages":[{"role":"assistant","content":"","refusal":"no"}]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"parts"}]}]}`,
	`{"model":"m","messages":[]}`,
	`{"model":"","messages":null}`,
	`{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":0,"top_p":1,"presence_penalty":-2,"frequency_penalty":1e-7,"max_tokens":0,"max_completion_tokens":5,"n":2,"seed":-9007199254740993,"user":"u<1>"}`,
	`{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":1e21,"top_p":123456789.123456789,"presence_penalty":0.000001,"frequency_penalty":-0.0000012345}`,
	`{"model":"m","messages":[{"role":"user","content":"x"}],"stop":"END"}`,
	`{"model":"m","messages":[{"role":"user","content":"x"}],"stop":["a","<b>"],"parallel_tool_calls":false}`,
	`{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":false,"include_obfuscation":false}}`,
	`{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"auto"}`,
	`{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}`,
	`{"model":"m","messages":[{"role":"user","content":"x"}],"metadata":{"a":"b"},"store":true}`,
	`{"model":"m","messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":2}`,
	`{"model":"m","messages":[{"role":"user","content":"x"}],"octomesh":{"objective":"cost"}}`,
}

// checkChatBody checks that appendChatBody, when it encodes body at all,
// writes exactly what json.Marshal writes.
func checkChatBody(t *testing.T, body *chatBody) (handled bool) {
	t.Helper()
	want, wantErr := json.Marshal(body)
	got, ok := appendChatBody(nil, body)
	if !ok {
		return false
	}
	if wantErr != nil {
		t.Fatalf("encoded a body encoding/json refuses (%v): %s", wantErr, got)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding differs:\n got %s\nwant %s", got, want)
	}
	return true
}

// bodiesOf returns the upstream bodies a decoded request can become: each
// stream mode, with and without the model (Azure's deployment path).
func bodiesOf(req *octomesh.ChatRequest) []*chatBody {
	var out []*chatBody
	for _, stream := range []bool{false, true} {
		r := *req
		r.Stream = stream
		if stream {
			r.StreamOptions = &octomesh.StreamOptions{IncludeUsage: true}
		}
		out = append(out, &chatBody{ChatRequest: &r, Model: req.Model}, &chatBody{ChatRequest: &r})
	}
	r := *req
	out = append(out, &chatBody{ChatRequest: &r, Model: req.Model}) // as decoded
	return out
}

func TestChatBodyEncoderMatchesJSON(t *testing.T) {
	handled := 0
	inputs := goldenRequests(t)
	for _, s := range trickyRequests {
		inputs = append(inputs, []byte(s))
	}
	for _, in := range inputs {
		var req octomesh.ChatRequest
		if err := json.Unmarshal(in, &req); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		for _, body := range bodiesOf(&req) {
			if checkChatBody(t, body) {
				handled++
			}
		}
	}
	t.Logf("the hand encoder wrote %d of %d bodies", handled, 5*len(inputs))
	if handled < len(inputs) {
		t.Errorf("the hand encoder wrote only %d of %d bodies", handled, 5*len(inputs))
	}
	// Numbers encoding/json cannot write are refused.
	nan := math.NaN()
	if _, ok := appendChatBody(nil, &chatBody{ChatRequest: &octomesh.ChatRequest{Temperature: &nan}}); ok {
		t.Error("encoded a NaN temperature")
	}
}

// TestChatBodyEncoderHandlesTheBenchRequest: the hand encoder takes the
// common request (and so the benchmark's).
func TestChatBodyEncoderHandlesTheCommonRequest(t *testing.T) {
	c := &Client{}
	n, tp := 256, 0.2
	req := &octomesh.ChatRequest{Model: "gpt-4o-mini", MaxTokens: &n, Temperature: &tp, Messages: []octomesh.Message{
		{Role: octomesh.RoleSystem, Content: octomesh.TextContent("You are a concise assistant.")},
		{Role: octomesh.RoleUser, Content: octomesh.TextContent("Explain <why> & how.")},
	}}
	for _, stream := range []bool{false, true} {
		got, err := c.chatRequestBody(req, stream)
		if err != nil {
			t.Fatal(err)
		}
		r := *req
		r.Stream = stream
		if stream {
			r.StreamOptions = &octomesh.StreamOptions{IncludeUsage: true}
		}
		if !checkChatBody(t, &chatBody{ChatRequest: &r, Model: req.Model}) {
			t.Fatal("the hand encoder refused the common request")
		}
		want, _ := json.Marshal(&chatBody{ChatRequest: &r, Model: req.Model})
		if !bytes.Equal(got, want) {
			t.Errorf("chatRequestBody:\n got %s\nwant %s", got, want)
		}
	}
}

func FuzzChatBodyEncoder(f *testing.F) {
	for _, b := range goldenRequests(f) {
		f.Add(b)
	}
	for _, s := range trickyRequests {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var req octomesh.ChatRequest
		if json.Unmarshal(in, &req) != nil {
			return
		}
		for _, body := range bodiesOf(&req) {
			checkChatBody(t, body)
		}
	})
}
