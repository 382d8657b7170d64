package gemini

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/provider"
)

// decodeResponse translates a whole generateContent answer. raw is the body
// gr was decoded from; it seeds the response id when Gemini sends none.
func decodeResponse(providerID, model string, received time.Time, raw []byte, gr *generateResponse) (*octomesh.ChatResponse, error) {
	if gr.Error != nil {
		return nil, classifyAPIError(providerID, nil, gr.Error)
	}
	if len(gr.Candidates) == 0 {
		return nil, noCandidates(providerID, gr)
	}
	out := &octomesh.ChatResponse{
		ID:      responseID(gr.ResponseID, raw),
		Object:  octomesh.ObjectChatCompletion,
		Created: received.Unix(),
		Model:   model,
		Usage:   usage(gr.UsageMetadata),
	}
	if gr.ModelVersion != "" {
		out.Model = gr.ModelVersion
	}
	cands := append([]candidate(nil), gr.Candidates...)
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].Index < cands[j].Index })
	for _, c := range cands {
		text, calls := candidateParts(c.Content, 0)
		for i := range calls {
			calls[i].Index = nil // indexes belong to stream deltas only
		}
		finish, err := finishReason(providerID, c.FinishReason, len(calls) > 0)
		if err != nil {
			return nil, err
		}
		if finish == "" {
			finish = octomesh.FinishStop // a whole response is complete by definition
		}
		msg := octomesh.Message{Role: octomesh.RoleAssistant, ToolCalls: calls}
		if text != "" || len(calls) == 0 && finish != octomesh.FinishContentFilter {
			msg.Content = octomesh.TextContent(text)
		}
		out.Choices = append(out.Choices, octomesh.Choice{Index: c.Index, Message: msg, FinishReason: finish})
	}
	return out, nil
}

// noCandidates explains an answer without candidates: a blocked prompt, or
// a malformed response.
func noCandidates(providerID string, gr *generateResponse) error {
	if gr.PromptFeedback != nil && gr.PromptFeedback.BlockReason != "" {
		e := provider.Upstream(providerID, octomesh.ECONTENTFILTER, "the provider's content filter blocked the prompt", 200)
		return e.WithCause(fmt.Errorf("gemini promptFeedback.blockReason=%s", gr.PromptFeedback.BlockReason))
	}
	return provider.BadResponse(providerID, fmt.Errorf("gemini response has no candidates"))
}

// candidateParts collects a candidate's visible text and its function calls.
// Thought parts (reasoning summaries) are not answer text and are skipped;
// Gemini only sends them when asked (includeThoughts), which this adapter
// never does. Tool calls are numbered from firstCall, so streamed calls keep
// distinct indexes and ids across events.
func candidateParts(c *content, firstCall int) (string, []octomesh.ToolCall) {
	if c == nil {
		return "", nil
	}
	var text strings.Builder
	var calls []octomesh.ToolCall
	for _, p := range c.Parts {
		switch {
		case p.FunctionCall != nil:
			calls = append(calls, toolCall(p.FunctionCall, firstCall+len(calls)))
		case p.Thought:
		default:
			text.WriteString(p.Text)
		}
	}
	return text.String(), calls
}

// toolCall translates a function call. Gemini may send an id; when it does
// not, the id is synthesised from the call's position and name, so the same
// response always yields the same ids.
func toolCall(fc *functionCall, index int) octomesh.ToolCall {
	id := fc.ID
	if id == "" {
		id = fmt.Sprintf("call_%d_%s", index, fc.Name)
	}
	args := "{}"
	if len(fc.Args) > 0 && string(fc.Args) != "null" {
		var buf bytes.Buffer
		if json.Compact(&buf, fc.Args) == nil {
			args = buf.String()
		}
	}
	i := index
	return octomesh.ToolCall{
		Index:    &i,
		ID:       id,
		Type:     "function",
		Function: octomesh.FunctionCall{Name: fc.Name, Arguments: args},
	}
}

// finishReason maps Gemini's finishReason to OpenAI's. "" means the
// candidate has not finished (streams). Reasons that mean the model
// produced a broken function call are upstream errors: the answer is
// unusable, and another attempt may succeed.
func finishReason(providerID, reason string, hasCalls bool) (string, error) {
	switch reason {
	case "", "FINISH_REASON_UNSPECIFIED":
		return "", nil
	case "STOP":
		if hasCalls {
			return octomesh.FinishToolCalls, nil
		}
		return octomesh.FinishStop, nil
	case "MAX_TOKENS":
		return octomesh.FinishLength, nil
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
		"IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION":
		return octomesh.FinishContentFilter, nil
	case "MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS":
		e := provider.Upstream(providerID, octomesh.EUPSTREAM, "the model produced an invalid tool call", 200)
		return "", e.WithCause(fmt.Errorf("gemini finishReason=%s", reason))
	}
	// LANGUAGE, OTHER and reasons added later: the model stopped for a
	// reason OpenAI's vocabulary has no word for.
	if hasCalls {
		return octomesh.FinishToolCalls, nil
	}
	return octomesh.FinishStop, nil
}

// usage translates usageMetadata; nil when absent. Thinking tokens are
// billed as output, so they count as completion tokens and are reported as
// reasoning tokens, as OpenAI does. Prompt tokens include cached tokens
// (Gemini's convention matches OpenAI's) and any tool-use prompt tokens.
func usage(m *usageMetadata) *octomesh.Usage {
	if m == nil {
		return nil
	}
	u := &octomesh.Usage{
		PromptTokens:     m.PromptTokenCount + m.ToolUsePromptTokenCount,
		CompletionTokens: m.CandidatesTokenCount + m.ThoughtsTokenCount,
	}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	if m.CachedContentTokenCount > 0 {
		u.PromptTokensDetails = &octomesh.PromptTokensDetails{CachedTokens: m.CachedContentTokenCount}
	}
	if m.ThoughtsTokenCount > 0 {
		u.CompletionTokensDetails = &octomesh.CompletionTokensDetails{ReasoningTokens: m.ThoughtsTokenCount}
	}
	return u
}

// responseID is Gemini's responseId, or "gen-" and a hash of seed when
// Gemini sent none: deterministic, so the same answer gets the same id.
func responseID(id string, seed []byte) string {
	if id != "" {
		return id
	}
	h := fnv.New64a()
	h.Write(seed)
	return fmt.Sprintf("gen-%016x", h.Sum64())
}
