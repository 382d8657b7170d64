package quality

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"sort"
)

// Artifact layout (all integers little-endian):
//
//	magic    8 bytes  "OCTQRTR\x00"
//	version  uint32   ArtifactVersion
//	length   uint64   payload length in bytes
//	payload  length bytes (see encode)
//	crc      uint32   CRC-32C (Castagnoli) of the payload
//
// A reader rejects another magic, another version, a payload that is
// shorter than its length, trailing bytes, a checksum mismatch, and a
// payload that does not decode into a consistent router.

// ArtifactVersion is the version of the artifact format this build writes
// and reads. Bump it whenever the payload or the featuriser changes.
const ArtifactVersion = 3

var artifactMagic = [8]byte{'O', 'C', 'T', 'Q', 'R', 'T', 'R', 0}

// maxArtifact bounds the payload a reader accepts.
const maxArtifact = 1 << 30

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrArtifact is wrapped by every error Load returns for a bad artifact.
var ErrArtifact = errors.New("invalid router artifact")

func artifactErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrArtifact, fmt.Sprintf(format, args...))
}

// Save writes the router as a versioned artifact to w.
func (r *Router) Save(w io.Writer) error {
	var e encoder
	r.encode(&e)
	var head [20]byte
	copy(head[:8], artifactMagic[:])
	binary.LittleEndian.PutUint32(head[8:], ArtifactVersion)
	binary.LittleEndian.PutUint64(head[12:], uint64(len(e.b)))
	var tail [4]byte
	binary.LittleEndian.PutUint32(tail[:], crc32.Checksum(e.b, castagnoli))
	for _, p := range [][]byte{head[:], e.b, tail[:]} {
		if _, err := w.Write(p); err != nil {
			return fmt.Errorf("write router artifact: %w", err)
		}
	}
	return nil
}

// Load reads a router artifact written by Save. Errors for malformed input
// wrap ErrArtifact and say what is wrong (magic, version, truncation,
// checksum, inconsistent contents).
func Load(r io.Reader) (*Router, error) {
	var head [20]byte
	if n, err := io.ReadFull(r, head[:]); err != nil {
		if n == 0 && err == io.EOF {
			return nil, artifactErr("empty input")
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, artifactErr("truncated header (%d of %d bytes)", n, len(head))
		}
		return nil, fmt.Errorf("read router artifact: %w", err)
	}
	if !bytes.Equal(head[:8], artifactMagic[:]) {
		return nil, artifactErr("not a router artifact (bad magic)")
	}
	if v := binary.LittleEndian.Uint32(head[8:]); v != ArtifactVersion {
		return nil, artifactErr("format version %d, this build reads version %d (retrain with this build)", v, ArtifactVersion)
	}
	n := binary.LittleEndian.Uint64(head[12:])
	if n > maxArtifact {
		return nil, artifactErr("payload length %d exceeds the limit", n)
	}
	// Read exactly the payload and checksum, growing as data arrives, so a
	// corrupt length cannot force a huge allocation.
	var buf bytes.Buffer
	got, err := io.CopyN(&buf, r, int64(n)+4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read router artifact: %w", err)
	}
	if got < int64(n)+4 {
		return nil, artifactErr("truncated: %d of %d payload and checksum bytes", got, n+4)
	}
	var extra [1]byte
	if k, _ := r.Read(extra[:]); k > 0 {
		return nil, artifactErr("trailing data after the checksum")
	}
	b := buf.Bytes()
	payload, sum := b[:n], binary.LittleEndian.Uint32(b[n:])
	if crc32.Checksum(payload, castagnoli) != sum {
		return nil, artifactErr("checksum mismatch (corrupted file)")
	}
	d := decoder{b: payload}
	rt, err := decode(&d)
	if err != nil {
		return nil, artifactErr("%v", err)
	}
	return rt, nil
}

// Section tags, so a decoding error names the section.
const (
	tagLR      = 1
	tagLowRank = 2
	tagKNN     = 3
	tagBlend   = 4 // per-model blend weights (routers extended by WithModel)
	tagCalib   = 5 // per-model Platt scaling of the blended logit
	tagEnd     = 0xff
)

func (r *Router) encode(e *encoder) {
	f := r.features
	e.int(f.Bits)
	e.bool(f.Bigrams)
	e.int(f.CharMin)
	e.int(f.CharMax)
	e.int(f.TailBytes)
	e.int(f.CharBytes)
	e.int(f.WordBytes)
	e.f32(f.WWords)
	e.f32(f.WChars)
	e.f32(f.WTail)
	e.f32(f.WShape)
	e.int(f.MaxBytes)
	e.f32(f.WConj)
	e.int(len(r.models))
	for _, m := range r.models {
		e.str(m)
	}
	e.f64(r.prior)
	e.f64(r.tokPerByte)
	e.f64s(r.blend)
	e.f64s(r.lambdaKnots)
	for _, c := range r.cost {
		e.f64(c.PriceIn)
		e.f64(c.PriceOut)
		e.f64(c.OutMean)
		e.f64s(c.OutW)
		e.f64(c.OutBias)
		e.f64(c.OutVar)
		e.bool(c.HasOut)
		e.int(c.Samples)
		e.f64(c.Typical)
	}
	if r.lr != nil {
		e.u8(tagLR)
		for _, m := range r.lr {
			e.f32(m.Bias)
			e.sparseHalfs(m.W)
		}
	}
	if r.lowRank != nil {
		e.u8(tagLowRank)
		e.int(r.lowRank.D)
		e.halfs(r.lowRank.P)
		e.f32s(r.lowRank.U)
		e.f32s(r.lowRank.B)
	}
	if r.knn != nil {
		k := r.knn
		e.u8(tagKNN)
		e.int(k.N)
		e.int(k.cfg.K)
		e.f64(k.cfg.Power)
		e.f64(k.cfg.Alpha)
		e.f64(k.cfg.MaxDF)
		e.int(len(k.Start))
		for i := 1; i < len(k.Start); i++ {
			e.int(int(k.Start[i] - k.Start[i-1]))
		}
		for j := 0; j+1 < len(k.Start); j++ { // postings: doc deltas within a bucket
			last := int32(-1)
			for p := k.Start[j]; p < k.Start[j+1]; p++ {
				e.int(int(k.Doc[p] - last - 1))
				last = k.Doc[p]
			}
		}
		e.halfs(k.Val)
		e.int(len(k.LStart))
		for i := 1; i < len(k.LStart); i++ {
			e.int(int(k.LStart[i] - k.LStart[i-1]))
		}
		for _, l := range k.Labels {
			e.int(int(l.M))
			e.f32(l.Score)
		}
		e.f64s(k.Prior)
	}
	if r.calib != nil {
		e.u8(tagCalib)
		for _, ab := range r.calib {
			e.f64(ab[0])
			e.f64(ab[1])
		}
	}
	if r.modelBlend != nil {
		e.u8(tagBlend)
		for _, b := range r.modelBlend {
			e.f64s(b[:])
		}
	}
	e.u8(tagEnd)
}

func decode(d *decoder) (*Router, error) {
	r := &Router{}
	f := &r.features
	f.Bits = d.int()
	f.Bigrams = d.bool()
	f.CharMin = d.int()
	f.CharMax = d.int()
	f.TailBytes = d.int()
	f.CharBytes = d.int()
	f.WordBytes = d.int()
	f.WWords = d.f32()
	f.WChars = d.f32()
	f.WTail = d.f32()
	f.WShape = d.f32()
	f.MaxBytes = d.int()
	f.WConj = d.f32()
	if d.err != nil {
		return nil, fmt.Errorf("features: %w", d.err)
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	dim := f.Dim()
	nm := d.int()
	for i := 0; i < nm && d.err == nil; i++ {
		r.models = append(r.models, d.str())
	}
	if d.err == nil && !sort.StringsAreSorted(r.models) {
		return nil, fmt.Errorf("models: not sorted")
	}
	for i := 1; i < len(r.models); i++ {
		if r.models[i] == r.models[i-1] {
			return nil, fmt.Errorf("models: %q listed twice", r.models[i])
		}
	}
	r.prior = d.f64()
	r.tokPerByte = d.f64()
	r.blend = d.f64s()
	r.lambdaKnots = d.f64s()
	if d.err != nil {
		return nil, fmt.Errorf("header: %w", d.err)
	}
	if len(r.blend) != numComponents {
		return nil, fmt.Errorf("blend: %d weights, want %d", len(r.blend), numComponents)
	}
	for i := 1; i < len(r.lambdaKnots); i++ {
		if !(r.lambdaKnots[i] <= r.lambdaKnots[i-1]) || r.lambdaKnots[i] < 0 {
			return nil, fmt.Errorf("tradeoff mapping: not decreasing")
		}
	}
	r.cost = make([]costModel, nm)
	for i := range r.cost {
		c := &r.cost[i]
		c.PriceIn = d.f64()
		c.PriceOut = d.f64()
		c.OutMean = d.f64()
		c.OutW = d.f64s()
		c.OutBias = d.f64()
		c.OutVar = d.f64()
		c.HasOut = d.bool()
		c.Samples = d.int()
		c.Typical = d.f64()
		if d.err == nil && !(c.Typical >= 0 && c.Typical < math.Inf(1)) {
			return nil, fmt.Errorf("cost model %d: typical cost %v", i, c.Typical)
		}
		if d.err == nil && len(c.OutW) != 0 && len(c.OutW) != NumShape {
			return nil, fmt.Errorf("cost model %d: %d weights, want %d", i, len(c.OutW), NumShape)
		}
	}
	if d.err != nil {
		return nil, fmt.Errorf("cost models: %w", d.err)
	}
	for d.err == nil {
		tag := d.u8()
		if d.err != nil {
			break
		}
		switch tag {
		case tagEnd:
			if len(d.b) != 0 {
				return nil, fmt.Errorf("%d bytes after the end tag", len(d.b))
			}
			if err := r.check(); err != nil {
				return nil, err
			}
			r.init()
			return r, nil
		case tagLR:
			r.lr = make([]linearModel, nm)
			for i := range r.lr {
				r.lr[i].Bias = d.f32()
				r.lr[i].W = d.sparseHalfs(dim)
				if d.err == nil && len(r.lr[i].W) != dim {
					return nil, fmt.Errorf("logistic model %d: %d weights, want %d", i, len(r.lr[i].W), dim)
				}
			}
		case tagLowRank:
			l := &lowRank{}
			l.D = d.int()
			l.P = d.halfs()
			l.U = d.f32s()
			l.B = d.f32s()
			if d.err == nil && (l.D < 1 || len(l.P) != dim*l.D || len(l.U) != nm*l.D || len(l.B) != nm) {
				return nil, fmt.Errorf("low-rank model: inconsistent sizes")
			}
			r.lowRank = l
		case tagKNN:
			k := &knnIndex{}
			k.N = d.int()
			k.cfg.K = d.int()
			k.cfg.Power = d.f64()
			k.cfg.Alpha = d.f64()
			k.cfg.MaxDF = d.f64()
			if ns := d.int(); d.err == nil && ns != 1<<f.Bits+1 {
				return nil, fmt.Errorf("knn: %d bucket offsets, want %d", ns, 1<<f.Bits+1)
			}
			k.Start = make([]int32, 1, 1<<f.Bits+1)
			for j := 0; j < 1<<f.Bits && d.err == nil; j++ {
				k.Start = append(k.Start, k.Start[j]+int32(d.int()))
			}
			total := int(k.Start[len(k.Start)-1])
			if d.err == nil && total > len(d.b) {
				return nil, fmt.Errorf("knn: %d postings in %d bytes", total, len(d.b))
			}
			k.Doc = make([]int32, 0, total)
			for j := 0; j+1 < len(k.Start) && d.err == nil; j++ {
				last := int32(-1)
				for p := k.Start[j]; p < k.Start[j+1] && d.err == nil; p++ {
					last += int32(d.int()) + 1
					k.Doc = append(k.Doc, last)
				}
			}
			k.Val = d.halfs()
			nl := d.int()
			if d.err != nil || nl < 1 {
				return nil, fmt.Errorf("knn: label offsets: %v", d.err)
			}
			k.LStart = make([]int32, 1, nl)
			for i := 1; i < nl && d.err == nil; i++ {
				k.LStart = append(k.LStart, k.LStart[i-1]+int32(d.int()))
			}
			if d.err == nil && int(k.LStart[len(k.LStart)-1]) > len(d.b) {
				return nil, fmt.Errorf("knn: implausible label count")
			}
			for i := 0; i < int(k.LStart[len(k.LStart)-1]) && d.err == nil; i++ {
				m := d.int()
				k.Labels = append(k.Labels, modelScore{M: int32(m), Score: d.f32()})
				if m >= nm {
					return nil, fmt.Errorf("knn: model index %d out of range", m)
				}
			}
			k.Prior = d.f64s()
			if d.err == nil {
				if err := k.check(nm); err != nil {
					return nil, err
				}
			}
			r.knn = k
		case tagCalib:
			r.calib = make([][2]float64, nm)
			for i := range r.calib {
				a, b := d.f64(), d.f64()
				if d.err == nil && !(a > 0 && a < 100 && !math.IsNaN(b) && !math.IsInf(b, 0)) {
					return nil, fmt.Errorf("calibration %d: a=%v b=%v", i, a, b)
				}
				r.calib[i] = [2]float64{a, b}
			}
		case tagBlend:
			r.modelBlend = make([][numComponents]float64, nm)
			for i := range r.modelBlend {
				if b := d.f64s(); d.err == nil && copy(r.modelBlend[i][:], b) != numComponents {
					return nil, fmt.Errorf("model blend %d: %d weights, want %d", i, len(b), numComponents)
				}
			}
		default:
			return nil, fmt.Errorf("unknown section tag %d", tag)
		}
	}
	return nil, d.err
}

// check verifies that the router's parts fit together.
func (r *Router) check() error {
	if len(r.models) == 0 {
		return fmt.Errorf("no models")
	}
	if r.lr == nil && r.lowRank == nil && r.knn == nil {
		return fmt.Errorf("no quality predictor")
	}
	if math.IsNaN(r.prior) || r.prior < 0 || r.prior > 1 {
		return fmt.Errorf("prior %v out of [0,1]", r.prior)
	}
	return nil
}

func (k *knnIndex) check(numModels int) error {
	if k.N < 0 || k.cfg.K < 1 || len(k.LStart) != k.N+1 || len(k.Prior) != numModels ||
		len(k.Val) != len(k.Doc) || int(k.Start[len(k.Start)-1]) != len(k.Doc) {
		return fmt.Errorf("knn: inconsistent sizes")
	}
	for _, d := range k.Doc {
		if d < 0 || int(d) >= k.N {
			return fmt.Errorf("knn: posting out of range")
		}
	}
	for i := 0; i < k.N; i++ {
		if k.LStart[i] > k.LStart[i+1] {
			return fmt.Errorf("knn: bad label offsets")
		}
	}
	return nil
}
