package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"

	"github.com/octomesh/octomesh"
)

// key identifies one generation: a hash of the fleet seed, the model and the
// request content. Every random choice of a request is drawn from a
// generator derived from it (see rng), never from shared state.
type key [sha256.Size]byte

// contentOf is the part of a chat request that determines the generation.
// max_tokens, stop and n are left out on purpose (see the package doc), as
// are stream options, metadata and user, which do not change what a model
// writes.
type contentOf struct {
	Model             string                   `json:"model"`
	Messages          []octomesh.Message       `json:"messages"`
	Tools             []octomesh.Tool          `json:"tools,omitempty"`
	ToolChoice        *octomesh.ToolChoice     `json:"tool_choice,omitempty"`
	ParallelToolCalls *bool                    `json:"parallel_tool_calls,omitempty"`
	ResponseFormat    *octomesh.ResponseFormat `json:"response_format,omitempty"`
	Temperature       *float64                 `json:"temperature,omitempty"`
	TopP              *float64                 `json:"top_p,omitempty"`
	PresencePenalty   *float64                 `json:"presence_penalty,omitempty"`
	FrequencyPenalty  *float64                 `json:"frequency_penalty,omitempty"`
	Seed              *int64                   `json:"seed,omitempty"`
}

// chatKey returns the generation key of req.
func (f *Fleet) chatKey(req *octomesh.ChatRequest) (key, error) {
	b, err := json.Marshal(contentOf{
		Model: req.Model, Messages: req.Messages, Tools: req.Tools, ToolChoice: req.ToolChoice,
		ParallelToolCalls: req.ParallelToolCalls, ResponseFormat: req.ResponseFormat,
		Temperature: req.Temperature, TopP: req.TopP, PresencePenalty: req.PresencePenalty,
		FrequencyPenalty: req.FrequencyPenalty, Seed: req.Seed,
	})
	if err != nil {
		return key{}, octomesh.Errorf(octomesh.EINVALID, "the request cannot be encoded").WithCause(err)
	}
	return f.keyOf("chat", b), nil
}

// keyOf hashes the fleet seed, a domain label and data.
func (f *Fleet) keyOf(domain string, data ...[]byte) key {
	h := sha256.New()
	var s [8]byte
	binary.LittleEndian.PutUint64(s[:], uint64(f.seed))
	h.Write(s[:])
	h.Write([]byte(domain))
	h.Write([]byte{0})
	for _, d := range data {
		binary.LittleEndian.PutUint64(s[:], uint64(len(d)))
		h.Write(s[:])
		h.Write(d)
	}
	var k key
	h.Sum(k[:0])
	return k
}

// rng returns a generator for one purpose (label) and index of the
// generation k. Different labels give independent streams, so e.g. turning
// faults on does not change the text.
func (k key) rng(label string, i uint64) *rand.Rand {
	h := sha256.New()
	h.Write(k[:])
	h.Write([]byte(label))
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], i)
	h.Write(b[:])
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return rand.New(rand.NewPCG(binary.LittleEndian.Uint64(sum[0:8]), binary.LittleEndian.Uint64(sum[8:16])))
}

// hex returns the first n bytes of k as lower-case hex.
func (k key) hex(n int) string { return hex.EncodeToString(k[:n]) }

// attempt returns the attempt number of this call of generation k: always 0
// unless VaryRetries is set, in which case it counts calls sharing k's
// bucket.
func (f *Fleet) attempt(k key) uint64 {
	if !f.vary {
		return 0
	}
	return f.attempts[binary.LittleEndian.Uint64(k[:8])%attemptBuckets].Add(1) - 1
}

// randomHex returns n random bytes from r as lower-case hex.
func randomHex(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return hex.EncodeToString(b)
}
