package anthropicwire

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// checkAppendRequest checks that whatever AppendRequest writes is
// json.Marshal's encoding, byte for byte, and reports whether it wrote.
func checkAppendRequest(t *testing.T, r *Request) bool {
	t.Helper()
	got, ok := AppendRequest([]byte("prefix"), r)
	if !ok {
		return false
	}
	want, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("AppendRequest encoded what json.Marshal rejects (%v): %s", err, got)
	}
	if !bytes.Equal(got, append([]byte("prefix"), want...)) {
		t.Fatalf("AppendRequest:\n got %s\nwant prefix%s", got, want)
	}
	return true
}

func TestAppendRequestMatchesJSON(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	k := 5
	text := func(s string) ContentBlock { return ContentBlock{Type: BlockText, Text: s} }
	tricky := "a<b>&c \"q\" \\ \n\t\u2028\u2029 é \x01" + string([]byte{0xff})
	handled := []*Request{
		{Model: "m", MaxTokens: 256, System: &Content{Blocks: []ContentBlock{text("sys")}},
			Messages: []Message{{Role: "user", Content: TextContent("hi")}}},
		{Model: tricky, MaxTokens: 1, Messages: []Message{{Role: "user", Content: TextContent(tricky)}},
			Temperature: f(0.2), TopP: f(1e-7), TopK: &k, StopSequences: []string{"x", tricky}, Stream: true,
			Metadata: &RequestMeta{UserID: tricky}},
		{Model: "m", Temperature: f(1e21), TopP: f(0), Metadata: &RequestMeta{}, StopSequences: []string{},
			ToolChoice: &ToolChoice{Type: ChoiceTool, Name: "f", DisableParallelToolUse: true},
			System:     &Content{Blocks: []ContentBlock{text("a"), text("b")}, Array: true},
			Messages: []Message{
				{Role: "user", Content: Content{Blocks: []ContentBlock{text("x")}, Array: true}},
				{Role: "assistant", Content: Content{Blocks: []ContentBlock{text("y"),
					{Type: BlockToolUse, ID: "t1", Name: "f", Input: json.RawMessage(`{"a":"b c\u003c","d":[1,{"e":null}]}`)},
					{Type: BlockToolUse, ID: "t2", Name: "g"}}, Array: true}},
				{Role: "user", Content: Content{Blocks: []ContentBlock{
					{Type: BlockToolResult, ToolUseID: "t1", ResultContent: &Content{Blocks: []ContentBlock{text("r")}}, IsError: true},
					{Type: BlockToolResult, ToolUseID: "t2"},
					{Type: BlockToolResult, ToolUseID: "t3", ResultContent: &Content{Array: true}},
					text("z")}, Array: true}},
			}},
		{Model: "m"}, // messages null
		{Model: "m", Messages: []Message{{Role: "user", Content: Content{}}}},
	}
	for i, r := range handled {
		if !checkAppendRequest(t, r) {
			t.Errorf("request %d was left to encoding/json", i)
		}
	}
	refused := []*Request{
		{Model: "m", Tools: []Tool{{Name: "f", InputSchema: json.RawMessage(`{ "type": "object" }`)}}},
		{Model: "m", Temperature: f(math.NaN())},
		{Model: "m", TopP: f(math.Inf(1))},
		{Model: "m", Messages: []Message{{Role: "user", Content: Content{Blocks: []ContentBlock{
			{Type: BlockImage, Source: &ImageSource{Type: SourceURL, URL: "https://x/y"}}}, Array: true}}}},
		{Model: "m", Messages: []Message{{Role: "assistant", Content: Content{Blocks: []ContentBlock{
			{Type: BlockToolUse, ID: "t", Name: "f", Input: json.RawMessage(`{"a": 1}`)}}, Array: true}}}},
		{Model: "m", Messages: []Message{{Role: "assistant", Content: Content{Blocks: []ContentBlock{
			{Type: BlockToolUse, ID: "t", Name: "f", Input: json.RawMessage(`{"a":"<"}`)}}, Array: true}}}},
		{Model: "m", Messages: []Message{{Role: "assistant", Content: Content{Blocks: []ContentBlock{
			{Type: BlockToolUse, ID: "t", Name: "f", Input: json.RawMessage("{\"a\":\"\u2028\"}")}}, Array: true}}}},
		{Model: "m", Messages: []Message{{Role: "assistant", Content: Content{Blocks: []ContentBlock{
			{Type: BlockToolUse, ID: "t", Name: "f", Input: json.RawMessage(`{"a":`)}}, Array: true}}}},
		{Model: "m", Messages: []Message{{Role: "assistant", Content: Content{Blocks: []ContentBlock{{Type: BlockThinking}}, Array: true}}}},
	}
	for i, r := range refused {
		if _, ok := AppendRequest(nil, r); ok {
			t.Errorf("refused request %d was encoded", i)
		}
	}
}

// TestAppendRequestHandlesTheCommonRequest: what EncodeRequest makes of
// the harness's request is written by hand, in no allocation beyond the
// buffer's.
func TestAppendRequestHandlesTheCommonRequest(t *testing.T) {
	r, err := EncodeRequest(benchCanonical, EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !checkAppendRequest(t, r) {
		t.Fatal("the common request was left to encoding/json")
	}
	if raceEnabled {
		return
	}
	buf := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() { AppendRequest(buf[:0], r) }); n != 0 {
		t.Errorf("AppendRequest: %v allocations, want 0", n)
	}
}

// FuzzAppendRequest checks AppendRequest against json.Marshal on what
// EncodeRequest makes of decoded Anthropic requests.
func FuzzAppendRequest(f *testing.F) {
	for _, s := range []string{
		string(benchRequestBody),
		`{"model":"m","max_tokens":5,"system":[{"type":"text","text":"s<"}],"stream":true,"metadata":{"user_id":"u"},"temperature":0.000001,"top_p":1e-7,"stop_sequences":["a",null],"messages":[{"role":"user","content":[{"type":"text","text":"a"}]}]}`,
		`{"model":"m","max_tokens":5,"tool_choice":{"type":"auto"},"messages":[{"role":"user","content":"go"},{"role":"assistant","content":[{"type":"text","text":"ok "},{"type":"tool_use","id":"t","name":"f","input":{"a":[1,{"b":"x y"}]}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"r"}],"is_error":true},{"type":"text","text":"next"}]}]}`,
		`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t"}]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeRequest(body)
		if err != nil {
			return
		}
		r, err := EncodeRequest(req, EncodeOptions{})
		if err != nil {
			return
		}
		checkAppendRequest(t, r)
	})
}
