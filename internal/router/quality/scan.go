package quality

import "math"

// Byte classes of the tokeniser.
const (
	clsSpace   = iota // space, tab, carriage return
	clsWord           // ASCII letters and digits, and every byte of a multi-byte UTF-8 sequence
	clsNewline        // '\n'
	clsPunct          // anything else
)

// Per-byte lookup tables and the keyword table: computed once when the
// package loads, read-only afterwards.
var (
	byteClass, lowerTab, foldTab = byteTables()
	flagTab                      = flagTable()
	keywords                     = keywordTable()
)

// flagTable returns per byte its contribution to the packed counters of a
// word: 1 for a digit, 1<<10 for an upper-case letter, 1<<20 for a
// non-ASCII byte.
func flagTable() (t [256]uint32) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= '0' && c <= '9':
			t[c] = 1
		case c >= 'A' && c <= 'Z':
			t[c] = 1 << 10
		case c >= 0x80:
			t[c] = 1 << 20
		}
	}
	return t
}

// recount returns the packed counters of a long word, saturated.
func recount(w string) uint32 {
	var d, u, n uint32
	for i := 0; i < len(w); i++ {
		f := flagTab[w[i]]
		d += f & 0x3ff
		u += f >> 10 & 0x3ff
		n += f >> 20
	}
	return min(d, 0x3ff) | min(u, 0x3ff)<<10 | min(n, 0x3ff)<<20
}

// byteTables returns the byte classes, ASCII lower-casing, and lower-casing
// with digits 1-9 folded to '0'.
func byteTables() (class [256]uint8, lower, fold [256]byte) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		switch {
		case b == ' ' || b == '\t' || b == '\r':
			class[c] = clsSpace
		case b == '\n':
			class[c] = clsNewline
		case b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b >= 0x80:
			class[c] = clsWord
		default:
			class[c] = clsPunct
		}
		lower[c] = b
		if b >= 'A' && b <= 'Z' {
			lower[c] = b + 'a' - 'A'
		}
		fold[c] = lower[c]
		if b >= '1' && b <= '9' {
			fold[c] = '0'
		}
	}
	return class, lower, fold
}

func keywordTable() (t [1024]keyword) {
	for i, w := range keywordList {
		h := fnvLower(w)
		t[keywordSlot(h)] = keyword{hash: h, kind: keywordKinds[i]}
	}
	return t
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnvLower is FNV-1a of the ASCII-lower-cased s (keywords are ASCII).
func fnvLower(s string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b >= 'A' && b <= 'Z' {
			b += 'a' - 'A'
		}
		h = (h ^ uint64(b)) * fnvPrime
	}
	return h
}

// Keyword kinds the shape features count.
const (
	kwNone = iota
	kwQuestion
	kwCode
	kwAnswer
	kwImperative
)

var keywordList = [...]string{
	"what", "how", "why", "who", "when", "where", "which", "whom", "whose",
	"def", "int", "var", "func", "void", "elif", "self", "print", "const", "class", "return", "import", "lambda", "include", "function",
	"answer",
	"write", "explain", "describe", "translate", "summarize", "summarise", "implement", "create", "generate", "list", "give",
	"compute", "calculate", "find", "solve", "prove", "rewrite", "classify", "complete",
}

var keywordKinds = [len(keywordList)]uint8{
	kwQuestion, kwQuestion, kwQuestion, kwQuestion, kwQuestion, kwQuestion, kwQuestion, kwQuestion, kwQuestion,
	kwCode, kwCode, kwCode, kwCode, kwCode, kwCode, kwCode, kwCode, kwCode, kwCode, kwCode, kwCode, kwCode, kwCode, kwCode,
	kwAnswer,
	kwImperative, kwImperative, kwImperative, kwImperative, kwImperative, kwImperative, kwImperative, kwImperative, kwImperative, kwImperative, kwImperative,
	kwImperative, kwImperative, kwImperative, kwImperative, kwImperative, kwImperative, kwImperative, kwImperative,
}

type keyword struct {
	hash uint64
	kind uint8
}

// keywords is a direct-mapped table: each keyword's hash picks a distinct
// slot (checked by TestKeywordTable), so a lookup is one probe.

func keywordSlot(h uint64) int { return int(((h ^ h>>29) * 0x9e3779b97f4a7c15) >> (64 - 10)) }

func keywordKind(h uint64) uint8 {
	k := keywords[keywordSlot(h)]
	if k.hash == h {
		return k.kind
	}
	return kwNone
}

// Kinds of punctuation the shape features count.
const (
	pkOther    = iota
	pkMath     // + - * / = ^ < > %
	pkQuestion // ?
	pkLatex    // $ \
	pkQuote    // " '
	pkCode     // { } ; `
	pkBlank    // _
	numPunctKinds
)

// byteInfo packs what the tokeniser's word loop needs of a byte into one
// word, so it does one table load a byte: the flagTab increment in bits
// 0-29, the lower-cased byte in bits 32-39 and the class in bits 48-49.
// punctKind is the punctuation kind of each byte.
var byteInfo, punctKind = infoTables()

func infoTables() (info [256]uint64, kind [256]uint8) {
	for c := 0; c < 256; c++ {
		info[c] = uint64(flagTab[c]) | uint64(lowerTab[c])<<32 | uint64(byteClass[c])<<48
	}
	for _, c := range "+-*/=^<>%" {
		kind[c] = pkMath
	}
	kind['?'] = pkQuestion
	kind['$'], kind['\\'] = pkLatex, pkLatex
	kind['"'], kind['\''] = pkQuote, pkQuote
	for _, c := range "{};`" {
		kind[c] = pkCode
	}
	kind['_'] = pkBlank
	return info, kind
}

// hashWord returns the FNV-1a hash of the lower-cased word starting at
// s[i], its end j and its packed counts of digits, upper-case and non-ASCII
// bytes (10 bits each).
func hashWord[T ~string | ~[]byte](s T, i int) (h uint64, j int, fl uint32) {
	h = fnvOffset
	for j = i; j < len(s); j++ {
		e := byteInfo[s[j]]
		if e>>48 != clsWord {
			break
		}
		h = (h ^ e>>32&0xff) * fnvPrime
		fl += uint32(e)
	}
	return h, j, fl
}

// scan walks a prompt once, appending its word tokens' hashes and byte
// offsets to toks and pos (when toks is not nil) and computing the prompt's
// shape features into shape.
//
// Tokens: runs of word bytes, lower-cased, with the digits of multi-digit
// numbers folded to '0' (numbers generalise by length); each punctuation
// byte and each line break is a token of its own.
//
// It is the featuriser's hot loop: one table load per word byte, token
// slices sized once (a prompt has at most one token a byte) and stored by
// index, punctuation counted through a table rather than a switch.
// (Hashing words eight bytes at a time, SWAR, was tried: in Go it was
// slower for the short words prompts are made of.)
func scan[T ~string | ~[]byte](s T, toks *[]uint64, pos *[]int32, shape *[NumShape]float32) {
	*shape = [NumShape]float32{}
	n := len(s)
	if n == 0 {
		return
	}
	var (
		tk []uint64
		ps []int32
		nt int
	)
	if toks != nil {
		tk, ps = *toks, *pos
		nt = len(tk)
		if cap(tk)-nt < n {
			tk = append(tk[:nt], make([]uint64, n)...)
		}
		if cap(ps)-nt < n {
			ps = append(ps[:nt], make([]int32, n)...)
		}
		tk, ps = tk[:cap(tk)], ps[:cap(ps)]
	}
	var (
		pk                                                                    [numPunctKinds]int
		digits, upper, letters, nonASCII, punct                               int
		words, wordBytes, numbers, qwords, code, options, optionsLast, answer int
		lines, paras, maxLine, lastLine, lastPara, lineStart                  int
		lineHasText, lineBlank, prevBlank, imperative                         bool
	)
	lineBlank = true
	for i := 0; i < n; {
		c := s[i]
		cl := byteClass[c]
		if cl == clsSpace {
			i++
			continue
		}
		if cl == clsWord {
			h, j, fl := hashWord(s, i)
			wl := j - i
			if wl > 1000 {
				fl = recount(string(s[i:j])) // the packed counters could overflow (rare: allocates)
			}
			d, up, na := int(fl&0x3ff), int(fl>>10&0x3ff), int(fl>>20&0x3ff)
			digits += d
			upper += up
			nonASCII += na
			letters += wl - d - na
			words++
			wordBytes += wl
			if d == wl {
				numbers++
			}
			if d > 1 { // multi-digit numbers: hash with digits folded
				h = uint64(fnvOffset)
				for k := i; k < j; k++ {
					h = (h ^ uint64(foldTab[s[k]])) * fnvPrime
				}
			} else if wl <= 9 && d == 0 {
				switch keywordKind(h) {
				case kwNone:
				case kwQuestion:
					qwords++
				case kwCode:
					code++
				case kwAnswer:
					answer++
				case kwImperative:
					imperative = imperative || words == 1
				}
			}
			// An option line starts with a single capital letter A-J and
			// '.', ')' or ':'.
			if wl == 1 && !lineHasText && c >= 'A' && c <= 'J' && j < n && (s[j] == '.' || s[j] == ')' || s[j] == ':') {
				options++
				optionsLast++
			}
			lineHasText, lineBlank = true, false
			if tk != nil {
				tk[nt], ps[nt] = h, int32(i)
				nt++
			}
			i = j
			continue
		}
		if cl == clsNewline {
			lines++
			l := i - lineStart
			maxLine = max(maxLine, l)
			if !lineBlank {
				lastLine = l
				prevBlank = false
			} else {
				if !prevBlank {
					paras++
					lastPara = i + 1
					optionsLast = 0
				}
				prevBlank = true
			}
			lineStart = i + 1
			lineHasText, lineBlank = false, true
			if tk != nil {
				tk[nt], ps[nt] = uint64('\n')|1<<40, int32(i)
				nt++
			}
			i++
			continue
		}
		// Punctuation.
		pk[punctKind[c]]++
		switch c {
		case '(':
			if !lineHasText && i+2 < n && s[i+1] >= 'A' && s[i+1] <= 'J' && s[i+2] == ')' {
				options++
				optionsLast++
			}
		case '=':
			if i+1 < n && (s[i+1] == '=' || s[i+1] == '>') {
				code++
			}
		}
		punct++
		lineHasText, lineBlank = true, false
		if tk != nil {
			tk[nt], ps[nt] = uint64(c)|2<<40, int32(i)
			nt++
		}
		i++
	}
	if tk != nil {
		*toks, *pos = tk[:nt], ps[:nt]
	}
	mathSym, question, latex, quote := pk[pkMath], pk[pkQuestion], pk[pkLatex], pk[pkQuote]
	code += pk[pkCode]
	blank := pk[pkBlank] > 0
	if lineStart < n {
		lines++
		l := n - lineStart
		maxLine = max(maxLine, l)
		if !lineBlank {
			lastLine = l
		}
	}
	fn := float32(n)
	lg := func(x int, scale float64) float32 { return float32(math.Log1p(float64(x)) / scale) }
	out := shape
	out[shLogBytes] = lg(n, 9)
	b := shLen64
	for lim := 64; b < shLenMore && n >= lim; lim *= 2 {
		b++
	}
	out[b] = 1
	out[shLogWords] = lg(words, 7)
	out[shLogLines] = lg(lines, 5)
	out[shLogParas] = lg(paras, 4)
	out[shDigits] = float32(digits) / fn
	out[shMath] = min(1, 8*float32(mathSym)/fn)
	if letters > 0 {
		out[shUpper] = float32(upper) / float32(letters)
	}
	out[shNonASCII] = float32(nonASCII) / fn
	out[shPunct] = min(1, 4*float32(punct)/fn)
	out[shCode] = lg(code, 4)
	out[shQuestion] = lg(question, 3)
	out[shQWords] = lg(qwords, 3)
	out[shOptions] = min(1, float32(options)/10)
	out[shAnswer] = lg(answer, 3)
	out[shNumbers] = lg(numbers, 4)
	out[shLatex] = lg(latex, 4)
	if words > 0 {
		out[shWordLen] = min(1, float32(wordBytes)/float32(words)/10)
	}
	out[shMaxLine] = lg(maxLine, 8)
	out[shLastLine] = lg(lastLine, 8)
	out[shLastPara] = float32(n-lastPara) / fn
	if imperative {
		out[shImperative] = 1
	}
	if blank {
		out[shBlank] = 1
	}
	out[shQuote] = lg(quote, 4)
	out[shOptionsLast] = min(1, float32(optionsLast)/10)
}

// shapeFeatures computes the prompt-shape features of the whole of s into
// out (a featuriser with a MaxBytes window computes them on the window:
// Featuriser.ShapeOf).
func shapeFeatures(s string, out *[NumShape]float32) { scan(s, nil, nil, out) }

// setLength overwrites the length features of shape with those of an n-byte
// prompt (a windowed prompt's shape is computed on the window, its length
// is the whole prompt's).
func setLength(shape *[NumShape]float32, n int) {
	shape[shLogBytes] = float32(math.Log1p(float64(n)) / 9)
	for b := shLen64; b <= shLenMore; b++ {
		shape[b] = 0
	}
	b := shLen64
	for lim := 64; b < shLenMore && n >= lim; lim *= 2 {
		b++
	}
	shape[b] = 1
}
