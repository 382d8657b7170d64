package gateway

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"time"

	"github.com/octomesh/octomesh"
)

// The decision codec turns an *octomesh.Decision into a compact,
// pointer-free byte record for the decision store, and back. A record is
// only ever read by the process that wrote it, with the same symbol table,
// so the format has no version and no field tags.
//
// Layout, in order (varints are encoding/binary's; ints are zigzag):
//
//	request id   inline string (first, with the org: the store's key,
//	             which it matches without decoding the rest)
//	org          string
//	flags        byte: bit 0 Explored, bits 1-2 the time's location kind
//	time         seconds since 1970 (int), nanoseconds (uvarint); for
//	             another location, its zone name (string) and offset (int)
//	requested model, objective, policy version, outcome   strings
//	prompt cluster int
//	candidates, excluded, plan, attempts   each a list
//
// A string is a uvarint tag: index<<1|1 names a symbol of the table (see
// decisionsymbols.go); len<<1 is followed by len bytes. A list is a uvarint
// n+1 followed by n elements; 0 is a nil slice, so nil and empty slices come
// back as they went.
// Floats are their IEEE bits, so every value (including -0, infinities and
// NaN payloads) comes back bit for bit: byte-reversed as a uvarint when that
// is shorter (a flag bit says so), else 8 bytes little-endian.
//
// Time normalisation: the monotonic clock reading is dropped (it means
// nothing once the request is over, and JSON never shows it). Times in UTC
// or time.Local come back in that same location, deeply equal to
// t.Round(0); a time in any other location comes back in a fixed zone of
// the same name and offset: the same instant, and the same JSON.

// Location kinds in a record's flags.
const (
	locUTC   = 0
	locLocal = 1
	locFixed = 2
)

// encoder appends one decision's record to buf.
type encoder struct {
	buf  []byte
	syms *symbols
}

// encodeDecision appends dec's record to buf, adding new symbols to syms.
func encodeDecision(buf []byte, dec *octomesh.Decision, syms *symbols) []byte {
	e := encoder{buf: buf, syms: syms}
	e.inline(dec.RequestID)
	e.symbol(dec.OrgID)
	var flags byte
	if dec.Explored {
		flags |= 1
	}
	kind := locFixed
	switch dec.Time.Location() {
	case time.UTC:
		kind = locUTC
	case time.Local:
		kind = locLocal
	}
	e.buf = append(e.buf, flags|byte(kind)<<1)
	e.int(dec.Time.Unix())
	e.buf = binary.AppendUvarint(e.buf, uint64(dec.Time.Nanosecond()))
	if kind == locFixed {
		name, offset := dec.Time.Zone()
		e.symbol(name)
		e.int(int64(offset))
	}
	e.symbol(dec.Requested)
	e.symbol(string(dec.Objective))
	e.symbol(dec.PolicyVersion)
	e.symbol(dec.Outcome)
	e.int(int64(dec.PromptCluster))

	e.count(dec.Candidates == nil, len(dec.Candidates))
	for i := range dec.Candidates {
		c := &dec.Candidates[i]
		e.symbol(c.Deployment)
		e.buf = append(e.buf, bit(c.Probe, 0)|bit(c.PanicFloor, 1)|
			bit(shortFloat(c.Quality), 2)|bit(shortFloat(c.ExpectedLatency), 3)|bit(shortFloat(c.Score), 4))
		e.float(c.Quality)
		e.int(int64(c.ExpectedCost))
		e.float(c.ExpectedLatency)
		e.float(c.Score)
		e.int(int64(c.Outstanding))
	}
	e.count(dec.Excluded == nil, len(dec.Excluded))
	for i := range dec.Excluded {
		x := &dec.Excluded[i]
		e.symbol(x.Deployment)
		e.symbol(x.Constraint)
		if hasDigit(x.Reason) {
			// A reason with numbers in it (token counts, costs, times)
			// is rarely seen twice; interning it would fill the table.
			e.inline(x.Reason)
		} else {
			e.symbol(x.Reason)
		}
	}
	e.count(dec.Plan == nil, len(dec.Plan))
	for _, name := range dec.Plan {
		e.symbol(name)
	}
	e.count(dec.Attempts == nil, len(dec.Attempts))
	for i := range dec.Attempts {
		a := &dec.Attempts[i]
		e.symbol(a.Deployment)
		e.symbol(a.Provider)
		e.symbol(a.Outcome)
		e.buf = append(e.buf, bit(a.Hedge, 0)|bit(a.Continued, 1))
		e.int(int64(a.Status))
		e.int(int64(a.Start))
		e.int(int64(a.Duration))
		e.int(int64(a.TTFB))
		e.int(int64(a.Relayed))
	}
	return e.buf
}

func (e *encoder) inline(v string) {
	e.buf = binary.AppendUvarint(e.buf, uint64(len(v))<<1)
	e.buf = append(e.buf, v...)
}

func (e *encoder) symbol(v string) {
	if v == "" {
		e.buf = append(e.buf, 0) // inline, as short as a symbol
		return
	}
	if i, ok := e.syms.lookup(v); ok {
		e.buf = binary.AppendUvarint(e.buf, uint64(i)<<1|1)
		return
	}
	e.inline(v)
}

func (e *encoder) int(v int64) { e.buf = binary.AppendVarint(e.buf, v) }

// float writes v as shortFloat says: its bits byte-reversed as a uvarint,
// or its 8 bytes.
func (e *encoder) float(v float64) {
	if shortFloat(v) {
		e.buf = binary.AppendUvarint(e.buf, bits.ReverseBytes64(math.Float64bits(v)))
		return
	}
	e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(v))
}

// shortFloat reports whether v's bits, byte-reversed, make a uvarint of
// less than 8 bytes: true when the low mantissa bytes are zero, as for 0,
// 0.5 or whole numbers of milliseconds, which priors and defaults often are.
func shortFloat(v float64) bool {
	return bits.ReverseBytes64(math.Float64bits(v)) < 1<<49
}

// count writes a list's length, distinguishing a nil slice.
func (e *encoder) count(isNil bool, n int) {
	if isNil {
		e.buf = append(e.buf, 0)
		return
	}
	e.buf = binary.AppendUvarint(e.buf, uint64(n)+1)
}

func bit(b bool, n uint) byte {
	if b {
		return 1 << n
	}
	return 0
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			return true
		}
	}
	return false
}

// errCorruptRecord is returned for bytes encodeDecision did not write.
var errCorruptRecord = errors.New("corrupt decision record")

// decoder reads one record. It never panics on malformed input: the first
// problem sets err, after which every read returns zero values.
type decoder struct {
	b     []byte
	names []string
	err   error
}

// decodeDecision decodes a record written by encodeDecision with the symbol
// table names. The result shares no memory with rec.
func decodeDecision(rec []byte, names []string) (*octomesh.Decision, error) {
	d := decoder{b: rec, names: names}
	dec := &octomesh.Decision{RequestID: d.string(), OrgID: d.string()}
	flags := d.byte()
	dec.Explored = flags&1 != 0
	sec := d.int()
	nsec := d.uvarint()
	if nsec >= 1e9 {
		d.fail()
	}
	t := time.Unix(sec, int64(nsec))
	switch flags >> 1 {
	case locUTC:
		t = t.UTC()
	case locLocal:
	case locFixed:
		name := d.string()
		offset := d.int()
		if offset < math.MinInt32 || offset > math.MaxInt32 {
			d.fail()
		}
		t = t.In(time.FixedZone(name, int(offset)))
	default:
		d.fail()
	}
	dec.Time = t
	dec.Requested = d.string()
	dec.Objective = octomesh.Objective(d.string())
	dec.PolicyVersion = d.string()
	dec.Outcome = d.string()
	dec.PromptCluster = int(d.int())

	if n, ok := d.count(); ok {
		dec.Candidates = make([]octomesh.CandidateScore, n)
		for i := range dec.Candidates {
			c := &dec.Candidates[i]
			c.Deployment = d.string()
			f := d.byte()
			c.Probe, c.PanicFloor = f&1 != 0, f&2 != 0
			c.Quality = d.float(f&4 != 0)
			c.ExpectedCost = octomesh.Money(d.int())
			c.ExpectedLatency = d.float(f&8 != 0)
			c.Score = d.float(f&16 != 0)
			c.Outstanding = int(d.int())
		}
	}
	if n, ok := d.count(); ok {
		dec.Excluded = make([]octomesh.Exclusion, n)
		for i := range dec.Excluded {
			x := &dec.Excluded[i]
			x.Deployment = d.string()
			x.Constraint = d.string()
			x.Reason = d.string()
		}
	}
	if n, ok := d.count(); ok {
		dec.Plan = make([]string, n)
		for i := range dec.Plan {
			dec.Plan[i] = d.string()
		}
	}
	if n, ok := d.count(); ok {
		dec.Attempts = make([]octomesh.AttemptRecord, n)
		for i := range dec.Attempts {
			a := &dec.Attempts[i]
			a.Deployment = d.string()
			a.Provider = d.string()
			a.Outcome = d.string()
			f := d.byte()
			a.Hedge, a.Continued = f&1 != 0, f&2 != 0
			a.Status = int(d.int())
			a.Start = time.Duration(d.int())
			a.Duration = time.Duration(d.int())
			a.TTFB = time.Duration(d.int())
			a.Relayed = int(d.int())
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	if d.err != nil {
		return nil, d.err
	}
	return dec, nil
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorruptRecord
		d.b = nil
	}
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) float(short bool) float64 {
	if short {
		return math.Float64frombits(bits.ReverseBytes64(d.uvarint()))
	}
	if len(d.b) < 8 {
		d.fail()
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

func (d *decoder) string() string {
	tag := d.uvarint()
	if tag&1 != 0 {
		i := tag >> 1
		if i >= uint64(len(d.names)) {
			d.fail()
			return ""
		}
		return d.names[i]
	}
	n := tag >> 1
	if n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	v := string(d.b[:n])
	d.b = d.b[n:]
	return v
}

// count reads a list's length; ok is false for a nil slice. Every element
// takes at least a byte, so a length beyond the bytes left is corrupt (and
// is not allocated).
func (d *decoder) count() (int, bool) {
	v := d.uvarint()
	if v == 0 {
		return 0, false
	}
	if v-1 > uint64(len(d.b)) {
		d.fail()
		return 0, false
	}
	return int(v - 1), true
}

// recordIs reports whether rec, a record written with the symbol table
// names, is the decision of request id for org: the decision store's key.
// It decodes only the two and allocates nothing; a malformed record is
// nobody's.
func recordIs(rec []byte, names []string, org, id string) bool {
	tag, v, rest, ok := field(rec)
	if !ok || tag&1 != 0 || string(v) != id {
		return false
	}
	tag, v, _, ok = field(rest)
	switch {
	case !ok:
		return false
	case tag&1 != 0:
		i := tag >> 1
		return i < uint64(len(names)) && names[i] == org
	}
	return string(v) == org
}

// field splits the string at the start of rec into its tag, its bytes
// (nil for a symbol) and the rest of rec; ok is false if it is malformed.
func field(rec []byte) (tag uint64, v, rest []byte, ok bool) {
	tag, n := binary.Uvarint(rec)
	if n <= 0 {
		return 0, nil, nil, false
	}
	rec = rec[n:]
	if tag&1 != 0 {
		return tag, nil, rec, true
	}
	if tag>>1 > uint64(len(rec)) {
		return 0, nil, nil, false
	}
	return tag, rec[:tag>>1], rec[tag>>1:], true
}
