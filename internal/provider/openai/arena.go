package openai

import (
	"unsafe"

	"github.com/octomesh/octomesh"
)

// A stream's decoded strings and choices are carved out of blocks that the
// stream's chunks share, one block for many tokens, instead of each
// allocating its own. A block is only ever appended to: bytes or elements
// handed out are never written again, so a string or a chunk kept by a
// consumer (past the next chunk, or past the stream) stays as it was, and
// keeps its block alive as long as it needs it. A new block replaces a
// full one; nothing is reused.

const (
	// strBlock is the size of a stream's string block: a token's text is
	// a few bytes, so one block serves dozens of chunks.
	strBlock = 512
	// maxBlockString is the longest string carved from a stream's block;
	// a longer one is allocated alone (it would waste most of a block).
	maxBlockString = strBlock / 4
	// maxChoiceBlock is the most choices a block holds; after the stream's
	// own (streamRoom), blocks grow to it from minChoiceBlock, so that a
	// short stream allocates little. They stay small: a stream keeps its
	// current block while it waits for the next token, and 2,000 waiting
	// streams with 32-choice blocks (3 KiB) held 6 MB more than with
	// one allocation per chunk. Four choices (384 bytes) still spare
	// three allocations in four.
	minChoiceBlock = 4
	maxChoiceBlock = 4
)

// text returns raw as a string: a common value without allocating, other
// values carved from the string block. raw may be scratch memory.
func (d *chunkDecoder) text(raw []byte) string {
	if s, ok := internCommon(raw); ok {
		return s
	}
	n := len(raw)
	if n == 1 {
		return string(raw) // the runtime has every one-byte string
	}
	if d.forgot && d.strs == nil && d.choiceBlk == nil && n <= tokenStrs {
		d.takeTokenBlock()
	}
	if cap(d.strs)-len(d.strs) < n {
		size := d.strsSize
		if size == 0 {
			if n > maxBlockString {
				return string(raw)
			}
			// From half a block up, so that a short stream's few
			// tokens do not take a whole one; after a wait, from a
			// token's, as a wait may well follow it too (forget).
			size = min(max(2*cap(d.strs), strBlock/2), strBlock)
			if d.forgot && d.strs == nil {
				size = max(n, minAfterWait)
			}
		}
		if n > size {
			return string(raw)
		}
		if r := d.room; r != nil && !r.usedStrs && n <= len(r.strs) {
			r.usedStrs = true
			d.strs = r.strs[:0]
		} else {
			d.strs = make([]byte, 0, size)
		}
	}
	start := len(d.strs)
	d.strs = append(d.strs, raw...)
	return unsafe.String(&d.strs[start], n)
}

// carveChoices returns a copy of cs in the choice block, its capacity its
// length, so that appending to it cannot reach the next chunk's choices.
func (d *chunkDecoder) carveChoices(cs []octomesh.ChunkChoice) []octomesh.ChunkChoice {
	n := len(cs)
	if n == 0 {
		return []octomesh.ChunkChoice{} // not nil: as encoding/json decodes []
	}
	if d.forgot && d.choiceBlk == nil && d.strs == nil && n == 1 {
		d.takeTokenBlock()
	}
	if cap(d.choiceBlk)-len(d.choiceBlk) < n {
		if r := d.room; r != nil && !r.usedChoices && n <= len(r.choices) {
			r.usedChoices = true
			d.choiceBlk = r.choices[:0]
		} else {
			size := min(max(2*cap(d.choiceBlk), minChoiceBlock), maxChoiceBlock)
			if d.forgot && d.choiceBlk == nil {
				size = n // after a wait: only this chunk's (forget)
			}
			d.choiceBlk = make([]octomesh.ChunkChoice, 0, max(size, n))
		}
	}
	start := len(d.choiceBlk)
	d.choiceBlk = append(d.choiceBlk, cs...)
	return d.choiceBlk[start : start+n : start+n]
}

// minAfterWait is the smallest string block taken after a wait.
const minAfterWait = 16

// tokenBlock is the first block a chunk after a wait takes: room for its
// one choice and its text, in one allocation of the 128-byte class.
type tokenBlock struct {
	choices [1]octomesh.ChunkChoice
	strs    [tokenStrs]byte
}

const tokenStrs = 32

// takeTokenBlock makes a new token block the choice and string blocks.
func (d *chunkDecoder) takeTokenBlock() {
	b := new(tokenBlock)
	d.choiceBlk, d.strs = b.choices[:0], b.strs[:0]
}

// forget lets go of the last chunk and of the blocks being filled, for a
// stream about to wait for its next event: what a consumer kept of the
// chunk stays alive through its own references, and nothing else is held
// through the wait. 2,000 streams waiting for their next token held a
// choice block and a string block each, 800 bytes. The blocks taken after
// a wait hold only the chunk that comes (a wait most likely follows it
// too): a token block, for a chunk of one choice with a short text, as
// they nearly all are; they grow again when chunks come in a burst.
func (d *chunkDecoder) forget() {
	// The last chunk's choices hold its blocks' strings; its header
	// strings are the stream's (d.head keeps them), and its usage the
	// stream's room or its own.
	d.w.Choices, d.w.Usage = nil, nil
	d.strs, d.choiceBlk, d.toolBlk, d.intBlk = nil, nil, nil, nil
	d.forgot = true
}

// usageRoom returns the stream's room for its first usage, or nil (usage
// then allocates one): a usage is yielded, so each is its own.
func (d *chunkDecoder) usageRoom() *usageBlock {
	if r := d.room; r != nil && !r.usedUsage {
		r.usedUsage = true
		return &r.usage
	}
	return nil
}

// Tool-call blocks hold this many; index blocks, intBlock.
const (
	toolBlock = 16
	intBlock  = 32
)

// carveToolCalls is carveChoices for a delta's tool calls.
func (d *chunkDecoder) carveToolCalls(tcs []octomesh.ToolCall) []octomesh.ToolCall {
	n := len(tcs)
	if n == 0 {
		return []octomesh.ToolCall{} // not nil: as encoding/json decodes []
	}
	if cap(d.toolBlk)-len(d.toolBlk) < n {
		size := toolBlock
		if d.forgot && d.toolBlk == nil {
			size = n // after a wait: only this chunk's (forget)
		}
		d.toolBlk = make([]octomesh.ToolCall, 0, max(size, n))
	}
	start := len(d.toolBlk)
	d.toolBlk = append(d.toolBlk, tcs...)
	return d.toolBlk[start : start+n : start+n]
}

// intPtr returns a pointer to a new int holding v: in a stream, one of an
// index block's (each handed out once, never written again by the
// decoder); otherwise allocated alone.
func (d *chunkDecoder) intPtr(v int) *int {
	if d.room == nil {
		p := new(int)
		*p = v
		return p
	}
	if len(d.intBlk) == cap(d.intBlk) {
		size := intBlock
		if d.forgot && d.intBlk == nil {
			size = 1 // after a wait: only this chunk's (forget)
		}
		d.intBlk = make([]int, 0, size)
	}
	d.intBlk = append(d.intBlk, v)
	return &d.intBlk[len(d.intBlk)-1]
}
