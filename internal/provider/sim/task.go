package sim

import (
	"strings"
	"unicode"
)

// taskCues are the keyword cues of each task category, scored by TaskOf.
// Read-only.
var taskCues = []struct {
	task string
	cues []string
}{
	{TaskCode, []string{"code", "function", "bug", "compile", "python", "golang", "javascript", "typescript", "java", "rust",
		"sql", "regex", "stack trace", "exception", "refactor", "implement", "class", "method", "api", "script", "unit test",
		"```", "def ", "func ", "null pointer", "segfault", "algorithm", "program"}},
	{TaskMath, []string{"calculate", "compute", "solve", "equation", "integral", "derivative", "sum of", "probability",
		"percent", "average", "how many", "how much", "math", "arithmetic", "multiply", "divide", "fraction", "square root",
		"theorem", "algebra", "geometry", "times", "plus", "minus", "divided by", "squared", "+", "×", "÷", "="}},
	{TaskExtraction, []string{"extract", "parse", "json", "fields", "list all", "from the following", "from this text",
		"invoice", "table", "entities", "classify", "categorize", "label", "tag", "structured", "csv", "key-value", "names of"}},
	{TaskReasoning, []string{"why", "explain", "prove", "reason", "step by step", "compare", "analyze", "analyse",
		"pros and cons", "should i", "logic", "puzzle", "infer", "deduce", "trade-off", "tradeoff", "evaluate", "argument",
		"which is better", "what would happen"}},
}

// taskScan bounds how much of each end of a prompt TaskOf reads: the
// instruction is usually at the start or the end of a long prompt.
const taskScan = 8 << 10

// TaskOf classifies a prompt into a task category (TaskCode, TaskMath,
// TaskExtraction, TaskReasoning or TaskChat) by counting keyword cues in its
// first and last 8 KiB; ties go to the category listed first (code, math,
// extraction, reasoning), and a prompt with no cue is chat. It is
// deliberately simple: a stand-in for the learned classifier, cheap enough
// for every request.
func TaskOf(prompt string) string {
	if len(prompt) > 2*taskScan {
		prompt = prompt[:taskScan] + "\n" + prompt[len(prompt)-taskScan:]
	}
	p := strings.ToLower(prompt)
	best, bestScore := TaskChat, 0
	for _, tc := range taskCues {
		score := 0
		for _, c := range tc.cues {
			score += countCue(p, c)
		}
		if score > bestScore {
			best, bestScore = tc.task, score
		}
	}
	return best
}

// countCue counts occurrences of cue in p; cues that start and end with a
// letter must match whole words, so "class" does not match "classic".
func countCue(p, cue string) int {
	word := isLetter(cue[0]) && isLetter(cue[len(cue)-1])
	n := 0
	for i := 0; ; {
		j := strings.Index(p[i:], cue)
		if j < 0 {
			return n
		}
		at := i + j
		end := at + len(cue)
		if !word || (at == 0 || !isLetter(p[at-1])) && (end == len(p) || !isLetter(p[end])) {
			n++
		}
		i = end
	}
}

func isLetter(b byte) bool { return b < 0x80 && unicode.IsLetter(rune(b)) }
