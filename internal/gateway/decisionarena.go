package gateway

// arenaChunk is the size of an arena chunk: large enough that a store of
// the default capacity has a few dozen, small enough that the chunk left
// partly dead at each end of the store costs little.
const arenaChunk = 64 << 10

// span locates one record in an arena.
type span struct {
	chunk, off, n uint32
}

// chunk is a buffer of records and how many of them are live.
type chunk struct {
	b    []byte // nil once released
	live int
}

// arena holds the decision store's records in chunks, so the store keeps a
// few dozen pointer-free buffers instead of a graph of objects per
// decision. Records are appended to the tail chunk; a chunk is released
// (and its buffer kept for reuse) once none of its records is live. The
// store evicts the oldest records first, so chunks empty in order and
// nothing needs copying; when replacements leave chunks mostly dead the
// store compacts (see decisionStore.compact). It is not safe for
// concurrent use.
type arena struct {
	chunkSize int // 0 means arenaChunk; tests make it small
	chunks    []chunk
	free      []uint32 // released chunk numbers, to reuse
	spare     []byte   // a released chunk's buffer, to reuse
	tail      uint32   // the chunk records are appended to
	live      int      // bytes of live records
	held      int      // bytes of chunk buffers held
}

// add copies rec into the arena and returns where it is.
func (a *arena) add(rec []byte) span {
	if len(a.chunks) == 0 || cap(a.chunks[a.tail].b)-len(a.chunks[a.tail].b) < len(rec) {
		a.newTail(len(rec))
	}
	c := &a.chunks[a.tail]
	off := len(c.b)
	c.b = append(c.b, rec...)
	c.live++
	a.live += len(rec)
	return span{chunk: a.tail, off: uint32(off), n: uint32(len(rec))}
}

// bytes returns the record at s; it is valid until the arena next changes.
func (a *arena) bytes(s span) []byte {
	return a.chunks[s.chunk].b[s.off : s.off+s.n : s.off+s.n]
}

// release marks the record at s dead.
func (a *arena) release(s span) {
	c := &a.chunks[s.chunk]
	c.live--
	a.live -= int(s.n)
	if c.live == 0 && s.chunk != a.tail {
		a.drop(s.chunk)
	}
}

// newTail starts a chunk with room for at least n bytes. A record larger
// than a chunk gets a chunk of its own size.
func (a *arena) newTail(n int) {
	if len(a.chunks) > 0 && a.chunks[a.tail].live == 0 {
		a.drop(a.tail)
	}
	var b []byte
	if n <= a.size() && a.spare != nil {
		b, a.spare = a.spare, nil
	} else {
		b = make([]byte, 0, max(n, a.size()))
	}
	a.held += cap(b)
	c := chunk{b: b}
	if k := len(a.free); k > 0 {
		a.tail = a.free[k-1]
		a.free = a.free[:k-1]
		a.chunks[a.tail] = c
		return
	}
	a.tail = uint32(len(a.chunks))
	a.chunks = append(a.chunks, c)
}

// drop releases chunk i, keeping a standard-size buffer for reuse.
func (a *arena) drop(i uint32) {
	b := a.chunks[i].b
	a.held -= cap(b)
	if a.spare == nil && cap(b) == a.size() {
		a.spare = b[:0]
	}
	a.chunks[i] = chunk{}
	a.free = append(a.free, i)
}

// wasteful reports whether dead records hold more than the live ones by a
// margin worth a compaction: more than twice the live bytes and four
// chunks besides. Eviction in order never gets there; replacing records
// (a put for an id already stored) can.
func (a *arena) wasteful() bool {
	return a.held > 2*a.live+4*a.size()
}

// size is the standard chunk size.
func (a *arena) size() int {
	if a.chunkSize > 0 {
		return a.chunkSize
	}
	return arenaChunk
}
