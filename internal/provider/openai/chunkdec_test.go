package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/octomesh/octomesh"
)

// goldenEvents returns the data of every event in the recorded upstream
// streams under testdata, and the non-streaming bodies as whole inputs.
func goldenEvents(t testing.TB) (stream, other [][]byte) {
	paths, err := filepath.Glob(filepath.Join("testdata", "golden*", "*", "upstream_response"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden upstream responses (%v)", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(filepath.Base(filepath.Dir(p)), "stream_") {
			other = append(other, b)
			continue
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			if d, ok := bytes.CutPrefix(line, []byte("data:")); ok {
				stream = append(stream, bytes.TrimSpace(d))
			}
		}
	}
	return stream, other
}

// trickyChunks are inputs near the edges of the fast path: each must decode
// exactly as encoding/json decodes it, whichever path takes it.
var trickyChunks = []string{
	`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`,
	`{"choices":[{"index":0,"delta":{"content":"line\nbreak \"quoted\" back\\slash \/ \b\f\r\t \u00e9 \ud83d\ude00"}}]}`,
	`{"choices":[{"index":0,"delta":{"content":"lone \ud83d high, lone \ude00 low, \ud83d\u0041 mixed, \ud83d\ud83d twice"}}]}`,
	"{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"bad utf8 \xff\xfe and \xe2\x82 cut, good \xe2\x82\xac\"}}]}",
	"{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"escaped and bad \\n \xff\"}}]}",
	`{"choices":[{"index":0,"delta":{"content":"héllo 世界 🎉"}}]}`,
	`{"ID":"upper","Model":"m","choices":[]}`,
	`{"id":"a","id":"b"}`,
	`{"choices":[{"index":0}],"choices":[{"index":1}]}`,
	`{"choices":[{"index":0,"delta":{"content":"a","content":"b"}}]}`,
	`{"created":1.5}`,
	`{"created":1e3}`,
	`{"created":-0}`,
	`{"created":012}`,
	`{"created":99999999999999999999}`,
	`{"created":-9223372036854775808}`,
	`{"created":123456789012345678}`,
	`{"created":"1"}`,
	`{"choices":[{"index":"0"}]}`,
	`{"choices":[{"index":null,"delta":null,"finish_reason":null}]}`,
	`{"choices":[null]}`,
	`{"choices":null,"usage":null,"id":null,"created":null}`,
	`{"choices":{}}`,
	`{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7,"prompt_tokens_details":{"cached_tokens":1}}}`,
	`{"choices":[],"usage":{"prompt_tokens":3.5}}`,
	`{"choices":[],"usage":[]}`,
	`{"choices":[],"usage":{"prompt_tokens_details":null,"completion_tokens_details":{},"CacheWriteTokens":5,"-":1}}`,
	`{"choices":[],"usage":{"prompt_tokens_details":{"cached_tokens":1,"cached_tokens":2}}}`,
	`{"choices":[],"usage":{"prompt_tokens_details":{"Cached_Tokens":1}}}`,
	`{"choices":[],"usage":{"completion_tokens_details":{"reasoning_tokens":null,"audio_tokens":0}}}`,
	`{"choices":[],"usage":{"completion_tokens_details":[]}}`,
	`{"choices":[],"usage":{"Prompt_Tokens":1}}`,
	`{"choices":[],"usage":{"total_tokens":1,"total_tokens":2}}`,
	`{"error":null,"choices":[]}`,
	`{"error":{"message":"x","code":429}}`,
	`{"error":"plain string"}`,
	`{"object":"error","message":"x"}`,
	`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]}}]}`,
	`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":null,"function":{"arguments":"{\"a\":1}"}},{"function":null}]}}]}`,
	`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"Index":2}]}}]}`,
	`{"choices":[{"index":0,"delta":{"tool_calls":null,"refusal":"no","role":"assistant"}}]}`,
	`{"unknown":{"deep":[1,2.5e-3,-0.1,true,false,null,"s\u0041",{"k":[]}]},"choices":[]}`,
	`{"unknown":[1,]}`,
	`{"unknown":{"a":1,}}`,
	`{"unknown":"\x"}`,
	`{"unknown":01}`,
	`{"unknown":1.}`,
	`{"unknown":-}`,
	`{"unknown":tru}`,
	"{\"unknown\":\"ctl\x01\"}",
	`{"ünknown":1,"choices":[]}`,
	`{"\u0069d":"escaped key"}`,
	`{"choices":[]} trailing`,
	`{"choices":[]}   `,
	`{"choices":[],}`,
	`{"choices":[] "id":"x"}`,
	`{`,
	`{"choices":[`,
	`{"id":"unterminated`,
	`null`,
	`[]`,
	`"str"`,
	``,
	`{"choices":[{"index":0,"delta":{"content":"x"},"logprobs":{"content":[{"token":"x","logprob":-0.1,"bytes":[120],"top_logprobs":[]}]},"finish_reason":"stop","stop_reason":null}],"system_fingerprint":"fp_1","service_tier":"default","usage":null}`,
	`{"prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}],"choices":[],"created":0,"id":"","model":"","object":""}`,
	strings.Repeat(`{"unknown":`, 40) + `1` + strings.Repeat(`}`, 40),
}

// checkSameAsJSON decodes data with d and with encoding/json and fails
// unless both fail or both give the same chunk; it also checks that a fast
// path success is one encoding/json agrees with.
func checkSameAsJSON(t *testing.T, d *chunkDecoder, data []byte) (fast bool) {
	t.Helper()
	var want wireChunk
	wantErr := json.Unmarshal(data, &want)
	got, err := d.decode(data)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("decode(%q): error %v, encoding/json error %v", data, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(*got, want) {
		t.Fatalf("decode(%q):\n got %#v\nwant %#v", data, *got, want)
	}
	var fastGot wireChunk
	fast = d.decodeFast(data, &fastGot)
	if fast && wantErr != nil {
		t.Fatalf("fast path accepted %q, which encoding/json refuses: %v", data, wantErr)
	}
	if fast && !reflect.DeepEqual(fastGot, want) {
		t.Fatalf("fast path(%q):\n got %#v\nwant %#v", data, fastGot, want)
	}
	return fast
}

func TestChunkDecoderMatchesEncodingJSON(t *testing.T) {
	t.Run("alone", func(t *testing.T) { checkGoldenChunks(t, &chunkDecoder{}) })
	// With a stream's room, whose blocks its chunks are carved from.
	t.Run("in a stream", func(t *testing.T) {
		checkGoldenChunks(t, &newStream(context.Background(), func() {}, "p", io.NopCloser(strings.NewReader(""))).dec)
	})
}

// checkGoldenChunks decodes every golden event with d, one decoder across
// all events as in a stream: the strings it reuses from earlier chunks
// must not leak into later ones.
func checkGoldenChunks(t *testing.T, d *chunkDecoder) {
	stream, other := goldenEvents(t)
	fast := 0
	for _, data := range stream {
		if string(data) == doneMarker {
			continue
		}
		if checkSameAsJSON(t, d, data) {
			fast++
		}
	}
	for _, b := range other {
		checkSameAsJSON(t, d, bytes.TrimSpace(b))
	}
	for _, c := range trickyChunks {
		checkSameAsJSON(t, d, []byte(c))
	}
	// The fast path must actually carry the recorded streams: only events
	// that are not chunks (error objects, malformed data) may fall back.
	if fast < len(stream)*3/4 {
		t.Errorf("fast path decoded %d of %d golden stream events", fast, len(stream))
	}
}

func TestChunkDecoderFastPathCoversCommonShapes(t *testing.T) {
	d := &chunkDecoder{}
	for _, body := range [][]byte{benchStreamBody(3), benchToolStreamBody(3)} {
		for _, line := range bytes.Split(body, []byte("\n")) {
			data, ok := bytes.CutPrefix(line, []byte("data: "))
			if !ok || string(data) == doneMarker {
				continue
			}
			if !checkSameAsJSON(t, d, data) {
				t.Errorf("fast path refused %s", data)
			}
		}
	}
	for _, c := range trickyChunks[:6] {
		if !checkSameAsJSON(t, d, []byte(c)) {
			t.Errorf("fast path refused %s", c)
		}
	}
}

// TestChunkDecoderReusesRepeatedStrings checks that the id, model and
// fingerprint repeated in every chunk of a stream are not allocated again,
// that the content of chunks shares blocks and that their choices are lent:
// a token costs a small fraction of an allocation.
func TestChunkDecoderReusesRepeatedStrings(t *testing.T) {
	data := []byte(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","system_fingerprint":"fp_1",` +
		`"choices":[{"index":0,"delta":{"content":" token"},"logprobs":null,"finish_reason":null}]}`)
	d := &newStream(context.Background(), func() {}, "p", io.NopCloser(strings.NewReader(""))).dec
	if _, err := d.decode(data); err != nil {
		t.Fatal(err)
	}
	const chunks = 1000
	allocs := testing.AllocsPerRun(1, func() {
		for range chunks {
			if _, err := d.decode(data); err != nil {
				t.Fatal(err)
			}
		}
	})
	// A string block per 85 (a choice block per 16 chunks when choices
	// were carved from blocks).
	if allocs > chunks/85+2 {
		t.Errorf("%v allocations for %d chunks", allocs, chunks)
	}
}

// Chunks share the blocks their strings, tool calls and usage are carved
// from; a chunk kept past the next ones, its choices copied (as the
// ChatStream contract asks: they are lent), must not see them, nor reach
// them by appending to its tool calls. Appending to a chunk's choices
// reaches no other choice either.
func TestKeptChunksKeepTheirOwnValues(t *testing.T) {
	t.Run("alone", func(t *testing.T) { checkKeptChunks(t, &chunkDecoder{}, 0) })
	t.Run("in a stream", func(t *testing.T) {
		checkKeptChunks(t, &newStream(context.Background(), func() {}, "p", io.NopCloser(strings.NewReader(""))).dec, 0)
	})
	t.Run("in a stream that waits", func(t *testing.T) {
		for _, every := range []int{1, 2, 5} {
			checkKeptChunks(t, &newStream(context.Background(), func() {}, "p", io.NopCloser(strings.NewReader(""))).dec, every)
		}
	})
}

// checkKeptChunks decodes chunks with d, which parks its blocks before
// every parkEvery-th chunk (never when 0), as a stream does before a wait,
// and now and then collects garbage meanwhile: the kept chunks keep the
// blocks, which the decoder fills on after the wait.
func checkKeptChunks(t *testing.T, d *chunkDecoder, parkEvery int) {
	var kept []octomesh.Chunk
	for i := range 200 {
		if parkEvery > 0 && i%parkEvery == 0 {
			d.park()
			if i%50 == 0 {
				runtime.GC()
			}
		}
		text := fmt.Sprintf("tok%d", i)
		if i%7 == 0 {
			text = strings.Repeat("long", 40) + text // past the block limit
		}
		data := fmt.Sprintf(`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[`+
			`{"index":0,"delta":{"content":%q},"finish_reason":null},{"index":1,"delta":{"content":"b%d","tool_calls":[{"index":%d,"function":{"arguments":"a%d"}}]},"finish_reason":null}],`+
			`"usage":{"prompt_tokens":%d,"completion_tokens":1,"total_tokens":1,"prompt_tokens_details":{"cached_tokens":%d}}}`, text, i, i, i, i, i)
		w, err := d.decode([]byte(data))
		if err != nil {
			t.Fatal(err)
		}
		c := w.Chunk
		if cap(c.Choices) != len(c.Choices) {
			t.Fatalf("chunk %d's choices have room past them: %d of %d", i, len(c.Choices), cap(c.Choices))
		}
		c.Choices = slices.Clone(c.Choices)
		kept = append(kept, c)
	}
	for i := range kept {
		if i+1 < len(kept) {
			kept[i].Choices = append(kept[i].Choices, octomesh.ChunkChoice{Index: 9, Delta: octomesh.Delta{Content: "appended"}})
			tc := &kept[i].Choices[1].Delta
			tc.ToolCalls = append(tc.ToolCalls, octomesh.ToolCall{ID: "appended"})
		}
	}
	for i, c := range kept {
		want := fmt.Sprintf("tok%d", i)
		if i%7 == 0 {
			want = strings.Repeat("long", 40) + want
		}
		if tcs := c.Choices[1].Delta.ToolCalls; len(tcs) < 1 || tcs[0].Index == nil || *tcs[0].Index != i || tcs[0].Function.Arguments != fmt.Sprintf("a%d", i) {
			t.Fatalf("chunk %d's tool calls changed: %+v", i, tcs)
		}
		if c.Usage.PromptTokens != i || c.Usage.CachedTokens() != i {
			t.Fatalf("chunk %d's usage changed: %+v", i, c.Usage)
		}
		if len(c.Choices) < 2 || c.Choices[0].Delta.Content != want || c.Choices[1].Delta.Content != fmt.Sprintf("b%d", i) || c.Choices[1].Index != 1 {
			t.Fatalf("chunk %d changed: %+v", i, c.Choices)
		}
	}
}

// After a wait (park) a chunk fills on the blocks the chunk before it
// did, when they are still there, as it would without the wait, and its
// choices are lent as in a burst: a token after a wait costs no
// allocation but its share of a string block's (and of a weak pointer's
// to it). Chunks kept meanwhile (their lent choices copied) keep their
// values (and the blocks they are in), and blocks only dropped chunks
// were in are freed and replaced.
func TestAChunkAfterAWait(t *testing.T) {
	d := &newStream(context.Background(), func() {}, "p", io.NopCloser(strings.NewReader(""))).dec
	chunk := func(i int) []byte {
		return fmt.Appendf(nil, `{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"tok%d"},"finish_reason":null}]}`, i)
	}
	var kept []octomesh.Chunk
	for i := range 300 {
		if i%3 != 2 { // a wait before two chunks in three; the third comes in a burst
			d.park()
			if i%37 == 0 {
				runtime.GC()
			}
		}
		w, err := d.decode(chunk(i))
		if err != nil {
			t.Fatal(err)
		}
		if i%20 < 10 { // the others are dropped: their blocks may go
			c := w.Chunk
			c.Choices = slices.Clone(c.Choices)
			kept = append(kept, c)
		}
	}
	for j, c := range kept {
		i := j/10*20 + j%10
		if c.Choices[0].Delta.Content != fmt.Sprintf("tok%d", i) || c.Choices[0].Index != 0 || c.ID != "c" || c.Model != "m" {
			t.Fatalf("chunk %d changed: %+v", i, c)
		}
	}
	if raceEnabled {
		return
	}
	data := chunk(7)
	const chunks = 1000
	allocs := testing.AllocsPerRun(1, func() {
		for range chunks {
			d.park()
			if _, err := d.decode(data); err != nil {
				t.Fatal(err)
			}
		}
	})
	// A string block per 128, and a weak pointer to each (a collection
	// meanwhile may cost two); the choices are lent, not carved (a block
	// and a weak pointer per 16 chunks when they were).
	if want := 2*chunks/128 + 4; allocs > float64(want) {
		t.Errorf("%d chunks, each after a wait: %v allocations, want at most %d", chunks, allocs, want)
	}
}

// TestChunkDecoderHeaderReuse: a chunk whose header repeats the previous
// chunk's bytes reuses its result, but only when the header really is the
// same: a value that goes on past the remembered bytes is a different value.
func TestChunkDecoderHeaderReuse(t *testing.T) {
	pairs := [][2]string{
		{`{"id":"a","created":17,"choices":[]}`, `{"id":"a","created":17,"choices":[{"index":0}]}`},
		{`{"id":"a","created":17,"choices":[]}`, `{"id":"a","created":170,"choices":[]}`},
		{`{"id":"a","created":17,"choices":[]}`, `{"id":"a","created":17.5,"choices":[]}`},
		{`{"id":"a","created":17,"choices":[]}`, `{"id":"a","created":17e2,"choices":[]}`},
		{`{"id":"a","created":17,"choices":[]}`, `{"id":"a","created":17}`},
		{`{"id":"a","created":17,"choices":[]}`, `{"id":"a","created":17 ,"choices":[]}`},
		{`{"id":"a","created":17,"choices":[]}`, `{"id":"a","created":17,"id":"b","choices":[]}`},
		{`{"id":"a","created":17,"choices":[]}`, `{"id":"a","created":17,"choices":[],"created":18}`},
		{`{"id":"a","created":17,"choices":[]}`, `{"id":"a","created":17,"ID":"b"}`},
		{`{"id":"a","created":17,"choices":[]}`, `{"id":"a","created":17,`},
		{`{"id":"a","created":17,"choices":[]}`, `{"id":"a","created":17`},
		{`{"x":tru,"choices":[]}`, `{"x":true,"choices":[]}`},
		{`{"x":true,"choices":[]}`, `{"x":truex,"choices":[]}`},
		{`{"x":null,"choices":[]}`, `{"x":nulll,"choices":[]}`},
		{`{"x":"s","choices":[]}`, `{"x":"s"","choices":[]}`},
		{`{"x":[1],"choices":[]}`, `{"x":[1]],"choices":[]}`},
		{`{"id":"a","choices":[],"model":"m"}`, `{"id":"a","choices":[]}`},
		{`{"id":"a","choices":[],"model":"m"}`, `{"id":"a","model":"n","choices":[]}`},
		{`{"choices":[],"id":"a"}`, `{"choices":[],"id":"b"}`},
	}
	for _, p := range pairs {
		d := &chunkDecoder{}
		checkSameAsJSON(t, d, []byte(p[0]))
		checkSameAsJSON(t, d, []byte(p[1]))
		checkSameAsJSON(t, d, []byte(p[0]))
	}
	// And it is taken in a real stream.
	d := &chunkDecoder{}
	body := benchStreamBody(2)
	var hits int
	for _, line := range bytes.Split(body, []byte("\n")) {
		data, ok := bytes.CutPrefix(line, []byte("data: "))
		if !ok || string(data) == doneMarker {
			continue
		}
		if d.head.matches(data) {
			hits++
		}
		checkSameAsJSON(t, d, data)
	}
	if hits != 4 { // every chunk after the first
		t.Errorf("header reused for %d chunks, want 4", hits)
	}
}

// FuzzChunkDecoder decodes two inputs in turn with one decoder (the first
// leaves strings and a header behind that the second may reuse) and checks
// each against encoding/json.
func FuzzChunkDecoder(f *testing.F) {
	stream, other := goldenEvents(f)
	for i, b := range stream {
		f.Add(b, stream[(i+1)%len(stream)])
	}
	for _, b := range other {
		f.Add(b, b)
	}
	for i, c := range trickyChunks {
		f.Add([]byte(trickyChunks[0]), []byte(c))
		f.Add([]byte(c), []byte(trickyChunks[(i+1)%len(trickyChunks)]))
	}
	// Token chunks that differ only in their content, or a little more:
	// the token shape's (tokenshape.go) ground.
	for _, c := range []string{`"b"`, `"\"},\"x\":1}"`, `"é\u00e9"`, `null`, `"c" `, `"d","content":"e"`} {
		f.Add([]byte(tokenChunk(`"a"`)), []byte(tokenChunk(c)))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		d := &chunkDecoder{}
		checkSameAsJSON(t, d, a)
		checkSameAsJSON(t, d, b)
		checkSameAsJSON(t, d, a)
	})
}

// trickyResponses are non-streaming bodies near the edges of the fast path.
var trickyResponses = []string{
	`{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi \"there\"\n","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`,
	`{"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},"finish_reason":"tool_calls"}]}`,
	`{"choices":[{"message":{"content":[{"type":"text","text":"parts"}]}}]}`,
	`{"choices":[{"message":{"content":[]}}]}`,
	`{"choices":[{"message":{"content":1}}]}`,
	`{"choices":[{"message":{"content":"a","content":null}}]}`,
	`{"choices":[{"message":null,"logprobs":{"content":[{"token":"x","logprob":-0.5}]}}]}`,
	`{"choices":[{"logprobs":  {"content" : [ ] } }]}`,
	`{"choices":[{"logprobs":tru}]}`,
	`{"choices":[{"message":{"Content":"folded"}}]}`,
	`{"choices":[{"message":{"name":"n","tool_call_id":"t","refusal":"no","audio":null,"reasoning_content":"r"}}]}`,
	`{"choices":[{"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":"stop"}],"error":null}`,
	`{"error":{"message":"bad","code":500}}`,
	`{"object":"error","message":"vllm"}`,
	`{"choices":[]}`,
	`{"choices":null}`,
	`{}`,
}

// checkResponseSameAsJSON is checkSameAsJSON for non-streaming bodies.
func checkResponseSameAsJSON(t *testing.T, data []byte) (fast bool) {
	t.Helper()
	var want wireResponse
	wantErr := json.Unmarshal(data, &want)
	var got wireResponse
	err := decodeWireResponse(data, &got)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("decodeWireResponse(%q): error %v, encoding/json error %v", data, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(decoded(&got), decoded(&want)) {
		t.Fatalf("decodeWireResponse(%q):\n got %#v\nwant %#v", data, got, want)
	}
	var fastGot wireResponse
	fast = decodeResponseFast(&chunkDecoder{}, data, &fastGot)
	if fast && wantErr != nil {
		t.Fatalf("fast path accepted %q, which encoding/json refuses: %v", data, wantErr)
	}
	if fast && !reflect.DeepEqual(decoded(&fastGot), decoded(&want)) {
		t.Fatalf("fast path(%q):\n got %#v\nwant %#v", data, fastGot, want)
	}
	return fast
}

// decoded is what a wireResponse holds, its room for the decoder aside.
func decoded(w *wireResponse) any { return [2]any{w.ChatResponse, w.Error} }

func TestResponseDecoderMatchesEncodingJSON(t *testing.T) {
	stream, other := goldenEvents(t)
	fast := 0
	for _, b := range other {
		if checkResponseSameAsJSON(t, b) {
			fast++
		}
	}
	for _, b := range stream {
		checkResponseSameAsJSON(t, b)
	}
	for _, c := range append(trickyResponses, trickyChunks...) {
		checkResponseSameAsJSON(t, []byte(c))
	}
	for i, c := range trickyResponses[:2] {
		if !checkResponseSameAsJSON(t, []byte(c)) {
			t.Errorf("fast path refused tricky response %d", i)
		}
	}
	if fast < len(other)/2 {
		t.Errorf("fast path decoded %d of %d golden bodies", fast, len(other))
	}
}

func FuzzResponseDecoder(f *testing.F) {
	stream, other := goldenEvents(f)
	for _, b := range append(other, stream...) {
		f.Add(b)
	}
	for _, c := range append(trickyResponses, trickyChunks...) {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkResponseSameAsJSON(t, data)
	})
}

// A completion and the room for its strings fill a size class of the
// allocator; the strings decoded into the room are the answer's.
func TestWireResponseSizes(t *testing.T) {
	for _, c := range []struct{ size, class uintptr }{
		{unsafe.Sizeof(wireResponseWith[[592]byte]{}), 1024},
		{unsafe.Sizeof(wireResponseWith[[720]byte]{}), 1152},
		{unsafe.Sizeof(wireResponseWith[[848]byte]{}), 1280},
		{unsafe.Sizeof(wireResponseWith[[976]byte]{}), 1408},
		{unsafe.Sizeof(wireResponseWith[[1104]byte]{}), 1536},
		{unsafe.Sizeof(wireResponseWith[[1360]byte]{}), 1792},
		{unsafe.Sizeof(wireResponseWith[[1616]byte]{}), 2048},
		{unsafe.Sizeof(wireResponseWith[[2640]byte]{}), 3072},
		{unsafe.Sizeof(wireResponseWith[[3664]byte]{}), 4096},
	} {
		if c.size+8 > c.class { // the allocator's header of a large object with pointers
			t.Errorf("a completion with room is %d bytes, past the %d-byte class", c.size, c.class)
		}
	}
	for _, n := range []int{10, 500, 650, 800, 900, 1000, 1200, 1500, 2500, 3500, 5000} {
		text := strings.Repeat("é", n/2)
		body := []byte(`{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"` + text + `"},"finish_reason":"stop"}]}`)
		r, err := decodeChatResponse("p", body)
		if err != nil {
			t.Fatal(err)
		}
		body[len(body)-10] = 'X' // the answer's buffer is reused after decoding
		if got := r.Choices[0].Message.Content.Text(); got != text || r.ID != "c" || r.Model != "m" {
			t.Fatalf("%d: %q %q %q", n, got, r.ID, r.Model)
		}
	}
}
