package anthropicwire

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// scriptedChunks is a canonical stream: role, text, two tool calls with
// fragmented arguments, finish, usage.
func scriptedChunks() []*octomesh.Chunk {
	idx := func(i int) *int { return &i }
	base := func(choices ...octomesh.ChunkChoice) *octomesh.Chunk {
		return &octomesh.Chunk{ID: "chatcmpl-7", Object: octomesh.ObjectChatCompletionChunk, Model: "upstream-model", Choices: choices}
	}
	delta := func(d octomesh.Delta) octomesh.ChunkChoice { return octomesh.ChunkChoice{Delta: d} }
	return []*octomesh.Chunk{
		base(delta(octomesh.Delta{Role: octomesh.RoleAssistant})),
		base(delta(octomesh.Delta{Content: "Let me "})),
		base(delta(octomesh.Delta{Content: "check."})),
		base(delta(octomesh.Delta{ToolCalls: []octomesh.ToolCall{{Index: idx(0), ID: "call_W", Type: "function", Function: octomesh.FunctionCall{Name: "get_weather"}}}})),
		base(delta(octomesh.Delta{ToolCalls: []octomesh.ToolCall{{Index: idx(0), Function: octomesh.FunctionCall{Arguments: `{"city":`}}}})),
		base(delta(octomesh.Delta{ToolCalls: []octomesh.ToolCall{{Index: idx(0), Function: octomesh.FunctionCall{Arguments: `"Paris"}`}}}})),
		base(delta(octomesh.Delta{ToolCalls: []octomesh.ToolCall{{Index: idx(1), ID: "call_T", Type: "function", Function: octomesh.FunctionCall{Name: "get_time", Arguments: `{"tz":"CET"}`}}}})),
		base(octomesh.ChunkChoice{FinishReason: octomesh.FinishToolCalls}),
		{ID: "chatcmpl-7", Object: octomesh.ObjectChatCompletionChunk, Model: "upstream-model", Choices: []octomesh.ChunkChoice{},
			Usage: &octomesh.Usage{PromptTokens: 120, CompletionTokens: 33, TotalTokens: 153, PromptTokensDetails: &octomesh.PromptTokensDetails{CachedTokens: 80}, CacheWriteTokens: 10}},
	}
}

func TestStreamWriterGolden(t *testing.T) {
	var buf bytes.Buffer
	flushes := 0
	w := NewStreamWriter(&buf, func() { flushes++ }, "chatcmpl-7", "smart")
	chunks := scriptedChunks()
	for _, c := range chunks {
		if err := w.WriteChunk(c); err != nil {
			t.Fatalf("WriteChunk: %v", err)
		}
	}
	if err := w.Finish(); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	// The usage chunk writes nothing by itself; every other call flushes.
	if got, want := flushes, len(chunks); got != want {
		t.Errorf("flushes = %d, want %d", got, want)
	}
	golden := filepath.Join("testdata", "stream_writer_tools.golden")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), buf.String()); diff != "" {
		t.Errorf("stream bytes mismatch (-want +got):\n%s", diff)
	}
}

// parseSSE splits well-formed SSE text into (event, data) pairs.
func parseSSE(t *testing.T, s string) [][2]string {
	t.Helper()
	var out [][2]string
	for _, ev := range strings.Split(strings.TrimSuffix(s, "\n\n"), "\n\n") {
		name, data, ok := strings.Cut(ev, "\n")
		if !ok || !strings.HasPrefix(name, "event: ") || !strings.HasPrefix(data, "data: ") || strings.Contains(data, "\n") {
			t.Fatalf("malformed event %q", ev)
		}
		out = append(out, [2]string{strings.TrimPrefix(name, "event: "), strings.TrimPrefix(data, "data: ")})
	}
	return out
}

// TestStreamWriterDecoderRoundTrip feeds the writer's output to the decoder
// and checks the canonical stream survives.
func TestStreamWriterDecoderRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewStreamWriter(&buf, nil, "chatcmpl-7", "smart")
	in := scriptedChunks()
	for _, c := range in {
		if err := w.WriteChunk(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	dec := NewStreamDecoder("")
	var got []*octomesh.Chunk
	for _, ev := range parseSSE(t, buf.String()) {
		cs, err := dec.Decode(ev[0], []byte(ev[1]))
		if err != nil {
			t.Fatalf("Decode(%s): %v", ev[0], err)
		}
		got = append(got, cs...)
	}
	if !dec.Done() {
		t.Fatal("decoder did not see message_stop")
	}
	// The decoder speaks Anthropic's ids and the writer's model.
	// The decoder reports a tool call's start and its arguments as two
	// chunks, where the script sent the second call in one.
	want := scriptedChunks()
	second := *want[6]
	head := second.Choices[0].Delta.ToolCalls[0]
	head.Function.Arguments = ""
	args := octomesh.ToolCall{Index: head.Index, Function: octomesh.FunctionCall{Arguments: `{"tz":"CET"}`}}
	headChunk, argsChunk := second, second
	headChunk.Choices = []octomesh.ChunkChoice{{Delta: octomesh.Delta{ToolCalls: []octomesh.ToolCall{head}}}}
	argsChunk.Choices = []octomesh.ChunkChoice{{Delta: octomesh.Delta{ToolCalls: []octomesh.ToolCall{args}}}}
	want = append(want[:6], append([]*octomesh.Chunk{&headChunk, &argsChunk}, want[7:]...)...)
	for _, c := range want {
		c.ID, c.Model = "msg_chatcmpl-7", "smart"
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
}

func TestStreamWriterPingBeforeStartAndError(t *testing.T) {
	var buf bytes.Buffer
	w := NewStreamWriter(&buf, nil, "msg_abc", "m")
	if err := w.Ping(); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteChunk(&octomesh.Chunk{ID: "ignored", Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Content: "Hi"}}}}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteErr(octomesh.Errorf(octomesh.EOVERLOADED, "the provider is overloaded").WithCause(errors.New("secret upstream text"))); err != nil {
		t.Fatal(err)
	}
	want := "event: message_start\n" +
		`data: {"type":"message_start","message":{"id":"msg_abc","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}}` + "\n\n" +
		"event: ping\n" + `data: {"type":"ping"}` + "\n\n" +
		"event: content_block_start\n" + `data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}` + "\n\n" +
		"event: content_block_delta\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}` + "\n\n" +
		"event: error\n" + `data: {"type":"error","error":{"type":"overloaded_error","message":"the provider is overloaded"}}` + "\n\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("bytes mismatch (-want +got):\n%s", diff)
	}
	if err := w.Finish(); err == nil {
		t.Error("Finish after WriteError succeeded, want an error")
	}
}

func TestStreamWriterEmptyStream(t *testing.T) {
	var buf bytes.Buffer
	w := NewStreamWriter(&buf, nil, "", "")
	if err := w.WriteChunk(&octomesh.Chunk{ID: "msg_z", Model: "m2", Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{Role: "assistant"}, FinishReason: "length"}}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	want := "event: message_start\n" +
		`data: {"type":"message_start","message":{"id":"msg_z","type":"message","role":"assistant","model":"m2","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}}` + "\n\n" +
		"event: message_delta\n" + `data: {"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":0}}` + "\n\n" +
		"event: message_stop\n" + `data: {"type":"message_stop"}` + "\n\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("bytes mismatch (-want +got):\n%s", diff)
	}
}

func TestStreamWriterRejects(t *testing.T) {
	one, zero := 1, 0
	t.Run("interleaved tool calls", func(t *testing.T) {
		w := NewStreamWriter(&bytes.Buffer{}, nil, "x", "m")
		for _, i := range []*int{&zero, &one} {
			if err := w.WriteChunk(&octomesh.Chunk{Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{ToolCalls: []octomesh.ToolCall{{Index: i, ID: "c", Function: octomesh.FunctionCall{Name: "f"}}}}}}}); err != nil {
				t.Fatal(err)
			}
		}
		err := w.WriteChunk(&octomesh.Chunk{Choices: []octomesh.ChunkChoice{{Delta: octomesh.Delta{ToolCalls: []octomesh.ToolCall{{Index: &zero, Function: octomesh.FunctionCall{Arguments: "{}"}}}}}}})
		if err == nil {
			t.Error("fragment for a closed tool block accepted, want an error")
		}
	})
	t.Run("second choice", func(t *testing.T) {
		w := NewStreamWriter(&bytes.Buffer{}, nil, "x", "m")
		if err := w.WriteChunk(&octomesh.Chunk{Choices: []octomesh.ChunkChoice{{Index: 1, Delta: octomesh.Delta{Content: "x"}}}}); err == nil {
			t.Error("choice 1 accepted, want an error")
		}
	})
	t.Run("after finish", func(t *testing.T) {
		w := NewStreamWriter(&bytes.Buffer{}, nil, "x", "m")
		if err := w.Finish(); err != nil {
			t.Fatal(err)
		}
		if err := w.WriteChunk(&octomesh.Chunk{}); err == nil {
			t.Error("WriteChunk after Finish succeeded, want an error")
		}
	})
	t.Run("write error is sticky", func(t *testing.T) {
		w := NewStreamWriter(failWriter{}, nil, "x", "m")
		if err := w.Ping(); err == nil {
			t.Fatal("Ping on a failing writer succeeded")
		}
		if err := w.Finish(); err == nil || err == errFinished {
			t.Errorf("Finish after a write error = %v, want the write error", err)
		}
	})
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestStreamDecoderErrors(t *testing.T) {
	start := `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}}`
	tests := []struct {
		name   string
		events []string
	}{
		{"malformed json", []string{`{"type":`}},
		{"delta before start", []string{`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}`}},
		{"second message_start", []string{start, start}},
		{"delta for unknown block", []string{start, `{"type":"content_block_delta","index":3,"delta":{"type":"text_delta","text":"x"}}`}},
		{"block started twice", []string{start, `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`, `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`}},
		{"stop before stop_reason", []string{start, `{"type":"message_stop"}`}},
		{"start without message", []string{`{"type":"message_start"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewStreamDecoder("")
			var err error
			for _, ev := range tt.events {
				if _, err = d.Decode("", []byte(ev)); err != nil {
					break
				}
			}
			if err == nil {
				t.Fatal("no error, want one")
			}
			var se *StreamError
			if errors.As(err, &se) {
				t.Errorf("got a StreamError %v for a malformed stream", err)
			}
		})
	}
}

func TestStreamDecoderErrorEvent(t *testing.T) {
	d := NewStreamDecoder("")
	_, err := d.Decode("error", []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded: prompt text here"}}`))
	var se *StreamError
	if !errors.As(err, &se) || se.Type != "overloaded_error" {
		t.Fatalf("err = %v, want a StreamError of type overloaded_error", err)
	}
	if strings.Contains(se.Error(), "prompt text") {
		t.Errorf("Error() = %q carries upstream text", se.Error())
	}
}

func TestStreamDecoderIgnoresUnknownAndLateEvents(t *testing.T) {
	d := NewStreamDecoder("")
	events := []string{
		`{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":4,"output_tokens":1}}}`,
		`{"type":"brand_new_event","foo":1}`,
		`{"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"s","name":"web_search","input":{}}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{}"}}`,
		`{"type":"content_block_start","index":1,"content_block":{"type":"text","text":"Pre"}}`,
		`{"type":"content_block_delta","index":1,"delta":{"type":"citations_delta","citation":{}}}`,
		`{"type":"message_delta","delta":{"stop_reason":null},"usage":{"output_tokens":2}}`,
		`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":3}}`,
		`{"type":"message_stop"}`,
		`{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"late"}}`,
	}
	var got []string
	for _, ev := range events {
		cs, err := d.Decode("", []byte(ev))
		if err != nil {
			t.Fatalf("Decode(%s): %v", ev, err)
		}
		for _, c := range cs {
			switch {
			case c.Usage != nil:
				got = append(got, "usage")
			case c.Choices[0].FinishReason != "":
				got = append(got, "finish:"+c.Choices[0].FinishReason)
			case c.Choices[0].Delta.Role != "":
				got = append(got, "role")
			default:
				got = append(got, "content:"+c.Choices[0].Delta.Content)
			}
		}
	}
	want := []string{"role", "content:Pre", "finish:stop", "usage"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("chunks mismatch (-want +got):\n%s", diff)
	}
}
