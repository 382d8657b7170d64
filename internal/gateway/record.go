package gateway

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/logbuf"
	"github.com/octomesh/octomesh/internal/telemetry"
)

// metered is usage plus whether it was estimated rather than reported.
type metered struct {
	octomesh.Usage
	Estimated bool
}

// outcome is the metadata recorded for one request: never content.
type outcome struct {
	route    string
	stream   bool
	d        *octomesh.Deployment
	start    time.Time
	ttft     time.Duration
	usage    metered
	cost     octomesh.Money
	err      error
	decision *octomesh.Decision // kept for the owning org, when routing made one
	// rejected: refused before any upstream attempt. Its error's message
	// echoes the client's request (a model name, a field), so only its
	// code is logged.
	rejected bool
}

// Log attribute keys.
const (
	attrRequestID = "request_id"
	attrRoute     = "route"
	attrModel     = "model"
	attrProvider  = "provider"
	attrStatus    = "status"
	attrCode      = "code"
	attrLatency   = "latency_ms"
	attrTTFT      = "ttft_ms"
	attrPrompt    = "prompt_tokens"
	attrOutput    = "completion_tokens"
	attrEstimated = "usage_estimated"
	attrCost      = "cost_usd"
	attrCause     = "cause"
)

func (s *Service) finish(ctx context.Context, o outcome) {
	if sc := octomesh.ScopeFrom(ctx); sc != nil {
		sc.Recorded.Store(true) // the API layer must not count it again
	}
	latency := s.now().Sub(o.start)
	if o.decision != nil {
		o.decision.Outcome = outcomeOf(o.err)
		if errors.Is(o.err, context.Canceled) {
			o.decision.Outcome = "cancelled"
		}
		s.decisions.put(o.decision)
	}
	status := statusOf(o.err)
	code := ""
	if o.err != nil {
		code = string(octomesh.ErrorCodeOf(o.err))
		if errors.Is(o.err, context.Canceled) {
			code = "client_cancelled"
		}
	}
	if s.metrics != nil {
		s.observe(&o, status, code, latency)
	}
	s.logRequest(ctx, &o, status, code, latency)
}

// observe and logRequest are finish's halves, each with its own frame:
// together in finish, the log's attributes and the metric's observation
// made it 1.3 KB, under the decision store's and the log's calls at the
// end of every stream (see h1server's continuation).
//
//go:noinline
func (s *Service) observe(o *outcome, status int, code string, latency time.Duration) {
	s.metrics.ObserveRequest(telemetry.RequestObservation{
		Route: o.route, Model: o.d.Name, Provider: o.d.Provider, Status: status, Stream: o.stream,
		Latency: latency, TTFT: o.ttft,
		PromptTokens: o.usage.PromptTokens, CompletionTokens: o.usage.CompletionTokens,
		Cost: o.cost, UpstreamErrorCode: code,
	})
	// Count only failures that came from a provider, not OctoMesh's own
	// rejections (they are in the requests series with their code).
	if o.err != nil { // As moves e to the heap: only for failures
		var e *octomesh.Error
		if errors.As(o.err, &e) && e.Provider != "" {
			s.metrics.ObserveUpstreamError(o.d.Provider, o.d.Name, code)
		}
	}
}

//go:noinline
func (s *Service) logRequest(ctx context.Context, o *outcome, status int, code string, latency time.Duration) {
	// Room for every attribute: appending the optional ones to a slice
	// of the nine made it grow on the heap. They are set one by one: an
	// append of the nine built them in a temporary array first, 360 more
	// bytes of this frame.
	var buf [13]slog.Attr
	buf[0] = slog.String(attrRequestID, octomesh.RequestIDFrom(ctx))
	buf[1] = slog.String(attrRoute, o.route)
	buf[2] = slog.String(attrModel, o.d.Name)
	buf[3] = slog.String(attrProvider, o.d.Provider)
	buf[4] = slog.Int(attrStatus, status)
	buf[5] = slog.Int64(attrLatency, latency.Milliseconds())
	buf[6] = slog.Int(attrPrompt, o.usage.PromptTokens)
	buf[7] = slog.Int(attrOutput, o.usage.CompletionTokens)
	buf[8] = slog.String(attrCost, o.cost.String())
	attrs := buf[:9]
	if o.stream {
		attrs = append(attrs, slog.Int64(attrTTFT, o.ttft.Milliseconds()))
	}
	if o.usage.Estimated {
		attrs = append(attrs, slog.Bool(attrEstimated, true))
	}
	level := slog.LevelInfo
	if o.err != nil {
		// The cause is our own error text: adapters never put upstream bodies or
		// content into it, only status codes and identifiers.
		attrs = append(attrs, slog.String(attrCode, code))
		if !o.rejected {
			attrs = append(attrs, slog.String(attrCause, o.err.Error()))
		}
		level = slog.LevelWarn
	}
	// logbuf's LogAttrs queues the line without building a slog.Record
	// when s.log is the server's batched logger.
	logbuf.LogAttrs(ctx, s.log, level, "request", attrs...)
}

// rejected records a chat request refused before any upstream attempt
// (invalid, rate-limited, over budget, no eligible model), in the requests
// metric with its status and code and in the log, as finish records the
// others. The model and provider stay empty: the requested name is the
// client's string, and a metric label per arbitrary string would let
// clients grow /metrics without bound.
func (s *Service) rejected(ctx context.Context, stream bool, start time.Time, err error) {
	s.finish(ctx, outcome{route: "chat", stream: stream, d: &noDeployment, start: start, err: err, rejected: true})
}

// Refused records a request the API layer answered with err before it
// reached the service (no or a bad key, an unknown route or method, a body
// too large or malformed), as rejected does: route is "chat",
// "embeddings" or, for any other path, "other". The message is not
// logged: it may echo the request (a path, a field).
func (s *Service) Refused(ctx context.Context, route string, start time.Time, err error) {
	s.finish(ctx, outcome{route: route, d: &noDeployment, start: start, err: err, rejected: true})
}

// noDeployment stands for "no deployment chosen" in a rejection's record.
var noDeployment octomesh.Deployment

// statusOf is the HTTP status recorded for an outcome: the transport's, from
// the one table (octomesh.HTTPStatus).
func statusOf(err error) int {
	if err == nil {
		return 200
	}
	return octomesh.HTTPStatus(err)
}

// usageOrEstimate returns the provider's usage, or an estimate when it
// reported none.
func usageOrEstimate(u *octomesh.Usage, req *octomesh.ChatRequest, outText int) metered {
	if u != nil && (u.PromptTokens > 0 || u.CompletionTokens > 0) {
		v := *u
		if v.TotalTokens == 0 {
			v.TotalTokens = v.PromptTokens + v.CompletionTokens
		}
		return metered{Usage: v}
	}
	return estimate(req, outText)
}

// estimate counts tokens as about four bytes each.
func estimate(req *octomesh.ChatRequest, outBytes int) metered {
	return estimateFrom(req.EstimateTokens(), outBytes)
}

// estimateFrom is estimate for a request of in estimated prompt tokens.
func estimateFrom(in, outBytes int) metered {
	out := (outBytes + 3) / 4
	return metered{Usage: octomesh.Usage{PromptTokens: in, CompletionTokens: out, TotalTokens: in + out}, Estimated: true}
}

// responseText returns the byte length of a response's generated content.
func responseText(r *octomesh.ChatResponse) int {
	n := 0
	for _, c := range r.Choices {
		n += len(c.Message.Content.Text()) + len(c.Message.Refusal)
		for _, tc := range c.Message.ToolCalls {
			n += len(tc.Function.Arguments)
		}
	}
	return n
}
