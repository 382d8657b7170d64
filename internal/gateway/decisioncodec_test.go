package gateway

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"

	"github.com/octomesh/octomesh"
)

// normalised is what the codec promises to give back for dec: the same,
// with the time's monotonic reading dropped and a location other than UTC
// or Local turned into a fixed zone of the same name and offset.
func normalised(dec *octomesh.Decision) *octomesh.Decision {
	n := *dec
	n.Time = n.Time.Round(0)
	switch n.Time.Location() {
	case time.UTC, time.Local:
	default:
		name, offset := n.Time.Zone()
		n.Time = n.Time.In(time.FixedZone(name, offset))
	}
	return &n
}

// roundTrip encodes dec with syms, decodes it, and fails unless the result
// is deeply equal to normalised(dec). It returns the record.
func roundTrip(t *testing.T, dec *octomesh.Decision, syms *symbols) []byte {
	t.Helper()
	rec := encodeDecision(nil, dec, syms)
	got, err := decodeDecision(rec, syms.names)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if want := normalised(dec); !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip differs (-want +got):\n%s", cmp.Diff(want, got))
	}
	if !recordIs(rec, syms.names, dec.OrgID, dec.RequestID) {
		t.Fatalf("recordIs(%q, %q) = false for the record of that key", dec.OrgID, dec.RequestID)
	}
	if recordIs(rec, syms.names, dec.OrgID+"x", dec.RequestID) || recordIs(rec, syms.names, dec.OrgID, dec.RequestID+"x") {
		t.Fatalf("recordIs matched another key than (%q, %q)", dec.OrgID, dec.RequestID)
	}
	return rec
}

// fullDecision has every field set, including every flag.
func fullDecision() *octomesh.Decision {
	return &octomesh.Decision{
		RequestID: "req_0123456789abcdef-1", OrgID: "org_acme", Time: time.Date(2026, 3, 4, 5, 6, 7, 890123456, time.UTC),
		Requested: "auto", Objective: octomesh.ObjectiveQuality, PolicyVersion: "5003b48b4d11ce41",
		Candidates: []octomesh.CandidateScore{
			{Deployment: "openai/gpt-4o", Quality: 0.8731, ExpectedCost: 123456, ExpectedLatency: 812.25, Score: 1.75, Outstanding: 3},
			{Deployment: "anthropic/haiku", Quality: 0.5, ExpectedCost: -1, ExpectedLatency: 6120, Score: -0.00015645, Outstanding: -2, Probe: true},
			{Deployment: "google/flash", Quality: 0, ExpectedCost: math.MaxInt64, ExpectedLatency: math.Inf(1), Score: math.Copysign(0, -1), PanicFloor: true},
		},
		Excluded: []octomesh.Exclusion{
			{Deployment: "openai/o1", Constraint: "capability:tools", Reason: "it does not support tools"},
			{Deployment: "openai/mini", Constraint: "context_window", Reason: "the request needs about 130000 tokens (prompt estimate plus max tokens); its context window is 128000"},
		},
		Plan: []string{"openai/gpt-4o", "anthropic/haiku", "google/flash"},
		Attempts: []octomesh.AttemptRecord{
			{Deployment: "openai/gpt-4o", Provider: "openai", Outcome: "upstream_timeout", Status: 504, Start: 7 * time.Microsecond,
				Duration: 30 * time.Second, TTFB: 0, Hedge: false, Continued: false, Relayed: 0},
			{Deployment: "anthropic/haiku", Provider: "anthropic", Outcome: "ok", Start: 30 * time.Second, Duration: 412 * time.Millisecond,
				TTFB: 180 * time.Millisecond, Hedge: true, Continued: true, Relayed: math.MaxInt32 + 7},
		},
		Outcome: "ok", PromptCluster: 17, Explored: true,
	}
}

func TestDecisionCodecRoundTrip(t *testing.T) {
	many := &octomesh.Decision{RequestID: "many"}
	for i := range 1000 {
		name := fmt.Sprintf("prov%d/model-%d", i%7, i)
		many.Candidates = append(many.Candidates, octomesh.CandidateScore{Deployment: name, Quality: float64(i) / 1000, ExpectedCost: octomesh.Money(i * 1000), Score: float64(i) * 1.1})
		many.Plan = append(many.Plan, name)
	}
	long := fullDecision()
	long.Excluded[0].Reason = strings.Repeat("a long reason, ", 2000)
	long.Excluded[1].Deployment = strings.Repeat("a-deployment-name-longer-than-a-symbol-", 10)
	unicode := fullDecision()
	unicode.RequestID = "req-ünïcødé-请求-🚀"
	unicode.OrgID = "组织-🏢"
	unicode.Excluded[0].Reason = "es unterstützt keine Werkzeuge — 工具不受支持 ✗"
	unicode.Plan[0] = "\xff\xfe not valid UTF-8 \x00 with a NUL"
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		berlin = time.FixedZone("CET", 3600) // no tzdata: still a location that is not UTC or Local
	}
	at := func(t time.Time) *octomesh.Decision {
		d := fullDecision()
		d.Time = t
		return d
	}
	tests := []struct {
		name string
		dec  *octomesh.Decision
	}{
		{"full", fullDecision()},
		{"id only, nil slices, zero time", &octomesh.Decision{RequestID: "r"}},
		{"empty slices", &octomesh.Decision{RequestID: "r", Candidates: []octomesh.CandidateScore{}, Excluded: []octomesh.Exclusion{},
			Plan: []string{}, Attempts: []octomesh.AttemptRecord{}}},
		{"empty strings in slices", &octomesh.Decision{RequestID: "r", Plan: []string{"", ""}, Excluded: []octomesh.Exclusion{{}}, Attempts: make([]octomesh.AttemptRecord, 2)}},
		{"unicode", unicode},
		{"1000 candidates", many},
		{"long strings", long},
		{"now, local, monotonic", at(time.Now())},
		{"now, utc", at(time.Now().UTC())},
		{"other location", at(time.Date(2026, 7, 1, 12, 0, 0, 1, berlin))},
		{"fixed zone", at(time.Date(2026, 7, 1, 12, 0, 0, 1, time.FixedZone("", -(9*3600+30*60))))},
		{"before 1970", at(time.Date(1066, 10, 14, 9, 0, 0, 999999999, time.UTC))},
		{"far future", at(time.Date(292277026596, 12, 4, 15, 30, 7, 0, time.UTC))},
		{"extreme ints", &octomesh.Decision{RequestID: "r", PromptCluster: math.MinInt64,
			Attempts: []octomesh.AttemptRecord{{Status: math.MaxInt64, Start: math.MinInt64, Duration: math.MaxInt64, TTFB: -1, Relayed: math.MinInt64}},
			Candidates: []octomesh.CandidateScore{{ExpectedCost: math.MinInt64, Outstanding: math.MaxInt64, Quality: math.SmallestNonzeroFloat64,
				ExpectedLatency: math.MaxFloat64, Score: math.Inf(-1)}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var syms symbols
			roundTrip(t, tt.dec, &syms)
			roundTrip(t, tt.dec, &syms) // again, now that its symbols are known
		})
	}
	t.Run("routed", func(t *testing.T) {
		var syms symbols
		for _, src := range decisionSources(t) {
			for i := range 50 {
				roundTrip(t, src.decision(t, i), &syms)
			}
		}
	})
}

// TestDecisionCodecKeepsFloatBits: NaN payloads and -0 come back bit for
// bit (reflect.DeepEqual cannot say so for NaN).
func TestDecisionCodecKeepsFloatBits(t *testing.T) {
	for _, bits := range []uint64{0x7ff8000000000001, 0xfff0000000000abc, 0x8000000000000000, 1, 0x3fe0000000000000} {
		v := math.Float64frombits(bits)
		dec := &octomesh.Decision{RequestID: "r", Candidates: []octomesh.CandidateScore{{Quality: v, ExpectedLatency: v, Score: v}}}
		var syms symbols
		got, err := decodeDecision(encodeDecision(nil, dec, &syms), syms.names)
		if err != nil {
			t.Fatal(err)
		}
		c := got.Candidates[0]
		for _, f := range []float64{c.Quality, c.ExpectedLatency, c.Score} {
			if math.Float64bits(f) != bits {
				t.Errorf("float bits %#x came back as %#x", bits, math.Float64bits(f))
			}
		}
	}
}

// TestDecisionCodecJSONUnchanged: the JSON a client gets for a decided
// request (GET /v1/routing/decisions/{id} writes the decision as is) is
// the same for the decoded decision as for the one the gateway made.
func TestDecisionCodecJSONUnchanged(t *testing.T) {
	full := func() *octomesh.Decision {
		d := fullDecision()
		d.Candidates[2].ExpectedLatency = 950 // JSON has no infinity
		return d
	}
	decs := []*octomesh.Decision{full(), {RequestID: "nil slices"}, {RequestID: "empty", Candidates: []octomesh.CandidateScore{}, Plan: []string{}}}
	for _, tm := range []time.Time{time.Now(), time.Now().In(time.FixedZone("XST", 5*3600+1800)), time.Now().UTC(), {}} {
		d := full()
		d.Time = tm
		decs = append(decs, d)
	}
	for _, src := range decisionSources(t) {
		decs = append(decs, src.decision(t, 10), src.decision(t, 11))
	}
	var syms symbols
	for _, dec := range decs {
		want, err := json.Marshal(dec)
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeDecision(encodeDecision(nil, dec, &syms), syms.names)
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(back)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("JSON changed:\n got %s\nwant %s", got, want)
		}
	}
}

// TestDecisionCodecSharesNothing: the decoded decision's strings are not
// views of the record, which the arena reuses.
func TestDecisionCodecSharesNothing(t *testing.T) {
	var syms symbols
	dec := fullDecision()
	dec.Excluded[1].Reason += strings.Repeat("9", 200) // inline, not a symbol
	rec := encodeDecision(nil, dec, &syms)
	got, err := decodeDecision(rec, syms.names)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rec {
		rec[i] = 'x'
	}
	if want := normalised(dec); !reflect.DeepEqual(got, want) {
		t.Errorf("decoded decision changed with its record (-want +got):\n%s", cmp.Diff(want, got))
	}
}

func TestSymbols(t *testing.T) {
	t.Run("bounded", func(t *testing.T) {
		var syms symbols
		for i := range maxSymbols + 100 {
			d := &octomesh.Decision{RequestID: "r", OrgID: fmt.Sprintf("org_%d", i)}
			roundTrip(t, d, &syms)
		}
		if len(syms.names) != maxSymbols || len(syms.index) != maxSymbols {
			t.Errorf("table has %d names, %d index entries; want %d", len(syms.names), len(syms.index), maxSymbols)
		}
	})
	t.Run("skips long strings, numbered reasons and ids", func(t *testing.T) {
		var syms symbols
		for i := range 10 {
			roundTrip(t, &octomesh.Decision{RequestID: fmt.Sprintf("req-%d", i), OrgID: strings.Repeat("o", maxSymbolLen+1),
				Excluded: []octomesh.Exclusion{{Reason: fmt.Sprintf("max tokens %d exceed its output limit of 4096", i)}, {Reason: "it does not support tools"}}}, &syms)
		}
		if want := []string{"it does not support tools"}; !reflect.DeepEqual(syms.names, want) {
			t.Errorf("symbols = %q, want %q", syms.names, want)
		}
	})
	t.Run("fingerprint collisions", func(t *testing.T) {
		var syms symbols
		a, b := "ab_xd", "ac_yd" // same length, first, middle and last bytes
		if fingerprint(a) != fingerprint(b) {
			t.Fatal("the test strings do not collide")
		}
		for range 3 {
			for k, v := range []string{a, b} {
				if i, ok := syms.lookup(v); !ok || i != uint32(k) || syms.names[i] != v {
					t.Fatalf("lookup(%q) = %d, %v; want %d", v, i, ok, k)
				}
			}
		}
	})
	t.Run("copies", func(t *testing.T) {
		var syms symbols
		big := strings.Repeat("deployment-name/", 1000)
		part := big[16:31]
		i, ok := syms.lookup(part)
		if !ok || syms.names[i] != part {
			t.Fatalf("lookup(%q) = %d, %v", part, i, ok)
		}
		start, end := uintptr(unsafe.Pointer(unsafe.StringData(big))), uintptr(unsafe.Pointer(unsafe.StringData(big)))+uintptr(len(big))
		if p := uintptr(unsafe.Pointer(unsafe.StringData(syms.names[i]))); p >= start && p < end {
			t.Error("the symbol table keeps a view into a larger string")
		}
	})
}

// TestDecodeRejectsCorruptRecords: every truncation of a record, and a
// record with bytes left over, is an error, not a panic or a short decision.
func TestDecodeRejectsCorruptRecords(t *testing.T) {
	var syms symbols
	dec := fullDecision()
	dec.Time = time.Now().In(time.FixedZone("XST", 3600))
	rec := encodeDecision(nil, dec, &syms)
	for n := range len(rec) {
		if got, err := decodeDecision(rec[:n], syms.names); err == nil {
			t.Fatalf("decode of %d of %d bytes = %+v, want an error", n, len(rec), got)
		}
	}
	if _, err := decodeDecision(append(rec[:len(rec):len(rec)], 0), syms.names); err == nil {
		t.Error("decode with a trailing byte succeeded")
	}
	if _, err := decodeDecision(rec, syms.names[:1]); err == nil {
		t.Error("decode with unknown symbols succeeded")
	}
	huge := binary.AppendUvarint([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 1<<40) // a list of 2^40 candidates
	if _, err := decodeDecision(huge, nil); err == nil {
		t.Error("decode of a huge list length succeeded")
	}
}

// FuzzDecisionCodec: any decision, built field by field from the input,
// comes back normalised and deeply equal; and decoding the raw input as a
// record never panics.
func FuzzDecisionCodec(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x05\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"))
	f.Add(bytes.Repeat([]byte{0x13, 0x7f, 0x80, 0xff, 0x02}, 40))
	f.Add(encodeDecision(nil, fullDecision(), &symbols{}))
	f.Fuzz(func(t *testing.T, data []byte) {
		var syms symbols
		for range 3 {
			syms.lookup(fmt.Sprint(len(syms.names))) // symbols the record may name
		}
		if dec, err := decodeDecision(data, syms.names); err == nil {
			roundTrip(t, dec, &syms)
		}
		recordIs(data, syms.names, "0", "") // must not panic
		src := &fuzzSource{b: data}
		var dec octomesh.Decision
		src.fill(t, reflect.ValueOf(&dec).Elem())
		roundTrip(t, &dec, &syms)
		roundTrip(t, &dec, &syms)
	})
}

// fuzzSource fills values from fuzz input, zeros once it runs out.
type fuzzSource struct{ b []byte }

func (s *fuzzSource) byte() byte {
	if len(s.b) == 0 {
		return 0
	}
	v := s.b[0]
	s.b = s.b[1:]
	return v
}

func (s *fuzzSource) uint64() uint64 {
	var v uint64
	for range 8 {
		v = v<<8 | uint64(s.byte())
	}
	return v
}

// pool are strings the fuzzer can pick by a byte: repeats become symbols.
var pool = []string{"", "ok", "openai/gpt-4o", "org_1", "it does not support tools", "ünï-🚀", "\xff\x00",
	strings.Repeat("x", maxSymbolLen+1), "retry after 2026-01-02T03:04:05Z"}

// fill sets v, by reflection so that a field added to the decision types
// is fuzzed too (and fails the round trip until the codec writes it).
func (s *fuzzSource) fill(t *testing.T, v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		if b := s.byte(); int(b) < 2*len(pool) {
			v.SetString(pool[int(b)%len(pool)])
		} else {
			n := int(s.byte()) % 40
			buf := make([]byte, n)
			for i := range buf {
				buf[i] = s.byte()
			}
			v.SetString(string(buf))
		}
	case reflect.Bool:
		v.SetBool(s.byte()&1 != 0)
	case reflect.Int, reflect.Int64:
		if b := s.byte(); b < 128 {
			v.SetInt(int64(b) - 64)
		} else {
			v.SetInt(int64(s.uint64()))
		}
	case reflect.Float64:
		f := math.Float64frombits(s.uint64())
		if math.IsNaN(f) {
			f = 0.5 // DeepEqual fails NaN; TestDecisionCodecKeepsFloatBits covers it
		}
		v.SetFloat(f)
	case reflect.Slice:
		n := int(s.byte()) % 6
		if n == 0 {
			return // nil
		}
		v.Set(reflect.MakeSlice(v.Type(), n-1, n-1))
		for i := range n - 1 {
			s.fill(t, v.Index(i))
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(s.time()))
			return
		}
		for i := range v.NumField() {
			s.fill(t, v.Field(i))
		}
	default:
		t.Fatalf("fuzzSource cannot fill a %s: teach it and the codec", v.Type())
	}
}

func (s *fuzzSource) time() time.Time {
	t := time.Unix(int64(s.uint64()), int64(s.uint64()%1e9))
	switch s.byte() % 5 {
	case 0:
		return t.UTC()
	case 1:
		return t // Local
	case 2:
		return time.Now().Add(time.Duration(s.uint64())) // monotonic
	case 3:
		return t.In(time.FixedZone(pool[int(s.byte())%len(pool)], int(int32(s.uint64()))))
	}
	return time.Time{}
}

func BenchmarkEncodeDecision(b *testing.B) {
	for _, src := range decisionSources(b) {
		b.Run(src.name, func(b *testing.B) {
			dec := src.decision(b, 1)
			var syms symbols
			buf := encodeDecision(nil, dec, &syms)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf = encodeDecision(buf[:0], dec, &syms)
			}
		})
	}
}

func BenchmarkDecodeDecision(b *testing.B) {
	for _, src := range decisionSources(b) {
		b.Run(src.name, func(b *testing.B) {
			var syms symbols
			rec := encodeDecision(nil, src.decision(b, 1), &syms)
			b.SetBytes(int64(len(rec)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decodeDecision(rec, syms.names); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
