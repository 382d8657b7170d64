package quality

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
