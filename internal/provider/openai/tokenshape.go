package openai

import (
	"bytes"
	"math"

	"github.com/octomesh/octomesh"
)

// tokenShape is what a stream's last plain token chunk looked like around
// its content: the bytes from the end of the remembered header (chunkHead)
// up to and including the content string's opening quote (pre), and from
// its closing quote to the end of the chunk (post). The chunks of a text
// stream differ only in that string:
//
//	{"id":…,"model":…,"choices":[{"index":0,"delta":{"content":"…"},"logprobs":null,"finish_reason":null}]}
//	                           └────────────── pre ─────────────────┘   └──────────────── post ───────────────┘
//
// A chunk that starts with the header and pre and ends with post, with a
// valid string between them, decodes to the recorded chunk with the new
// content: reading is a function of the bytes read, so over pre the
// parser is in the same state as before, reads the string the same way,
// and from the closing quote on reads the same bytes again. Checking that
// costs two comparisons and the string's scan instead of parsing every key.
//
// A shape is recorded only from a chunk the fast parser read whole, with
// one choice that carries content and nothing else (no role, refusal, tool
// call, finish reason or usage), and whose other fields are the header's:
// its result is then the header's, the choice's index and whether "error"
// was null.
type tokenShape struct {
	hlen  int32 // the length of the header it follows (the header's raw)
	npre  int32 // len(pre); room[:npre] is pre, room[npre:n] post
	n     int32
	index int32 // the choice's index
	// hits counts chunks decoded by a shape, records shapes recorded.
	hits, records int32
	// errNull: the chunk had "error":null (decodeFast then sets w.Error).
	errNull bool
	// room holds pre and post. A shape that does not fit is not recorded:
	// 128 bytes leave the shape in the allocator's 160-byte class and
	// hold OpenAI's (94 bytes with "logprobs" and "usage":null).
	room [128]byte
}

// contentSpan is where the content string of the chunk being read lies:
// the offsets of its opening and closing quotes, and how many content
// strings the chunk had (a shape needs exactly one).
type contentSpan struct {
	open, close, n int
}

// decodeToken decodes data (whose first hlen bytes are the remembered
// header, already taken into w) by the stream's token shape, and reports
// whether it could.
func (d *chunkDecoder) decodeToken(data []byte, hlen int, w *wireChunk) bool {
	t := d.tok
	if t == nil || int(t.hlen) != hlen {
		return false
	}
	pre, post := t.room[:t.npre], t.room[t.npre:t.n]
	rest := data[hlen:]
	if len(rest) < len(pre)+len(post) || !bytes.HasPrefix(rest, pre) || !bytes.HasSuffix(rest, post) {
		return false
	}
	s := scanner{b: data, i: hlen + len(pre) - 1, d: d} // at the opening quote
	var ch [1]octomesh.ChunkChoice
	if !s.str(&ch[0].Delta.Content, nil) || s.i-1 != len(data)-len(post) {
		return false // the string ends elsewhere: not the shape
	}
	ch[0].Index = int(t.index)
	t.hits++
	buf := append(d.choiceArray(), ch[0])
	d.choiceBuf = buf[:0]
	w.Choices = d.lendChoices(buf)
	if t.errNull {
		w.Error = nullRaw
	}
	return true
}

// recordToken remembers data's shape when the chunk just read (w) is a
// plain token chunk after a header of hlen bytes whose content string
// lies at span; otherwise it keeps the shape it had.
func (d *chunkDecoder) recordToken(data []byte, hlen int, span contentSpan, w *wireChunk) {
	if span.n != 1 || span.open < hlen || len(w.Choices) != 1 || w.Usage != nil {
		return
	}
	ch := &w.Choices[0]
	dl := &ch.Delta
	if dl.Content == "" || dl.Role != "" || dl.Refusal != "" || dl.ToolCalls != nil || ch.FinishReason != "" {
		return
	}
	if w.Error != nil && !bytes.Equal(w.Error, nullRaw) {
		return
	}
	// The shape's result takes its other fields from the header: one
	// whose members after the choices set them (a second "model", say)
	// is not recorded.
	h := &d.head
	if w.ID != h.id || w.Object != h.object || w.Created != h.created || w.Model != h.model || w.SystemFingerprint != h.fingerprint {
		return
	}
	pre, post := data[hlen:span.open+1], data[span.close:]
	t := d.tok
	if len(pre)+len(post) > len(tokenShape{}.room) || ch.Index > math.MaxInt32 || hlen > math.MaxInt32 {
		return
	}
	if t == nil {
		t = new(tokenShape)
		d.tok = t
	}
	if t.hits == 0 && t.records >= maxShapeMisses {
		return // this stream's chunks do not repeat: stop copying shapes
	}
	t.records++
	copy(t.room[:], pre)
	copy(t.room[len(pre):], post)
	t.hlen, t.npre, t.n = int32(hlen), int32(len(pre)), int32(len(pre)+len(post))
	t.index, t.errNull = int32(ch.Index), w.Error != nil
}

// maxShapeMisses is how many shapes a stream records without one match
// before it stops recording: a server that varies every chunk beyond its
// content (a per-chunk nonce, say) would otherwise pay a copy per chunk.
const maxShapeMisses = 8
