package openai

import (
	"context"
	"io"
	"strings"
	"testing"
)

// tokenChunk is an OpenAI token chunk whose content is the JSON string
// literal lit (quotes included).
func tokenChunk(lit string) string {
	return `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","system_fingerprint":"fp",` +
		`"choices":[{"index":0,"delta":{"content":` + lit + `},"logprobs":null,"finish_reason":null}],"usage":null}`
}

// The chunks of a text stream after the first are decoded by the shape of
// the one before: the result must be encoding/json's, and the shape must
// be what decoded them (hits), or the fast path is not there at all.
func TestTokenShapeDecodesTokens(t *testing.T) {
	contents := []string{
		`"Hello"`, `" world"`, `"\"quoted\" \\ \n"`, `"\u00e9\ud83d\ude00"`, "\"bad \xff utf8\"",
		`"chat.completion.chunk"`, `""`, `"\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}"`,
		`"x"`,
	}
	for _, room := range []bool{false, true} {
		d := &chunkDecoder{}
		if room {
			d = &newStream(context.Background(), func() {}, "p", io.NopCloser(strings.NewReader(""))).dec
		}
		for _, c := range contents {
			checkSameAsJSON(t, d, []byte(tokenChunk(c)))
		}
		// Each chunk is decoded twice (decode, then decodeFast), all but
		// the first by the shape.
		if want := 2*len(contents) - 1; d.tok == nil || int(d.tok.hits) != want {
			t.Errorf("room %v: shape hits %v, want %d", room, d.tok, want)
		}
	}
}

// What is not a plain token chunk, or is one but differs from the last
// beyond its content, is read in full and decoded as encoding/json does.
func TestTokenShapeFallsBack(t *testing.T) {
	d := &chunkDecoder{}
	chunks := []string{
		tokenChunk(`"a"`),
		tokenChunk(`"b"`) + " ", // trailing space: post differs
		strings.Replace(tokenChunk(`"c"`), `"index":0`, `"index":1`, 1),
		strings.Replace(tokenChunk(`"d"`), `"finish_reason":null`, `"finish_reason":"stop"`, 1),
		strings.Replace(tokenChunk(`"e"`), `"usage":null`, `"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}`, 1),
		strings.Replace(tokenChunk(`"f"`), `{"content":"f"}`, `{"content":"f","content":"g"}`, 1),
		strings.Replace(tokenChunk(`"h"`), `"h"`, `null`, 1),
		strings.Replace(tokenChunk(`"i"`), `"i"`, `"i" `, 1),
		strings.Replace(tokenChunk(`"j"`), `"j"`, `"unterminated`, 1),
		tokenChunk(`"k"`),
	}
	for _, c := range chunks {
		checkSameAsJSON(t, d, []byte(c))
	}
}

// A shape holds only after the header it was recorded after. Another
// header of the same length leaves the parser in another state: here it
// has "model", so the shape's "model" after the choices is a duplicate,
// which encoding/json reads as the last value (""). Without forgetting
// the shape when the header changes, the last chunk decoded with the
// header's model.
func TestTokenShapeForgottenWithItsHeader(t *testing.T) {
	headA := `{"id":"aa","object":"chat.completion.chunk"`
	headD := `{"id":"aa","model":"chat.completion.chunk"`
	for len(headD) < len(headA) {
		headD = strings.Replace(headD, `"aa"`, `"aaa"`, 1)
	}
	if len(headD) != len(headA) {
		t.Fatalf("headers of %d and %d bytes", len(headA), len(headD))
	}
	post := `},"logprobs":null}],"model":""}`
	d := &chunkDecoder{}
	checkSameAsJSON(t, d, []byte(headA+`,"choices":[{"index":0,"delta":{"content":"a"`+post))
	checkSameAsJSON(t, d, []byte(headA+`,"choices":[{"index":0,"delta":{"content":"b"`+post))
	if d.tok == nil || d.tok.hits == 0 {
		t.Fatalf("the shape was not used: %+v", d.tok)
	}
	checkSameAsJSON(t, d, []byte(headD+`,"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`))
	checkSameAsJSON(t, d, []byte(headD+`,"choices":[{"index":0,"delta":{"content":"c"`+post))
}

// A server whose every chunk differs beyond its content stops costing a
// shape copy per chunk.
func TestTokenShapeStopsRecording(t *testing.T) {
	d := &chunkDecoder{}
	for i := range 3 * maxShapeMisses {
		c := strings.Replace(tokenChunk(`"t"`), `"usage":null`, `"obfuscation":"`+strings.Repeat("x", i)+`"`, 1)
		if _, err := d.decode([]byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	if d.tok.hits != 0 || d.tok.records != maxShapeMisses {
		t.Errorf("hits %d, records %d, want 0 and %d", d.tok.hits, d.tok.records, maxShapeMisses)
	}
}
