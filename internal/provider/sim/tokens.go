package sim

import (
	"unicode"
	"unicode/utf8"

	"github.com/octomesh/octomesh"
)

// Prompt-token estimator constants (see EstimatePromptTokens).
const (
	replyPriming    = 3  // tokens every request pays for the assistant's reply header
	perMessage      = 4  // role and separators of each message
	perImage        = 85 // a low-detail image
	perToolDef      = 8  // framing of each tool definition
	perToolCallArgs = 3  // framing of each tool call in the history
	charsPerToken   = 4
)

// EstimatePromptTokens returns the simulated prompt-token count of req:
// 3 tokens of reply priming; per message 4 tokens of overhead, ⌈chars/4⌉ of
// its text and name (chars are Unicode code points), 85 per image part and
// ⌈chars/4⌉+3 per tool call it carries; per tool ⌈chars/4⌉ of its name,
// description and parameters schema plus 8; and ⌈chars/4⌉ of a json_schema
// response format. It is what the fleet reports as usage.prompt_tokens and
// checks against the context window.
func EstimatePromptTokens(req *octomesh.ChatRequest) int {
	n := replyPriming
	for i := range req.Messages {
		m := &req.Messages[i]
		n += perMessage + textTokens(m.Name)
		for _, p := range m.Content.Parts {
			switch p.Type {
			case octomesh.PartImageURL:
				n += perImage
			default:
				n += textTokens(p.Text)
			}
		}
		for _, tc := range m.ToolCalls {
			n += perToolCallArgs + textTokens(tc.Function.Name) + textTokens(tc.Function.Arguments)
		}
	}
	for _, t := range req.Tools {
		n += perToolDef + textTokens(t.Function.Name) + textTokens(t.Function.Description) + textTokens(string(t.Function.Parameters))
	}
	if rf := req.ResponseFormat; rf != nil && rf.JSONSchema != nil {
		n += textTokens(string(rf.JSONSchema.Schema))
	}
	return n
}

// textTokens estimates the tokens of s as ⌈code points / 4⌉.
func textTokens(s string) int {
	return (utf8.RuneCountInString(s) + charsPerToken - 1) / charsPerToken
}

// splitTokens splits generated text into simulated tokens: a run of letters
// and digits with at most one leading space, one punctuation or symbol
// character, or a run of other whitespace. Concatenating the tokens gives s.
func splitTokens(s string) []string {
	var out []string
	i := 0
	for i < len(s) {
		start := i
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == ' ' && isWordStart(s[i+w:]):
			i += w
			i = wordEnd(s, i)
		case isWord(r):
			i = wordEnd(s, i)
		case unicode.IsSpace(r):
			i += w
			for i < len(s) {
				r2, w2 := utf8.DecodeRuneInString(s[i:])
				if !unicode.IsSpace(r2) || r2 == ' ' && isWordStart(s[i+w2:]) {
					break
				}
				i += w2
			}
		default:
			i += w
		}
		out = append(out, s[start:i])
	}
	return out
}

func isWord(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func isWordStart(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return len(s) > 0 && isWord(r)
}

func wordEnd(s string, i int) int {
	for i < len(s) {
		r, w := utf8.DecodeRuneInString(s[i:])
		if !isWord(r) {
			break
		}
		i += w
	}
	return i
}
