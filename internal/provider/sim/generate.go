package sim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"unicode"

	"github.com/octomesh/octomesh"
)

// answer is one generated choice.
type answer struct {
	text      string
	toolCalls []octomesh.ToolCall
	finish    string
	tokens    int // completion tokens
}

// jsonObjectSchema shapes answers to response_format json_object.
const jsonObjectSchema = `{"type":"object","properties":{
	"answer":{"type":"string"},
	"confidence":{"type":"number","minimum":0,"maximum":1},
	"keywords":{"type":"array","items":{"type":"string"},"minItems":1,"maxItems":3}},
	"required":["answer","confidence","keywords"]}`

// maxToolsPerTurn bounds parallel tool calls in one answer.
const maxToolsPerTurn = 3

// generation holds what every choice of one request is generated from.
type generation struct {
	req      *octomesh.ChatRequest
	m        *Model
	c        *checked
	prompt   string // the last user message's text
	task     string
	kws      []string
	lastRole octomesh.Role
}

// generate produces the request's choices. It fails only when a schema
// cannot be satisfied (EINVALID).
func (f *Fleet) generate(req *octomesh.ChatRequest, m *Model, c *checked, k key) ([]answer, error) {
	g := &generation{req: req, m: m, c: c, lastRole: req.Messages[len(req.Messages)-1].Role}
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == octomesh.RoleUser {
			g.prompt = req.Messages[i].Content.Text()
			break
		}
	}
	g.task = TaskOf(g.prompt)
	g.kws = keywords(g.prompt)
	out := make([]answer, c.n)
	for i := range out {
		a, err := g.choice(k.rng("choice", uint64(i)))
		if err != nil {
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

// choice generates one choice from its own generator.
func (g *generation) choice(r *rand.Rand) (answer, error) {
	if tools := g.toolsToCall(r); len(tools) > 0 {
		return g.callTools(r, tools)
	}
	var text string
	switch rf := g.req.ResponseFormat; {
	case rf != nil && rf.Type == octomesh.FormatJSONSchema:
		var err error
		if text, err = generateJSON(r, g.c.format, rf.JSONSchema.Schema, g.kws); err != nil {
			return answer{}, octomesh.Errorf(octomesh.EINVALID, "the response format schema cannot be satisfied").
				WithParam("response_format.json_schema.schema").WithCause(err)
		}
	case rf != nil && rf.Type == octomesh.FormatJSONObject:
		raw := json.RawMessage(jsonObjectSchema)
		s, err := parseSchema(raw)
		if err == nil {
			text, err = generateJSON(r, s, raw, g.kws)
		}
		if err != nil {
			return answer{}, octomesh.Errorf(octomesh.EINTERNAL, "simulated JSON answer failed").WithCause(err)
		}
	default:
		spec := proseSpec{task: g.task, keywords: g.kws, lang: snippetLang(g.prompt)}
		spec.good = r.Float64() < g.m.quality(g.task)
		if g.lastRole == octomesh.RoleTool {
			spec.tool = g.answeredTool()
		}
		text = writeProse(r, spec)
	}
	return g.finishText(text), nil
}

// finishText applies the output limit and stop sequences to text.
func (g *generation) finishText(text string) answer {
	a := answer{text: text, finish: octomesh.FinishStop}
	toks := splitTokens(text)
	a.tokens = len(toks)
	if len(toks) > g.c.limit {
		toks = toks[:g.c.limit]
		a.text = strings.Join(toks, "")
		a.tokens = g.c.limit
		a.finish = octomesh.FinishLength
	}
	at, stop := -1, ""
	for _, s := range g.req.Stop {
		if i := strings.Index(a.text, s); s != "" && i >= 0 && (at < 0 || i < at) {
			at, stop = i, s
		}
	}
	if at >= 0 {
		// The model generated the stop sequence; it is counted, not returned.
		a.tokens = min(len(splitTokens(a.text[:at+len(stop)])), a.tokens)
		a.text = a.text[:at]
		a.finish = octomesh.FinishStop
	}
	return a
}

// toolsToCall returns the indexes of the tools this choice calls, if any:
// always for tool_choice required or a named function, for auto (the
// default) when the last message is the user's, never for none. Tools whose
// name or description share words with the prompt are preferred; several
// are called at once when parallel_tool_calls is not false.
func (g *generation) toolsToCall(r *rand.Rand) []int {
	tools := g.req.Tools
	if len(tools) == 0 {
		return nil
	}
	mode := octomesh.ToolChoiceAuto
	if g.req.ToolChoice != nil && g.req.ToolChoice.Mode != "" {
		mode = g.req.ToolChoice.Mode
	}
	switch mode {
	case octomesh.ToolChoiceNone:
		return nil
	case octomesh.ToolChoiceFunction:
		for i, t := range tools {
			if t.Function.Name == g.req.ToolChoice.Function {
				return []int{i}
			}
		}
		return nil
	case octomesh.ToolChoiceAuto:
		if g.lastRole != octomesh.RoleUser {
			return nil
		}
	}
	words := wordSet(g.prompt)
	type scored struct{ i, score int }
	var fit []scored
	for i, t := range tools {
		s := 0
		for _, w := range nameParts(t.Function.Name) {
			if words[w] {
				s += 2
			}
		}
		for w := range wordSet(t.Function.Description) {
			if len(w) >= 4 && !isStopword(w) && words[w] {
				s++
			}
		}
		if s > 0 {
			fit = append(fit, scored{i, s})
		}
	}
	slices.SortStableFunc(fit, func(a, b scored) int { return b.score - a.score })
	if len(fit) == 0 {
		return []int{r.IntN(len(tools))}
	}
	n := 1
	if g.req.ParallelToolCalls == nil || *g.req.ParallelToolCalls {
		n = min(len(fit), maxToolsPerTurn)
	}
	out := make([]int, n)
	for j := range out {
		out[j] = fit[j].i
	}
	slices.Sort(out) // call the chosen tools in declaration order
	return out
}

// callTools builds the calls with schema-valid arguments, truncating
// arguments at the output limit as a real model would (finish "length").
func (g *generation) callTools(r *rand.Rand, idx []int) (answer, error) {
	a := answer{finish: octomesh.FinishToolCalls}
	left := g.c.limit
	for _, i := range idx {
		fn := g.req.Tools[i].Function
		args := "{}"
		if len(fn.Parameters) > 0 {
			var err error
			if args, err = generateJSON(r, g.c.toolSchema[i], fn.Parameters, g.kws); err != nil {
				return answer{}, octomesh.Errorf(octomesh.EINVALID, "the function parameters schema cannot be satisfied").
					WithParam(fmt.Sprintf("tools[%d].function.parameters", i)).WithCause(err)
			}
		}
		if left <= 1 {
			a.finish = octomesh.FinishLength
			break
		}
		toks := splitTokens(args)
		if 1+len(toks) > left {
			args = strings.Join(toks[:left-1], "")
			a.finish = octomesh.FinishLength
			toks = toks[:left-1]
		}
		left -= 1 + len(toks)
		a.tokens += 1 + len(toks)
		a.toolCalls = append(a.toolCalls, octomesh.ToolCall{
			ID: "call_" + randomAlnum(r, 24), Type: "function",
			Function: octomesh.FunctionCall{Name: fn.Name, Arguments: args},
		})
		if a.finish == octomesh.FinishLength {
			break
		}
	}
	return a, nil
}

// answeredTool returns the name of the function whose result the last
// (tool) message carries.
func (g *generation) answeredTool() string {
	id := g.req.Messages[len(g.req.Messages)-1].ToolCallID
	for i := len(g.req.Messages) - 1; i >= 0; i-- {
		for _, tc := range g.req.Messages[i].ToolCalls {
			if tc.ID == id {
				return tc.Function.Name
			}
		}
	}
	return "the tool"
}

// wordSet returns the lower-case letter words of the start of s.
func wordSet(s string) map[string]bool {
	if len(s) > keywordScan {
		s = s[:keywordScan]
	}
	set := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) }) {
		set[w] = true
	}
	return set
}

// nameParts splits a function name on '_', '-' and camelCase boundaries
// into lower-case words of three letters or more.
func nameParts(name string) []string {
	var parts []string
	var cur []rune
	flush := func() {
		if len(cur) >= 3 {
			parts = append(parts, strings.ToLower(string(cur)))
		}
		cur = cur[:0]
	}
	for _, r := range name {
		switch {
		case !unicode.IsLetter(r):
			flush()
		case unicode.IsUpper(r) && len(cur) > 0 && !unicode.IsUpper(cur[len(cur)-1]):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
	}
	flush()
	return parts
}

func randomAlnum(r *rand.Rand, n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}
