package quality

// Prompt clusters for online learning.
//
// Feedback on live answers is kept per (prompt cluster, model), so a
// cluster must group prompts on which models succeed or fail alike, be
// stable across retrained artifacts (statistics outlive an artifact) and
// across the slots of a prompt template, keep nothing of the prompt but
// the id, and cost a few microseconds. Cluster therefore does not use the
// artifact's featuriser (a 2 KB prompt takes tens of microseconds there):
// it reads at most clusterHead + clusterTail (1 KB) bytes once and combines
//
//   - the prompt's kind, from byte statistics: code, multiple choice,
//     maths, long document, non-Latin script, structured text, question,
//     chat (the first that applies); and
//   - its domain: the argmax of word hits in a small lexicon per domain
//     (science, health, law and society, business, computing, writing,
//     maths; "general" without hits), a hand-made stand-in for centroids
//     in an embedding space that a template's variable words rarely move.
//
// Digits are not words: "add 17 and 25" and "add 33 and 48" share a cluster.
// NumClusters is the number of prompt clusters. Cluster returns ids in
// [1, NumClusters]; 0 is reserved for "no cluster". The id is
// 1 + kind·clusterDomains + domain.
const NumClusters = clusterKinds * clusterDomains

// Prompt kinds, in the order Cluster tests them (the first that applies).
const (
	clusterKindCode       = iota // ``` fences, or many braces and semicolons
	clusterKindChoice            // three or more option lines "A." "B)" "(C)"
	clusterKindMaths             // LaTeX markers, or dense digits and operators
	clusterKindLong              // 4 KB and longer: documents to summarise, extract from, answer about
	clusterKindScript            // mostly non-ASCII: other scripts and languages
	clusterKindStructured        // many lines: lists, tables, data, few-shot blocks
	clusterKindQuestion          // asks a question
	clusterKindChat              // everything else: instructions, chat
	clusterKinds                 // sentinel
)

// Domains, the index of their lexicon in clusterLexicon plus one; 0 is
// "general" (no lexicon word).
const clusterDomains = 8

// clusterLexicon lists, per domain, lower-case words that mark it: science,
// health, law and society, business, computing, writing, maths.
var clusterLexicon = [clusterDomains - 1]string{
	"physics chemistry biology atom atoms molecule molecules cell cells energy force gravity mass velocity acceleration " +
		"electron electrons proton neutron photon quantum chemical reaction element elements species evolution genetic gene genes " +
		"protein organism organisms mammal mammals animal animals plant plants planet planets star stars galaxy orbit climate " +
		"temperature ecosystem bacteria magnet magnets magnetic electric circuit voltage wave waves experiment scientist scientific " +
		"fossil rocks mineral ocean oxygen carbon hydrogen dolphin whale shark fish insect insects bird birds reptile solar",
	"health medical medicine disease diseases patient patients doctor symptom symptoms treatment therapy drug drugs dose dosage " +
		"clinical diagnosis infection virus vaccine cancer diabetes blood heart pain nutrition diet exercise mental anxiety " +
		"depression hospital nurse surgery chronic pregnancy sleep injury",
	"law legal court judge contract statute plaintiff defendant liability rights constitution government policy election " +
		"political president congress parliament history historical century empire ancient revolution king queen dynasty treaty " +
		"colonial philosophy ethics moral religion society social culture citizen crime criminal lawyer attorney regulation war",
	"business company companies market markets marketing sales customer customers revenue profit price prices cost costs " +
		"budget finance financial investment invest stock stocks bank loan interest economy economic inflation tax accounting " +
		"startup strategy management manager employee employees brand meeting invoice salary",
	"code software program programming function variable python javascript java rust golang database query server client " +
		"algorithm compile compiler debug bug api array string class object method library framework linux docker kubernetes " +
		"network computer data json html regex script github deploy cloud memory thread runtime syntax loop sql",
	"write story stories poem poetry essay letter novel character characters haiku song lyrics rewrite paraphrase summarize " +
		"summarise summary translate translation english french spanish german grammar sentence sentences paragraph words tone " +
		"style creative fiction plot title blog article headline slogan joke funny",
	"equation equations solve calculate compute number numbers integer integers fraction fractions probability triangle angle " +
		"angles circle area volume perimeter algebra geometry calculus derivative integral matrix vector prime divisible sum plus " +
		"minus multiply divide percent percentage average median ratio digits square root polynomial graph theorem proof prove " +
		"addition subtraction multiplication division",
}

// Limits of the cluster scanner.
const (
	clusterHead     = 256 // bytes read from the start of a long prompt
	clusterTail     = 768 // and from its end
	clusterMinWord  = 3   // shorter words are not looked up
	clusterMaxWord  = 16  // nor longer ones
	clusterLexBits  = 10  // log2 of the lexicon table's size
	clusterLexSlots = 1 << clusterLexBits
)

// Byte classes of the cluster scanner.
const (
	cbOther = iota
	cbLetter
	cbDigit
	cbOp      // + - * / = ^ < > %
	cbCode    // { } ; `
	cbLatex   // $ \
	cbNewline // '\n'
	cbQuestion
	cbHigh // a byte ≥ 0x80
)

// The scanner's byte table and the lexicon's hash table: computed once when
// the package loads, read-only afterwards.
var (
	clusterClass    = clusterTable()
	clusterLexTable = clusterBuildLexicon()
)

func clusterTable() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		switch {
		case b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z':
			t[c] = cbLetter
		case b >= '0' && b <= '9':
			t[c] = cbDigit
		case b == '+' || b == '-' || b == '*' || b == '/' || b == '=' || b == '^' || b == '<' || b == '>' || b == '%':
			t[c] = cbOp
		case b == '{' || b == '}' || b == ';' || b == '`':
			t[c] = cbCode
		case b == '$' || b == '\\':
			t[c] = cbLatex
		case b == '\n':
			t[c] = cbNewline
		case b == '?':
			t[c] = cbQuestion
		case b >= 0x80:
			t[c] = cbHigh
		}
	}
	return t
}

// clusterLexEntry is one slot of the lexicon table: a word's key with its
// low byte replaced by the word's domain (0: empty slot); the other 56 bits
// tell words apart. At eight bytes a slot the table takes 8 KB and stays in
// the L1 cache.
type clusterLexEntry uint64

// clusterWordKey is a word's lexicon key: its last eight letters
// (lower-cased) packed into a word, mixed with its length, then multiplied
// by an odd constant (a bijection) so every bit depends on every letter.
// Distinct words that agree in length and in their last eight letters share
// a key; no lexicon word is hurt by that in practice, and packing costs a
// shift per letter where a byte-wise hash would cost a multiplication.
func clusterWordKey(packed uint64, n int) uint64 {
	return (packed ^ uint64(n)<<59) * 0x9e3779b97f4a7c15
}

// clusterLexSlot is the first table slot for key: its top bits.
func clusterLexSlot(key uint64) uint64 { return key >> (64 - clusterLexBits) }

func clusterBuildLexicon() *[clusterLexSlots]clusterLexEntry {
	t := new([clusterLexSlots]clusterLexEntry)
	for d, list := range clusterLexicon {
		word := func(w string) {
			var packed uint64
			for i := 0; i < len(w); i++ {
				packed = packed<<8 | uint64(w[i])
			}
			k := clusterWordKey(packed, len(w))
			for i := clusterLexSlot(k); ; i = (i + 1) & (clusterLexSlots - 1) {
				if t[i] == 0 || uint64(t[i])>>8 == k>>8 {
					t[i] = clusterLexEntry(k&^0xff | uint64(d+1)) // a word listed twice keeps its last domain
					return
				}
			}
		}
		start := 0
		for i := 0; i <= len(list); i++ {
			if i == len(list) || list[i] == ' ' {
				if i > start {
					word(list[start:i])
				}
				start = i + 1
			}
		}
	}
	return t
}

// clusterLookup returns the domain of the word with key k, or 0.
func clusterLookup(k uint64) uint8 {
	for i := clusterLexSlot(k); ; i = (i + 1) & (clusterLexSlots - 1) {
		e := uint64(clusterLexTable[i])
		if e == 0 || e>>8 == k>>8 {
			return uint8(e)
		}
	}
}

// clusterScan holds the counts of one scan.
type clusterScan struct {
	n                                    int // bytes scanned
	digits, ops, code, latex, high, ques int
	lines, options                       int
	fence                                bool
	hits                                 [clusterDomains]int
}

// Cluster returns prompt's cluster id in [1, NumClusters]. It is
// deterministic, allocates nothing, reads at most 1 KB of the prompt
// whatever its length, and is safe for concurrent use. The id is all that
// is kept of the prompt.
func Cluster(prompt string) int {
	var s clusterScan
	if len(prompt) <= clusterHead+clusterTail {
		s.scan(prompt)
	} else {
		s.scan(prompt[:clusterHead])
		s.scan(prompt[len(prompt)-clusterTail:])
	}
	kind := clusterKindChat
	switch {
	case s.fence:
		kind = clusterKindCode
	case s.latex >= 2 && 2*s.latex >= s.code:
		kind = clusterKindMaths
	case s.code >= 4 && s.code*100 >= s.n:
		kind = clusterKindCode
	case s.options >= 3:
		kind = clusterKindChoice
	case s.ops >= 3 && (s.digits+s.ops)*100 >= 8*s.n:
		kind = clusterKindMaths
	case len(prompt) >= 4096:
		kind = clusterKindLong
	case s.high*10 >= 3*s.n && s.n > 0:
		kind = clusterKindScript
	case s.lines >= 8:
		kind = clusterKindStructured
	case s.ques > 0:
		kind = clusterKindQuestion
	}
	domain, best := 0, 0 // hits[0] counts words of no domain
	for d := 1; d < clusterDomains; d++ {
		if s.hits[d] > best {
			domain, best = d, s.hits[d]
		}
	}
	return 1 + kind*clusterDomains + domain
}

// scan adds p's counts to s. Words are runs of ASCII letters, lower-cased;
// a word cut by the end of p still counts.
func (s *clusterScan) scan(p string) {
	s.n += len(p)
	lineStart := true
	for i := 0; i < len(p); i++ {
		c := p[i]
		cls := clusterClass[c]
		if cls == cbLetter {
			if lineStart {
				s.option(p, i)
				lineStart = false
			}
			var packed uint64
			j := i
			for ; j < len(p) && clusterClass[p[j]] == cbLetter; j++ {
				packed = packed<<8 | uint64(p[j]|0x20)
			}
			if wl := j - i; wl >= clusterMinWord && wl <= clusterMaxWord {
				s.hits[clusterLookup(clusterWordKey(packed, wl))]++
			}
			i = j - 1
			continue
		}
		switch cls {
		case cbDigit:
			s.digits++
		case cbOp:
			s.ops++
		case cbCode:
			s.code++
			if c == '`' && i+2 < len(p) && p[i+1] == '`' && p[i+2] == '`' {
				s.fence = true
			}
		case cbLatex:
			s.latex++
		case cbHigh:
			s.high++
		case cbQuestion:
			s.ques++
		case cbNewline:
			s.lines++
			lineStart = true
			continue
		}
		if c == '(' && lineStart {
			s.option(p, i+1)
		}
		if c != ' ' && c != '\t' && c != '\r' {
			lineStart = false
		}
	}
}

// option counts an option line: a letter A-E (either case) at i, right
// after the line's indentation or an opening parenthesis, followed by
// '.' or ')'.
func (s *clusterScan) option(p string, i int) {
	if i+1 >= len(p) {
		return
	}
	c := p[i] | 0x20
	if c >= 'a' && c <= 'e' && (p[i+1] == '.' || p[i+1] == ')') {
		s.options++
	}
}
