package quality

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// encoder appends little-endian values to a buffer.
type encoder struct{ b []byte }

func (e *encoder) u8(v uint8)   { e.b = append(e.b, v) }
func (e *encoder) u32(v uint32) { e.b = binary.LittleEndian.AppendUint32(e.b, v) }
func (e *encoder) u64(v uint64) { e.b = binary.LittleEndian.AppendUint64(e.b, v) }
func (e *encoder) uv(v uint64)  { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) int(v int)    { e.uv(uint64(v)) }
func (e *encoder) f64(v float64) {
	e.u64(math.Float64bits(v))
}
func (e *encoder) f32(v float32) { e.u32(math.Float32bits(v)) }
func (e *encoder) bool(v bool) {
	if v {
		e.u8(1)
	} else {
		e.u8(0)
	}
}
func (e *encoder) str(s string) { e.int(len(s)); e.b = append(e.b, s...) }
func (e *encoder) f64s(v []float64) {
	e.int(len(v))
	for _, x := range v {
		e.f64(x)
	}
}
func (e *encoder) f32s(v []float32) {
	e.int(len(v))
	for _, x := range v {
		e.f32(x)
	}
}

// halfs writes v as IEEE 754 half-precision floats (model weights do not
// need more; the artifact halves).
func (e *encoder) halfs(v []float32) {
	e.int(len(v))
	for _, x := range v {
		h := toHalf(x)
		e.b = append(e.b, byte(h), byte(h>>8))
	}
}

// sparseHalfs writes v as (index delta, half) pairs of its non-zero
// entries after half rounding: hashed weight vectors are mostly zero.
func (e *encoder) sparseHalfs(v []float32) {
	e.int(len(v))
	nz := 0
	for _, x := range v {
		if toHalf(x)&0x7fff != 0 {
			nz++
		}
	}
	e.int(nz)
	last := -1
	for i, x := range v {
		h := toHalf(x)
		if h&0x7fff == 0 {
			continue
		}
		e.int(i - last - 1)
		e.b = append(e.b, byte(h), byte(h>>8))
		last = i
	}
}

// errTruncated reports an artifact that ends early.
var errTruncated = errors.New("truncated data")

// decoder reads what encoder wrote. The first error sticks; reads after it
// return zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.fail(errTruncated)
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) u8() uint8 {
	if p := d.take(1); p != nil {
		return p[0]
	}
	return 0
}
func (d *decoder) u32() uint32 {
	if p := d.take(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}
func (d *decoder) u64() uint64 {
	if p := d.take(8); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}
func (d *decoder) uv() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errTruncated)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// int reads a length or count, bounded so a corrupt value cannot make the
// decoder allocate more than the remaining input could hold.
func (d *decoder) int() int {
	v := d.uv()
	if v > uint64(len(d.b))*8+1<<20 {
		d.fail(fmt.Errorf("implausible length %d", v))
		return 0
	}
	return int(v)
}
func (d *decoder) f64() float64 { return math.Float64frombits(d.u64()) }
func (d *decoder) f32() float32 { return math.Float32frombits(d.u32()) }
func (d *decoder) bool() bool   { return d.u8() != 0 }
func (d *decoder) str() string  { return string(d.take(d.int())) }

func (d *decoder) f64s() []float64 {
	n := d.int()
	if d.err != nil || n > len(d.b)/8 {
		d.fail(errTruncated)
		return nil
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = d.f64()
	}
	return v
}

func (d *decoder) f32s() []float32 {
	n := d.int()
	if d.err != nil || n > len(d.b)/4 {
		d.fail(errTruncated)
		return nil
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = d.f32()
	}
	return v
}

func (d *decoder) halfs() []float32 {
	n := d.int()
	if d.err != nil || n > len(d.b)/2 {
		d.fail(errTruncated)
		return nil
	}
	v := make([]float32, n)
	p := d.take(2 * n)
	for i := range v {
		v[i] = fromHalf(uint16(p[2*i]) | uint16(p[2*i+1])<<8)
	}
	return v
}

// sparseHalfs reads a vector written by encoder.sparseHalfs; maxLen bounds
// its length (the caller knows the feature dimension).
func (d *decoder) sparseHalfs(maxLen int) []float32 {
	n := int(d.uv())
	nz := d.int()
	if d.err != nil {
		return nil
	}
	if n > maxLen || nz > n || nz > len(d.b)/3 {
		d.fail(fmt.Errorf("sparse vector: %d of %d entries (at most %d)", nz, n, maxLen))
		return nil
	}
	v := make([]float32, n)
	pos := -1
	for k := 0; k < nz && d.err == nil; k++ {
		pos += int(d.uv()) + 1
		p := d.take(2)
		if p == nil {
			break
		}
		if pos >= n {
			d.fail(fmt.Errorf("sparse vector: index %d out of range %d", pos, n))
			return nil
		}
		v[pos] = fromHalf(uint16(p[0]) | uint16(p[1])<<8)
	}
	return v
}

// roundHalves rounds v in place to half precision: a trained router holds
// exactly the weights its artifact will, so saving and loading changes no
// prediction.
func roundHalves(v []float32) {
	for i, x := range v {
		v[i] = fromHalf(toHalf(x))
	}
}

// toHalf converts to IEEE 754 binary16, rounding to nearest even, with
// overflow to ±Inf and underflow through subnormals to ±0.
func toHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	mant := b & 0x7fffff
	switch {
	case b&0x7fffffff == 0:
		return sign
	case b>>23&0xff == 0xff: // Inf or NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp >= 0x1f:
		return sign | 0x7c00
	case exp <= 0:
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint(14 - exp)
		h := mant >> shift
		rem := mant & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || rem == half && h&1 == 1 {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(exp)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++ // may carry into the exponent, which is still correct (up to Inf)
	}
	return sign | uint16(h)
}

// fromHalf converts IEEE 754 binary16 to float32.
func fromHalf(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal: value = mant × 2^-24.
		f := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}
