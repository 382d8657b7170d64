package config

import (
	"bytes"
	"fmt"
	"strings"
)

// Environment references in the raw configuration text:
//
//	${NAME}          the value of NAME; an error if NAME is unset or empty
//	${NAME:-default} the value of NAME, or default if NAME is unset or empty
//	$${              a literal "${"
//
// Expansion runs once over the raw text before YAML parsing, so a reference
// may stand anywhere a value may (inside a URL, a number, a list). Substituted
// text is never rescanned: a value holding "${X}" stays literally "${X}".
//
// The scanner knows just enough YAML to keep substitution literal:
//   - comments are copied untouched, so commented-out examples need no variables;
//   - inside a double-quoted scalar the value is escaped (\ " and control
//     characters), inside a single-quoted one ' is doubled, so any secret
//     survives intact;
//   - in a plain (unquoted) scalar a value that would change the document's
//     structure (a line break, ": ", " #", leading or trailing blanks, a
//     leading indicator character) is an error asking for quotes, rather than
//     a silently different configuration;
//   - block scalars (| and >) take values literally, without line breaks.
//
// Flow collections ([a, b]) are not tracked: quote references inside them if
// their values may hold commas or brackets.

// expandEnv expands the references in src. It returns the expanded text and
// the values taken from the environment (so errors can be scrubbed of them).
// Errors name the line and the variable, never its value.
func expandEnv(src []byte, getenv func(string) string) ([]byte, []string, error) {
	s := expander{getenv: getenv, out: make([]byte, 0, len(src)+len(src)/8), blockIndent: -1}
	for n := 1; len(src) > 0; n++ {
		line := src
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			line = src[:i+1]
		}
		src = src[len(line):]
		body := bytes.TrimRight(line, "\r\n")
		if err := s.line(body, n); err != nil {
			return nil, nil, err
		}
		s.out = append(s.out, line[len(body):]...)
	}
	return s.out, s.values, nil
}

// refContext is where a reference stands, which decides how its value is encoded.
type refContext int

const (
	ctxPlain  refContext = iota // an unquoted scalar
	ctxDouble                   // inside "..."
	ctxSingle                   // inside '...'
	ctxBlock                    // inside a | or > block scalar
)

type expander struct {
	getenv      func(string) string
	out         []byte
	values      []string
	quote       byte // the open quote character, 0 outside quotes; may span lines
	blockIndent int  // indentation of the key that opened a block scalar; -1 outside one
}

// line expands one line (without its terminator), numbered n from 1.
func (s *expander) line(body []byte, n int) error {
	if s.blockIndent >= 0 {
		if len(bytes.TrimSpace(body)) == 0 || indentOf(body) > s.blockIndent {
			return s.copyExpanding(body, n, ctxBlock)
		}
		s.blockIndent = -1
	}
	code := body // the line without its comment
	for i := 0; i < len(body); {
		c := body[i]
		switch s.quote {
		case '"':
			switch c {
			case '\\':
				end := min(i+2, len(body))
				s.out = append(s.out, body[i:end]...)
				i = end
				continue
			case '"':
				s.quote = 0
			case '$':
				next, err := s.ref(body, i, n, ctxDouble, false)
				if err != nil {
					return err
				}
				if next > i {
					i = next
					continue
				}
			}
		case '\'':
			switch c {
			case '\'':
				if i+1 < len(body) && body[i+1] == '\'' {
					s.out = append(s.out, "''"...)
					i += 2
					continue
				}
				s.quote = 0
			case '$':
				next, err := s.ref(body, i, n, ctxSingle, false)
				if err != nil {
					return err
				}
				if next > i {
					i = next
					continue
				}
			}
		default:
			switch c {
			case '#':
				if i == 0 || body[i-1] == ' ' || body[i-1] == '\t' {
					code = body[:i]
					s.out = append(s.out, body[i:]...)
					i = len(body)
					continue
				}
			case '"', '\'':
				if scalarStart(body, i) {
					s.quote = c
				}
			case '$':
				next, err := s.ref(body, i, n, ctxPlain, scalarStart(body, i))
				if err != nil {
					return err
				}
				if next > i {
					i = next
					continue
				}
			}
		}
		s.out = append(s.out, c)
		i++
	}
	if s.quote == 0 && opensBlockScalar(code) {
		s.blockIndent = keyIndentOf(body)
	}
	return nil
}

// copyExpanding copies a line in which quotes and # have no meaning.
func (s *expander) copyExpanding(body []byte, n int, ctx refContext) error {
	for i := 0; i < len(body); {
		if body[i] == '$' {
			next, err := s.ref(body, i, n, ctx, false)
			if err != nil {
				return err
			}
			if next > i {
				i = next
				continue
			}
		}
		s.out = append(s.out, body[i])
		i++
	}
	return nil
}

// ref handles a '$' at body[i]. If a reference or an escape starts there it
// writes its expansion and returns the index after it; otherwise it returns
// i and the caller copies the '$'.
func (s *expander) ref(body []byte, i, n int, ctx refContext, atStart bool) (int, error) {
	rest := body[i+1:]
	if bytes.HasPrefix(rest, []byte("${")) {
		s.out = append(s.out, "${"...)
		return i + 3, nil
	}
	if !bytes.HasPrefix(rest, []byte("{")) {
		return i, nil
	}
	end := bytes.IndexByte(rest, '}')
	if end < 0 {
		return 0, fmt.Errorf("line %d: unterminated ${ (write $${ for a literal ${)", n)
	}
	inner := string(rest[1:end])
	name := inner
	for j := 0; j < len(inner); j++ {
		if !isNameByte(inner[j], j == 0) {
			name = inner[:j]
			break
		}
	}
	def, hasDef := strings.CutPrefix(inner[len(name):], ":-")
	if name == "" || (!hasDef && len(name) != len(inner)) {
		return 0, fmt.Errorf("line %d: invalid reference ${%s}: want ${NAME} or ${NAME:-default}, NAME of letters, digits and _", n, truncate(inner, 40))
	}
	v := s.getenv(name)
	if v == "" {
		if !hasDef {
			return 0, fmt.Errorf("line %d: environment variable %s is not set (write ${%s:-default} to make it optional)", n, name, name)
		}
		// The default is text of the file itself, written for its context.
		s.out = append(s.out, def...)
		return i + 1 + end + 1, nil
	}
	enc, err := encodeValue(v, ctx, atStart)
	if err != nil {
		return 0, fmt.Errorf("line %d: environment variable %s: %w", n, name, err)
	}
	s.values = append(s.values, v)
	s.out = append(s.out, enc...)
	return i + 1 + end + 1, nil
}

// encodeValue encodes an environment value so that YAML reads it back
// literally in context ctx.
func encodeValue(v string, ctx refContext, atStart bool) (string, error) {
	switch ctx {
	case ctxDouble:
		var b strings.Builder
		for i := 0; i < len(v); i++ {
			switch c := v[i]; c {
			case '\\', '"':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				if c < 0x20 || c == 0x7f {
					fmt.Fprintf(&b, `\x%02x`, c)
				} else {
					b.WriteByte(c)
				}
			}
		}
		return b.String(), nil
	case ctxSingle:
		if strings.ContainsAny(v, "\r\n") {
			return "", fmt.Errorf("the value holds a line break, which single quotes cannot keep; use double quotes")
		}
		return strings.ReplaceAll(v, "'", "''"), nil
	case ctxBlock:
		if strings.ContainsAny(v, "\r\n") {
			return "", fmt.Errorf("the value holds a line break, which would break the block's indentation; use double quotes")
		}
		return v, nil
	}
	if !plainSafe(v, atStart) {
		return "", fmt.Errorf(`the value holds characters that would change the YAML structure unquoted; put the reference in double quotes, e.g. "${NAME}"`)
	}
	return v, nil
}

// plainSafe reports whether v reads back unchanged inside a plain scalar.
func plainSafe(v string, atStart bool) bool {
	if v == "" {
		return true
	}
	if strings.ContainsAny(v, "\r\n") || v != strings.TrimSpace(v) ||
		strings.Contains(v, ": ") || strings.Contains(v, ":\t") || strings.HasSuffix(v, ":") ||
		strings.Contains(v, " #") || strings.Contains(v, "\t#") {
		return false
	}
	if atStart {
		c := v[0]
		if strings.IndexByte(",[]{}#&*!|>'\"%@`", c) >= 0 {
			return false
		}
		if (c == '-' || c == '?' || c == ':') && (len(v) == 1 || v[1] == ' ' || v[1] == '\t') {
			return false
		}
	}
	return true
}

// scalarStart reports whether position i of a line (outside quotes) is where
// a scalar may begin: line start (after indentation), after "key: ", "- ",
// "? ", or after [ { , in a flow collection.
func scalarStart(body []byte, i int) bool {
	j := i - 1
	for j >= 0 && (body[j] == ' ' || body[j] == '\t') {
		j--
	}
	if j < 0 {
		return true
	}
	switch body[j] {
	case '[', '{', ',':
		return true
	case ':', '-', '?':
		return j < i-1 // the indicator is followed by a blank
	}
	return false
}

// opensBlockScalar reports whether a line (comment removed) ends with a block
// scalar header such as "key: |", "- >-" or "key: |2+".
func opensBlockScalar(code []byte) bool {
	t := bytes.TrimRight(code, " \t")
	k := bytes.LastIndexAny(t, " \t")
	tok := t[k+1:]
	if len(tok) == 0 || (tok[0] != '|' && tok[0] != '>') || len(tok) > 3 {
		return false
	}
	for _, c := range tok[1:] {
		if !(c == '+' || c == '-' || c >= '1' && c <= '9') {
			return false
		}
	}
	before := bytes.TrimRight(t[:k+1], " \t")
	return len(before) == 0 || before[len(before)-1] == ':' || before[len(before)-1] == '-'
}

// indentOf counts a line's leading spaces.
func indentOf(body []byte) int {
	n := 0
	for n < len(body) && body[n] == ' ' {
		n++
	}
	return n
}

// keyIndentOf is the column of a line's first key, after any "- " sequence
// indicators: a block scalar's content must be indented beyond it.
func keyIndentOf(body []byte) int {
	n := indentOf(body)
	for n+1 < len(body) && body[n] == '-' && (body[n+1] == ' ' || body[n+1] == '\t') {
		n += 2
		for n < len(body) && body[n] == ' ' {
			n++
		}
	}
	if n < len(body) && (body[n] == '|' || body[n] == '>') {
		return indentOf(body) // "- |": the sequence item itself is the block
	}
	return n
}

func isNameByte(c byte, first bool) bool {
	return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || !first && c >= '0' && c <= '9'
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
