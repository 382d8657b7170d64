package openai

import (
	"math"
	"unsafe"
	"weak"

	"github.com/octomesh/octomesh"
)

// A stream's decoded strings are carved out of blocks that the stream's
// chunks share, one block for many tokens, instead of each allocating its
// own. A block is only ever appended to: bytes handed out are never
// written again, so a string kept by a consumer (past the next chunk, or
// past the stream) stays as it was, and keeps its block alive as long as
// it needs it. A new block replaces a full one; nothing is reused. A
// stream that waits holds its blocks only weakly (park), and fills on
// after the wait those still there. (Tool calls and their indexes are
// carved alike.)
//
// A stream's choices are not: they are lent (lendChoices), read into the
// stream's own array and valid until the next chunk, as the ChatStream
// contract has it (a consumer that keeps a chunk copies its choices, as
// the failover and hedging streams do). Carved from blocks of up to 16,
// they cost a block and a weak pointer per 16 tokens, and, as a waiting
// stream's token during a collection's mark takes its parked block back
// (a weak pointer's Value keeps its object), most waiting streams held a
// 1,536-byte block through every collection (1.1 KB per stream at 2,000
// streams).

const (
	// strBlock is the size of a stream's string block: a token's text is
	// a few bytes, so one block serves dozens of chunks.
	strBlock = 512
	// maxBlockString is the longest string carved from a stream's block;
	// a longer one is allocated alone (it would waste most of a block).
	maxBlockString = strBlock / 4
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
	if d.strs == nil {
		d.strs = unpark(&d.parked.strs, &d.parked.size[0])
	}
	if cap(d.strs)-len(d.strs) < n {
		size := d.strsSize
		if size == 0 {
			if n > maxBlockString {
				return string(raw)
			}
			// From half a block up, so that a short stream's few
			// tokens do not take a whole one.
			size = min(max(2*cap(d.strs), strBlock/2), strBlock)
		}
		if n > size {
			return string(raw)
		}
		if r := d.room; r != nil && !r.usedStrs && n <= len(r.strs) {
			r.usedStrs = true
			d.strs = r.strs[:0]
			d.parked.strs = weak.Pointer[byte]{}
		} else {
			d.strs = make([]byte, 0, size)
			d.parked.strs = weak.Pointer[byte]{}
		}
	}
	start := len(d.strs)
	d.strs = append(d.strs, raw...)
	return unsafe.String(&d.strs[start], n)
}

// lendChoices returns the choices read into buf (the decoder's choice
// buffer, choiceArray) as a chunk's, its capacity its length, so that
// appending to it cannot reach the buffer's next element. In a stream
// they are lent: the next chunk is read into the same array. Decoded
// alone, a chunk's choices are a copy of their own.
func (d *chunkDecoder) lendChoices(buf []octomesh.ChunkChoice) []octomesh.ChunkChoice {
	n := len(buf)
	if n == 0 {
		return []octomesh.ChunkChoice{} // not nil: as encoding/json decodes []
	}
	if d.room == nil {
		own := make([]octomesh.ChunkChoice, n)
		copy(own, buf)
		clear(buf) // keep no strings alive through the scratch slice
		return own
	}
	d.lent = max(d.lent, n)
	return buf[:n:n]
}

// choiceArray returns the decoder's choice buffer, empty: a stream's own
// array (room.choices) unless a chunk with more choices needed a larger.
func (d *chunkDecoder) choiceArray() []octomesh.ChunkChoice {
	if d.choiceBuf == nil && d.room != nil {
		d.choiceBuf = d.room.choices[:0]
	}
	return d.choiceBuf[:0]
}

// parked is what a stream waiting for its next event keeps of the blocks
// it carves from: a weak pointer to each, and its length and capacity. The
// stream holds its chunks' blocks only while it reads a burst; through a
// wait, only what a consumer kept of a chunk holds them, so 2,000 streams
// waiting for their next token hold no blocks (800 bytes each when they
// held their current ones). A block that is still there after the wait is
// filled on, as if the stream had held it: a token after a wait costs no
// allocation, as one in a burst. One the collector freed meanwhile, as
// nothing held it, is replaced. Filling on is safe as blocks are only
// appended to: what a consumer kept of them is never written.
//
// A weak pointer is made once per block (it costs the runtime a 16-byte
// handle and a lock): a block's stays set until a new block replaces it.
type parked struct {
	strs  weak.Pointer[byte]
	tools weak.Pointer[octomesh.ToolCall]
	ints  weak.Pointer[int]
	size  [3][2]uint16 // each block's length and capacity, in that order
}

// park lets go of the decoder's last chunk and of its blocks, for a
// stream about to wait for its next event (see parked), and clears the
// lent choices, whose strings would hold their blocks. The stream's own
// room, in the stream, stays as it is; a larger choice array is dropped.
func (d *chunkDecoder) park() {
	// The last chunk's choices hold its blocks' strings; its header
	// strings are the stream's (d.head keeps them), and its usage the
	// stream's room or its own.
	d.w.Choices, d.w.Usage = nil, nil
	if d.lent > 0 {
		clear(d.choiceBuf[:d.lent])
		d.lent = 0
	}
	p, r := &d.parked, d.room
	if r != nil && cap(d.choiceBuf) > roomChoices {
		d.choiceBuf = nil
		clear(r.choices[:]) // what was read into it before a larger array replaced it
	}
	if r == nil || cap(d.strs) == 0 || unsafe.SliceData(d.strs) != &r.strs[0] {
		d.strs = park(d.strs, &p.strs, &p.size[0])
	}
	d.toolBlk = park(d.toolBlk, &p.tools, &p.size[1])
	d.intBlk = park(d.intBlk, &p.ints, &p.size[2])
}

// park returns nil, having set *wp (unless already set: it is the block's)
// and *size to find blk again; a block too large to note is let go of.
func park[T any](blk []T, wp *weak.Pointer[T], size *[2]uint16) []T {
	if blk == nil {
		return nil // not taken again since the last wait, or none yet
	}
	if cap(blk) == 0 || cap(blk) > math.MaxUint16 {
		*wp, *size = weak.Pointer[T]{}, [2]uint16{}
		return nil
	}
	if *wp == (weak.Pointer[T]{}) {
		*wp = weak.Make(unsafe.SliceData(blk[:1]))
	}
	*size = [2]uint16{uint16(len(blk)), uint16(cap(blk))}
	return nil
}

// unpark returns the block park noted, if the collector has not freed it,
// or nil.
func unpark[T any](wp *weak.Pointer[T], size *[2]uint16) []T {
	if *wp == (weak.Pointer[T]{}) {
		return nil
	}
	p := wp.Value()
	if p == nil {
		*wp = weak.Pointer[T]{} // let go of the runtime's handle too
		return nil
	}
	return unsafe.Slice(p, size[1])[:size[0]]
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

// carveToolCalls returns a copy of tcs in the tool-call block, its
// capacity its length, so that appending to it cannot reach the next
// chunk's tool calls.
func (d *chunkDecoder) carveToolCalls(tcs []octomesh.ToolCall) []octomesh.ToolCall {
	n := len(tcs)
	if n == 0 {
		return []octomesh.ToolCall{} // not nil: as encoding/json decodes []
	}
	if d.toolBlk == nil {
		d.toolBlk = unpark(&d.parked.tools, &d.parked.size[1])
	}
	if cap(d.toolBlk)-len(d.toolBlk) < n {
		d.toolBlk = make([]octomesh.ToolCall, 0, max(toolBlock, n))
		d.parked.tools = weak.Pointer[octomesh.ToolCall]{}
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
	if d.intBlk == nil {
		d.intBlk = unpark(&d.parked.ints, &d.parked.size[2])
	}
	if len(d.intBlk) == cap(d.intBlk) {
		d.intBlk = make([]int, 0, intBlock)
		d.parked.ints = weak.Pointer[int]{}
	}
	d.intBlk = append(d.intBlk, v)
	return &d.intBlk[len(d.intBlk)-1]
}
