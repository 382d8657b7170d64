package fakeupstream

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// The usage every chat answer reports, in each provider's own fields.
// PromptTokens includes CachedTokens (read from a prompt cache) and, for
// Anthropic, CacheWriteTokens (written to it): Anthropic reports
// input_tokens = PromptTokens - CachedTokens - CacheWriteTokens.
const (
	PromptTokens     = 21
	CachedTokens     = 4
	CacheWriteTokens = 2
	CompletionTokens = 9
)

// EmbeddingDims is the length of embedding vectors when the request does
// not ask for a dimension.
const EmbeddingDims = 8

// echoChars is how many characters of the last user message a default
// answer repeats.
const echoChars = 20

// replyText is the text answer of provider to a last user message.
func replyText(provider, lastUser string, whole bool) string {
	if !whole && utf8.RuneCountInString(lastUser) > echoChars {
		lastUser = string([]rune(lastUser)[:echoChars])
	}
	return "Hello from " + provider + ": " + lastUser
}

// prompt is what a fake needs to know about a chat request, whatever its
// wire format.
type prompt struct {
	lastUser    string // text of the last user message or tool result
	afterResult bool   // the last message is a tool result
	tools       []toolDef
	choice      string // "auto" (default), "none", "required", or "function"
	forced      string // the function tool_choice names
	parallel    bool   // several calls may be made at once
	json        bool   // JSON output requested
	schema      any    // its schema, or nil
}

// toolDef is a declared function.
type toolDef struct {
	name   string
	schema any // decoded JSON Schema of its parameters, or nil
}

// answer is what the fake replies: text, or tool calls.
type answer struct {
	text  string
	calls []call
}

// call is one function call with JSON-object arguments.
type call struct {
	name string
	args string
}

// decide computes the answer to p.
func (s *Server) decide(p *prompt) answer {
	text := replyText(s.provider, p.lastUser, s.echoWhole())
	if len(p.tools) > 0 && p.choice != "none" && (!p.afterResult || p.choice != "auto") {
		var picked []toolDef
		switch {
		case p.choice == "function":
			for _, t := range p.tools {
				if t.name == p.forced {
					picked = append(picked, t)
					break
				}
			}
		case p.parallel && len(p.tools) >= 2:
			picked = p.tools[:2]
		default:
			picked = p.tools[:1]
		}
		if len(picked) > 0 {
			a := answer{}
			for _, t := range picked {
				args, _ := json.Marshal(exampleValue(t.schema, "", 0))
				if t.schema == nil {
					args = []byte("{}")
				}
				a.calls = append(a.calls, call{name: t.name, args: string(args)})
			}
			return a
		}
	}
	if p.json {
		if p.schema == nil {
			b, _ := json.Marshal(map[string]string{"reply": text})
			return answer{text: string(b)}
		}
		b, _ := json.Marshal(exampleValue(p.schema, text, 0))
		return answer{text: string(b)}
	}
	return answer{text: text}
}

// splitText cuts s into up to four pieces of whole characters, for streams.
func splitText(s string) []string {
	r := []rune(s)
	if len(r) == 0 {
		return nil
	}
	n := max((len(r)+3)/4, 1)
	var out []string
	for len(r) > 0 {
		k := min(n, len(r))
		out = append(out, string(r[:k]))
		r = r[k:]
	}
	return out
}

// splitHalves cuts s into two pieces (the first may be empty for short s).
func splitHalves(s string) []string {
	r := []rune(s)
	h := len(r) / 2
	return []string{string(r[:h]), string(r[h:])}
}

// Vector returns the deterministic embedding of text with dims components,
// each in [-1, 1): what the fakes answer for embeddings.
func Vector(text string, dims int) []float32 {
	out := make([]float32, dims)
	var block [32]byte
	for i := range out {
		if i%8 == 0 {
			block = sha256.Sum256([]byte(fmt.Sprintf("%d:%s", i/8, text)))
		}
		u := binary.BigEndian.Uint32(block[(i%8)*4:])
		out[i] = float32(float64(u)/math.MaxUint32*2 - 1)
	}
	return out
}

// embedTokens is the token count the OpenAI fake reports for embedding inputs.
func embedTokens(inputs []string) int {
	n := 0
	for _, s := range inputs {
		n += (utf8.RuneCountInString(s) + 3) / 4
	}
	return n
}

// decodeSchema decodes a raw JSON Schema; nil when absent or not an object.
func decodeSchema(raw json.RawMessage) any {
	var v map[string]any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return nil
	}
	return v
}

// joinText concatenates texts with no separator.
func joinText(parts []string) string { return strings.Join(parts, "") }
