package quality

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func saveBytes(t *testing.T, r *Router) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := r.Save(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A saved and loaded router predicts, prices and chooses exactly like the
// original (a trained router already holds its weights at the half
// precision the artifact stores).
func TestArtifactRoundTrip(t *testing.T) {
	for _, kind := range []string{"lr", "ensemble"} {
		t.Run(kind, func(t *testing.T) {
			r := trainSynth(t, kind, 400)
			b := saveBytes(t, r)
			r2, err := Load(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if diff := cmp.Diff(r.Models(), r2.Models()); diff != "" {
				t.Errorf("models differ (-saved +loaded):\n%s", diff)
			}
			if diff := cmp.Diff(r.lambdaKnots, r2.lambdaKnots); diff != "" {
				t.Errorf("tradeoff mapping differs:\n%s", diff)
			}
			rng := rand.New(rand.NewPCG(5, 5))
			cands := []string{"cheap", "smart", "coder", "unknown-model"}
			for i := 0; i < 30; i++ {
				p := synthPrompt(rng, synthTopicNames[i%3])
				q1, q2 := r.Predict(p, cands), r2.Predict(p, cands)
				for j := range q1 {
					if q1[j] != q2[j] {
						t.Errorf("Predict(%s) = %v after loading, %v before", cands[j], q2[j], q1[j])
					}
				}
				for _, tr := range []float64{0, 0.3, 0.7, 1} {
					if a, b := r.Choose(p, cands, tr), r2.Choose(p, cands, tr); a != b {
						t.Errorf("Choose(T=%.1f) = %s after loading, %s before", tr, b, a)
					}
				}
				for _, m := range cands[:3] {
					c1, _ := r.ExpectedCost(p, m)
					c2, _ := r2.ExpectedCost(p, m)
					if c1 != c2 {
						t.Errorf("ExpectedCost(%s) = %g after loading, %g before", m, c2, c1)
					}
				}
			}
			// Saving the loaded router gives the same bytes.
			if b2 := saveBytes(t, r2); !bytes.Equal(b, b2) {
				t.Errorf("re-saved artifact differs from the original (%d vs %d bytes)", len(b2), len(b))
			}
		})
	}
}

func TestArtifactRejectsBadInput(t *testing.T) {
	good := saveBytes(t, trainSynth(t, "lr", 200))
	withVersion := func(v uint32) []byte {
		b := bytes.Clone(good)
		binary.LittleEndian.PutUint32(b[8:], v)
		return b
	}
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x40
		return b
	}
	// A payload that checksums but does not decode: a valid frame around
	// garbage.
	garbage := func() []byte {
		payload := []byte{0xff, 0xff, 0xff}
		var b bytes.Buffer
		b.Write(good[:12])
		binary.Write(&b, binary.LittleEndian, uint64(len(payload)))
		b.Write(payload)
		binary.Write(&b, binary.LittleEndian, crc32.Checksum(payload, castagnoli))
		return b.Bytes()
	}()
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty input"},
		{"short header", good[:10], "truncated header"},
		{"bad magic", append([]byte("NOTAROUTER"), good[10:]...), "bad magic"},
		{"wrong version", withVersion(ArtifactVersion + 1), "format version"},
		{"old version", withVersion(0), "format version"},
		{"truncated payload", good[:len(good)/2], "truncated"},
		{"missing checksum", good[:len(good)-2], "truncated"},
		{"corrupt byte", flip(len(good) / 2), "checksum mismatch"},
		{"corrupt checksum", flip(len(good) - 1), "checksum mismatch"},
		{"trailing data", append(bytes.Clone(good), 0), "trailing data"},
		{"undecodable payload", garbage, "invalid router artifact"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Load(bytes.NewReader(tc.data))
			if err == nil {
				t.Fatalf("Load succeeded (%d models), want an error containing %q", len(r.Models()), tc.want)
			}
			if !errors.Is(err, ErrArtifact) {
				t.Errorf("error %q does not wrap ErrArtifact", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

// Every truncation of a valid artifact is rejected (never a panic).
func TestArtifactEveryTruncationFails(t *testing.T) {
	good := saveBytes(t, trainSynth(t, "lr", 100))
	step := max(1, len(good)/200)
	for n := 0; n < len(good); n += step {
		if _, err := Load(bytes.NewReader(good[:n])); err == nil {
			t.Fatalf("Load of the first %d of %d bytes succeeded", n, len(good))
		}
	}
}

func TestHalfConversion(t *testing.T) {
	for _, tc := range []struct {
		in, want float32
	}{
		{0, 0}, {1, 1}, {-2, -2}, {0.5, 0.5}, {65504, 65504}, {1e6, float32(math.Inf(1))},
		{1.0 / (1 << 24), 1.0 / (1 << 24)}, {1e-9, 0}, {0.1, 0.099975586},
	} {
		if got := fromHalf(toHalf(tc.in)); got != tc.want {
			t.Errorf("fromHalf(toHalf(%g)) = %g, want %g", tc.in, got, tc.want)
		}
	}
	// Relative error of normal numbers is at most 2^-11.
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 10000; i++ {
		v := float32((rng.Float64()*2 - 1) * math.Pow(10, rng.Float64()*6-3))
		got := fromHalf(toHalf(v))
		if math.Abs(float64(got-v)) > math.Abs(float64(v))/2048+1e-7 {
			t.Fatalf("fromHalf(toHalf(%g)) = %g: error too large", v, got)
		}
	}
}

// FuzzLoadPayload frames arbitrary payloads with a valid header and
// checksum, so that the fuzzer reaches the decoder: Load must return a
// router or an error wrapping ErrArtifact, never panic. Payloads declaring
// more than 2^12 hash buckets are skipped: large tables are legitimate and
// only cost memory and time (a 2^24-bucket table of 35 models takes 600 MB),
// which would only slow the fuzzer down.
func FuzzLoadPayload(f *testing.F) {
	var buf bytes.Buffer
	cfg := fastConfig("lr")
	cfg.Features.Bits = 12
	r, err := Train(f.Context(), synthExamples(100, 1), cfg, nil)
	if err != nil {
		f.Fatal(err)
	}
	if err := r.Save(&buf); err != nil {
		f.Fatal(err)
	}
	good := buf.Bytes()
	f.Add(good[20 : len(good)-4])
	f.Add([]byte{14, 1, 4, 4})
	f.Fuzz(func(t *testing.T, payload []byte) {
		if bits, n := binary.Uvarint(payload); n > 0 && bits > 12 {
			t.Skip()
		}
		var b bytes.Buffer
		b.Write(good[:12])
		binary.Write(&b, binary.LittleEndian, uint64(len(payload)))
		b.Write(payload)
		binary.Write(&b, binary.LittleEndian, crc32.Checksum(payload, castagnoli))
		r, err := Load(&b)
		if err != nil {
			if !errors.Is(err, ErrArtifact) {
				t.Fatalf("error %q does not wrap ErrArtifact", err)
			}
			return
		}
		// A router that loads must work.
		r.Choose("What is 2+2?", append(r.Models(), "unknown"), 0.5)
	})
}
