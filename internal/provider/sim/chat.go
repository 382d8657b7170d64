package sim

import (
	"context"
	"time"

	"github.com/octomesh/octomesh"
)

// call is one prepared chat call: the validated request, its fault, its
// timing and its generated choices.
type call struct {
	req     *octomesh.ChatRequest
	m       *Model
	c       *checked
	k       key
	attempt uint64
	fault   Fault
	timing  timing
	answers []answer
	id      string
	created int64
	fp      string
}

// prepare validates req, decides the call's fault and, unless the fault
// is an immediate error, generates the answer.
func (f *Fleet) prepare(req *octomesh.ChatRequest, stream bool) (*call, error) {
	m, err := f.model(req.Model)
	if err != nil {
		return nil, err
	}
	c, err := f.check(req, m, stream)
	if err != nil {
		return nil, err
	}
	k, err := f.chatKey(req)
	if err != nil {
		return nil, err
	}
	cl := &call{req: req, m: m, c: c, k: k, attempt: f.attempt(k)}
	if cl.fault, err = f.decideFault(m, k, cl.attempt, req.Metadata); err != nil {
		return nil, err
	}
	if err := f.faultError(cl.fault, k.rng("retry-after", cl.attempt)); err != nil {
		return nil, err
	}
	if cl.answers, err = f.generate(req, m, c, k); err != nil {
		return nil, err
	}
	cl.timing = f.timing(m, k, cl.attempt, c.prompt)
	cl.id = "chatcmpl-sim-" + randomHex(k.rng("id", cl.attempt), 12)
	cl.created = f.now().Unix()
	cl.fp = "fp_sim_" + f.keyOf("fingerprint", []byte(m.Name)).hex(4)
	return cl, nil
}

// Chat answers req without streaming. It waits the simulated latency (TTFT
// plus generation time for the longest choice), honouring ctx. Errors are
// *octomesh.Error: EINVALID and ECONTEXTLENGTH for requests the model cannot
// serve (missing capabilities, logprobs or audio, which the fleet cannot
// simulate), EUPSTREAM when req.Model is not in the fleet, and the codes of
// injected faults; a cancelled ctx returns its error, a deadline ETIMEOUT.
// req is not modified. Chat is safe for concurrent use.
func (f *Fleet) Chat(ctx context.Context, req *octomesh.ChatRequest) (*octomesh.ChatResponse, error) {
	cl, err := f.prepare(req, false)
	if err != nil {
		return nil, err
	}
	switch cl.fault {
	case FaultTimeout, FaultStall:
		return nil, f.hang(ctx)
	case FaultCut, FaultMalformed:
		if err := f.sleep(ctx, cl.timing.ttft); err != nil {
			return nil, err
		}
		return nil, f.lateError(cl.fault)
	}
	longest := 0
	for _, a := range cl.answers {
		longest = max(longest, a.tokens)
	}
	if err := f.sleep(ctx, cl.timing.ttft+time.Duration(longest)*cl.timing.perToken); err != nil {
		return nil, err
	}
	return cl.response(), nil
}

// response assembles the non-streaming response.
func (cl *call) response() *octomesh.ChatResponse {
	resp := &octomesh.ChatResponse{
		ID: cl.id, Object: octomesh.ObjectChatCompletion, Created: cl.created, Model: cl.req.Model,
		Choices: make([]octomesh.Choice, len(cl.answers)), Usage: cl.usage(), SystemFingerprint: cl.fp,
	}
	for i, a := range cl.answers {
		msg := octomesh.Message{Role: octomesh.RoleAssistant, ToolCalls: a.toolCalls}
		if a.text != "" || len(a.toolCalls) == 0 {
			msg.Content = octomesh.TextContent(a.text)
		}
		resp.Choices[i] = octomesh.Choice{Index: i, Message: msg, FinishReason: a.finish}
	}
	return resp
}

// usage reports the call's token counts (cached and reasoning tokens are 0).
func (cl *call) usage() *octomesh.Usage {
	completion := 0
	for _, a := range cl.answers {
		completion += a.tokens
	}
	return &octomesh.Usage{
		PromptTokens: cl.c.prompt, CompletionTokens: completion, TotalTokens: cl.c.prompt + completion,
		PromptTokensDetails:     &octomesh.PromptTokensDetails{},
		CompletionTokensDetails: &octomesh.CompletionTokensDetails{},
	}
}
