package quality

import "math"

// NumShape is the number of dense prompt-shape features.
const NumShape = 32

// Shape feature slots. Each value is scaled to roughly [0,1].
const (
	shLogBytes = iota // log length in bytes
	shLen64           // one-hot length buckets: <64, <128, <256, <512, <1K, <2K, <4K, ≥4K bytes
	shLen128
	shLen256
	shLen512
	shLen1K
	shLen2K
	shLen4K
	shLenMore
	shLogWords     // log word count
	shLogLines     // log line count
	shLogParas     // log count of blank-line separated paragraphs
	shDigits       // fraction of digit bytes
	shMath         // fraction of math symbols + - * / = ^ < > %
	shUpper        // fraction of upper-case letters among letters
	shNonASCII     // fraction of non-ASCII bytes
	shPunct        // fraction of other punctuation
	shCode         // code markers (def, return, {}, ;, ```, import, function, =>, ==, print()
	shQuestion     // question marks
	shQWords       // question words (what, how, why, which, who, when, where)
	shOptions      // multiple-choice option lines "A." "B)" "(C)" …, count/10
	shAnswer       // "answer" markers (few-shot blocks)
	shNumbers      // count of numbers
	shLatex        // $ and \ markers
	shWordLen      // mean word length
	shMaxLine      // log of the longest line
	shLastLine     // log of the last non-empty line
	shLastPara     // fraction of the prompt in the last paragraph
	shImperative   // starts with an instruction verb (write, explain, …)
	shBlank        // a fill-in blank "_" or "___"
	shQuote        // quotation marks
	shOptionsLast  // option lines within the last paragraph, count/10
	numShapeSlots_ // sentinel
)

var _ = [1]struct{}{}[NumShape-numShapeSlots_] // NumShape must equal the slot count

// shapeFeatures computes the prompt-shape features of s into out.
func shapeFeatures(s string, out *[NumShape]float32) {
	*out = [NumShape]float32{}
	n := len(s)
	if n == 0 {
		return
	}
	var (
		digits, mathSym, upper, letters, nonASCII, punct, question, latex, quote int
		words, wordBytes, numbers, qwords, code, options, optionsLast, answer    int
		lines, paras, maxLine, lastLine, lastParaStart                           int
		blank                                                                    bool
	)
	lineStart := 0
	prevBlank := false
	lastPara := 0
	lineHasText := false
	for i := 0; i < n; {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80:
			j := i
			allDigits := true
			for j < n && (isWordByte(lower(s[j]))) {
				b := s[j]
				switch {
				case b >= '0' && b <= '9':
					digits++
				case b >= 'A' && b <= 'Z':
					upper++
					letters++
					allDigits = false
				case b >= 0x80:
					nonASCII++
					allDigits = false
				default:
					letters++
					allDigits = false
				}
				j++
			}
			w := s[i:j]
			words++
			wordBytes += len(w)
			if allDigits {
				numbers++
			}
			if isQuestionWord(w) {
				qwords++
			}
			if isCodeWord(w) {
				code++
			}
			if eqFold(w, "answer") {
				answer++
			}
			// Option line: the line starts with a single capital letter
			// followed by '.', ')' or ':' (or "(X)").
			if !lineHasText && len(w) == 1 && w[0] >= 'A' && w[0] <= 'J' && j < n && (s[j] == '.' || s[j] == ')' || s[j] == ':') {
				options++
				optionsLast++
			}
			lineHasText = true
			i = j
			continue
		case c == '\n':
			lines++
			l := i - lineStart
			maxLine = max(maxLine, l)
			if l > 0 && !isBlankLine(s[lineStart:i]) {
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
			lineHasText = false
		case c == ' ' || c == '\t' || c == '\r':
		case c == '(' && !lineHasText && i+2 < n && s[i+1] >= 'A' && s[i+1] <= 'J' && s[i+2] == ')':
			options++
			optionsLast++
			punct++
			lineHasText = true
		default:
			switch c {
			case '+', '-', '*', '/', '=', '^', '<', '>', '%':
				mathSym++
			case '?':
				question++
			case '$', '\\':
				latex++
			case '"', '\'':
				quote++
			case '{', '}', ';', '`':
				code++
			case '_':
				blank = true
			}
			if c == '=' && i+1 < n && (s[i+1] == '=' || s[i+1] == '>') {
				code++
			}
			punct++
			lineHasText = true
		}
		i++
	}
	if lineStart < n {
		lines++
		l := n - lineStart
		maxLine = max(maxLine, l)
		if !isBlankLine(s[lineStart:]) {
			lastLine = l
		}
	}
	lastParaStart = lastPara
	fn := float32(n)
	lg := func(x int, scale float64) float32 { return float32(math.Log1p(float64(x)) / scale) }
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
	out[shLastPara] = float32(n-lastParaStart) / fn
	if startsImperative(s) {
		out[shImperative] = 1
	}
	if blank {
		out[shBlank] = 1
	}
	out[shQuote] = lg(quote, 4)
	out[shOptionsLast] = min(1, float32(optionsLast)/10)
}

func isBlankLine(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' && s[i] != '\t' && s[i] != '\r' {
			return false
		}
	}
	return true
}

// eqFold reports whether the ASCII word w equals the lower-case word t,
// ignoring case.
func eqFold(w, t string) bool {
	if len(w) != len(t) {
		return false
	}
	for i := 0; i < len(w); i++ {
		if lower(w[i]) != t[i] {
			return false
		}
	}
	return true
}

func isQuestionWord(w string) bool {
	switch len(w) {
	case 3:
		return eqFold(w, "how") || eqFold(w, "why") || eqFold(w, "who")
	case 4:
		return eqFold(w, "what") || eqFold(w, "when") || eqFold(w, "whom")
	case 5:
		return eqFold(w, "which") || eqFold(w, "where") || eqFold(w, "whose")
	}
	return false
}

func isCodeWord(w string) bool {
	switch len(w) {
	case 3:
		return w == "def" || w == "int" || w == "var"
	case 4:
		return w == "func" || w == "void" || w == "elif" || w == "self"
	case 5:
		return w == "print" || w == "const" || w == "class"
	case 6:
		return w == "return" || w == "import" || w == "lambda"
	case 7:
		return w == "include"
	case 8:
		return w == "function"
	}
	return false
}

// startsImperative reports whether the prompt's first word is an
// instruction verb.
func startsImperative(s string) bool {
	i := 0
	for i < len(s) && !isWordByte(lower(s[i])) {
		i++
	}
	j := i
	for j < len(s) && isWordByte(lower(s[j])) {
		j++
	}
	w := s[i:j]
	for _, v := range [...]string{"write", "explain", "describe", "translate", "summarize", "summarise", "implement", "create", "generate", "list", "give", "compute", "calculate", "find", "solve", "prove", "rewrite", "classify", "complete"} {
		if eqFold(w, v) {
			return true
		}
	}
	return false
}
