package sim

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The sentence bank. Templates may hold {k} (a prompt keyword), and math
// templates {a}, {b} and {ab} (two operands and their product). Read-only.
var (
	openers = map[string][]string{
		TaskChat: {
			"Sure! Here is a short overview of {k}.",
			"Good question. Let's look at {k} in a bit more detail.",
			"Here is what you need to know about {k}.",
			"Happy to help with {k}.",
			"There are a few things worth knowing about {k}.",
		},
		TaskCode: {
			"Here is one way to approach {k} in code.",
			"Sure. The cleanest solution for {k} is a small, focused function.",
			"Let's write this step by step, starting with {k}.",
		},
		TaskMath: {
			"Let's work through it step by step.",
			"We can solve this with a little arithmetic.",
			"Here is the calculation, one step at a time.",
		},
		TaskReasoning: {
			"Let's reason about {k} carefully.",
			"There are a few angles to consider here.",
			"To answer this, it helps to separate what we know from what we assume about {k}.",
		},
		TaskExtraction: {
			"Here are the items I found:",
			"I extracted the following from the text:",
			"These are the relevant details:",
		},
	}
	bodies = map[string][]string{
		TaskChat: {
			"The most important thing is to start with a clear goal and work from there.",
			"In practice, {k} depends a lot on the context you are working in.",
			"Many people find that a small, concrete first step makes the rest much easier.",
			"It helps to keep the details simple at first and refine them later.",
			"If you are unsure, try a quick experiment and compare the results.",
			"A good rule of thumb is to focus on what matters most to you.",
			"Most of the common mistakes come from skipping the basics.",
			"There is rarely a single right answer, but some options are clearly better than others.",
			"Keep in mind that {k} can change over time, so it is worth checking again later.",
			"The details vary, but the overall idea stays the same.",
			"You can always come back and adjust things as you learn more.",
			"It is also worth asking someone with hands-on experience of {k}.",
		},
		TaskCode: {
			"The idea is to keep the function small and easy to test.",
			"First, validate the input, then handle the main case, and finally deal with the edge cases.",
			"This runs in linear time and uses constant extra memory.",
			"You may want to add error handling for empty input.",
			"A unit test for the edge cases will catch most regressions.",
			"If performance matters, measure before optimising.",
			"Naming the helper after what it does, not how, keeps the code readable.",
			"The same pattern works for {k} as well.",
		},
		TaskMath: {
			"Step 1: write down the known quantities, {a} and {b}.",
			"Step 2: combine them: {a} × {b} = {ab}.",
			"Step 3: check the result against the original question.",
			"It is always a good idea to double-check the units.",
		},
		TaskReasoning: {
			"First, consider what we know for certain about {k}.",
			"Second, look at what follows from it, one step at a time.",
			"The key trade-off is between simplicity and flexibility.",
			"On one hand, the direct approach is easier to verify; on the other hand, it may not generalise.",
			"Putting these together, the most likely conclusion is that the simpler explanation holds.",
			"That said, new evidence could change this conclusion.",
			"Therefore, the answer hinges mostly on {k}.",
		},
		TaskExtraction: {
			"- {k}",
			"- {k}",
			"- {k}",
			"All other fields were not present in the text.",
		},
	}
	closers = []string{
		"Let me know if you would like more detail on any of these points.",
		"I hope this helps!",
		"Feel free to ask a follow-up question.",
		"Would you like a more detailed example?",
	}
	hedges = []string{
		"I'm not entirely sure, but I think it has something to do with {k}.",
		"That's a tricky one, and I may be missing something.",
		"Hmm, it depends on a few things I can't see from here.",
		"I don't have enough information to be certain about {k}.",
	}
	afterTool = []string{
		"Based on the result from {tool}, here is the answer.",
		"The {tool} call returned the information needed.",
		"I checked with {tool}; here is what it says.",
	}
	snippets = map[string]string{
		"python": "```python\ndef solve(items):\n    result = []\n    for item in items:\n        if item is not None:\n            result.append(item)\n    return result\n```",
		"go":     "```go\nfunc solve(items []string) []string {\n\tvar out []string\n\tfor _, it := range items {\n\t\tif it != \"\" {\n\t\t\tout = append(out, it)\n\t\t}\n\t}\n\treturn out\n}\n```",
		"js":     "```javascript\nfunction solve(items) {\n  return items.filter((item) => item != null);\n}\n```",
		"sql":    "```sql\nSELECT id, name\nFROM items\nWHERE name IS NOT NULL\nORDER BY id;\n```",
	}
)

// stopwordList holds words too common to be keywords, space-separated.
const stopwordList = "about above after again also always another based been before being below between both " +
	"could does doing down during each explain from further give have having here into just know like made make " +
	"more most much need only other over please same should some such tell than that their them then there these " +
	"they this those through under until very want what when where which while will with would your yours write " +
	"using used thanks thank hello might must shall within without something anything following return returns " +
	"question answer help briefly short simple tell list give show find does what's it's i'm " +
	"extract calculate compute solve summarize summarise describe create generate step steps times"

// isStopword reports whether w (lower case) is too common to be a keyword.
func isStopword(w string) bool {
	return strings.Contains(" "+stopwordList+" ", " "+w+" ")
}

// keywordScan bounds how much of a prompt keywords reads.
const keywordScan = 4 << 10

// keywords picks up to three distinct topical words (4-20 letters, not stop
// words) from the start of text, in order of appearance. Words keep their capital only
// when it is not merely sentence case. Only single words are ever taken, so
// an answer never echoes prompt text at length.
func keywords(text string) []string {
	if len(text) > keywordScan {
		text = text[:keywordScan]
	}
	var out []string
	seen := map[string]bool{}
	sentenceStart := true
	for i := 0; i < len(text) && len(out) < 3; {
		r, w := utf8.DecodeRuneInString(text[i:])
		if !unicode.IsLetter(r) {
			if r == '.' || r == '!' || r == '?' || r == '\n' {
				sentenceStart = true
			} else if !unicode.IsSpace(r) {
				sentenceStart = false
			}
			i += w
			continue
		}
		j := i
		for j < len(text) {
			r2, w2 := utf8.DecodeRuneInString(text[j:])
			if !unicode.IsLetter(r2) && r2 != '-' {
				break
			}
			j += w2
		}
		word := strings.Trim(text[i:j], "-")
		lower := strings.ToLower(word)
		n := utf8.RuneCountInString(word)
		if n >= 4 && n <= 20 && !isStopword(lower) && !seen[lower] {
			seen[lower] = true
			if sentenceStart || !unicode.IsUpper(r) {
				word = lower
			}
			out = append(out, word)
		}
		sentenceStart = false
		i = j
	}
	return out
}

// proseSpec is what a prose answer is built from.
type proseSpec struct {
	task     string
	keywords []string
	good     bool   // a good answer (see Model.Quality) rather than a vague one
	tool     string // the tool whose result is being answered, if any
	lang     string // snippet language for code answers
}

// writeProse composes a plausible answer from the sentence bank.
func writeProse(r *rand.Rand, s proseSpec) string {
	f := &filler{r: r, kws: s.keywords, a: 2 + r.IntN(98), b: 2 + r.IntN(98)}
	chat := bodies[TaskChat]
	switch {
	case s.tool != "":
		first := strings.ReplaceAll(pick(r, afterTool), "{tool}", s.tool)
		return strings.Join(append([]string{first}, f.some(chat, 1+r.IntN(3))...), " ")
	case !s.good:
		return strings.Join(append([]string{f.fill(pick(r, hedges))}, f.some(chat, 1+r.IntN(2))...), " ")
	}
	paras := []string{f.fill(pick(r, openers[s.task]))}
	body := bodies[s.task]
	switch s.task {
	case TaskMath: // the steps in order, then the result
		paras = append(paras, strings.Join(f.fillAll(body), "\n"), f.fill("So the answer is {ab}."))
	case TaskExtraction: // a list of the prompt's keywords, then a remark
		n := max(1, min(len(s.keywords), len(body)-1))
		paras = append(paras, strings.Join(f.fillAll(body[:n]), "\n"), body[len(body)-1])
	default: // 2-6 sentences, in paragraphs of up to three
		sentences := f.some(body, 2+r.IntN(5))
		for len(sentences) > 0 {
			k := min(3, len(sentences))
			paras = append(paras, strings.Join(sentences[:k], " "))
			sentences = sentences[k:]
		}
		if s.task == TaskCode {
			paras = append(paras, "Here is a minimal implementation you can adapt:", snippets[s.lang])
		}
	}
	if r.IntN(2) == 0 {
		paras = append(paras, pick(r, closers))
	}
	return strings.Join(paras, "\n\n")
}

// snippetLang picks the code snippet's language from the prompt.
func snippetLang(prompt string) string {
	p := " " + strings.ToLower(prompt) + " "
	switch {
	case strings.Contains(p, "golang") || strings.Contains(p, " go "):
		return "go"
	case strings.Contains(p, "javascript") || strings.Contains(p, "typescript") || strings.Contains(p, " js "):
		return "js"
	case strings.Contains(p, "sql"):
		return "sql"
	}
	return "python"
}

// filler fills template slots.
type filler struct {
	r    *rand.Rand
	kws  []string
	next int
	a, b int
}

// some fills n distinct templates of bank (fewer if the bank is smaller),
// in random order.
func (f *filler) some(bank []string, n int) []string {
	var out []string
	for _, i := range f.r.Perm(len(bank))[:min(n, len(bank))] {
		out = append(out, f.fill(bank[i]))
	}
	return out
}

// fillAll fills every template of bank, in order.
func (f *filler) fillAll(bank []string) []string {
	out := make([]string, len(bank))
	for i, t := range bank {
		out[i] = f.fill(t)
	}
	return out
}

// fill replaces t's slots: each {k} with the next keyword (or "this
// topic"), {a}, {b} and {ab} with the operands and their product.
func (f *filler) fill(t string) string {
	for strings.Contains(t, "{k}") {
		kw := "this topic"
		if len(f.kws) > 0 {
			kw = f.kws[f.next%len(f.kws)]
			f.next++
		}
		t = strings.Replace(t, "{k}", kw, 1)
	}
	if strings.Contains(t, "{a}") || strings.Contains(t, "{ab}") {
		t = strings.NewReplacer("{ab}", strconv.Itoa(f.a*f.b), "{a}", strconv.Itoa(f.a), "{b}", strconv.Itoa(f.b)).Replace(t)
	}
	return t
}

// phrase returns a short lower-case phrase for a string value with no
// better hint.
func phrase(r *rand.Rand, kws []string) string {
	words := []string{"quick", "summary", "of", "the", "main", "points", "clear", "next", "steps", "for", "review",
		"simple", "overview", "key", "details", "current", "status", "update"}
	n := 2 + r.IntN(3)
	out := make([]string, 0, n)
	if len(kws) > 0 && r.IntN(2) == 0 {
		out = append(out, kws[r.IntN(len(kws))])
	}
	for len(out) < n {
		out = append(out, words[r.IntN(len(words))])
	}
	return strings.Join(out, " ")
}

func pick(r *rand.Rand, xs []string) string { return xs[r.IntN(len(xs))] }
