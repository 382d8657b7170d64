package sim

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/octomesh/octomesh"
)

// Task categories that Model.Quality is keyed by and TaskOf returns.
const (
	TaskCode       = "code"
	TaskMath       = "math"
	TaskReasoning  = "reasoning"
	TaskExtraction = "extraction"
	TaskChat       = "chat"
)

// Model describes one simulated model: what the catalogue reports about it
// (limits, capabilities, prices) and how it behaves (latency, faults,
// quality).
type Model struct {
	Name            string // upstream model name, e.g. "gpt-4o-mini"
	OwnedBy         string // the vendor /v1/models reports, e.g. "openai"
	Created         time.Time
	ContextWindow   int // prompt + output tokens
	MaxOutputTokens int // largest max_tokens accepted (chat models)
	Caps            octomesh.Capabilities
	Price           octomesh.Price

	// TTFT is the median time to first token; TokensPerSec the median output
	// speed. Each request draws both from a log-normal around the median, and
	// with probability TailProb it is a slow outlier (3-10x the TTFT).
	TTFT         time.Duration
	TokensPerSec float64
	TailProb     float64

	// Rates are per-request fault probabilities, scaled by Options.FailureScale.
	Rates FaultRates

	// Quality maps a task category (TaskCode, TaskMath, TaskReasoning,
	// TaskExtraction, TaskChat) to the probability that the model answers a
	// typical prompt of that category well. Missing categories count as 0.5.
	Quality map[string]float64

	// Dimensions is the embedding size of an embedding model (Caps.Embeddings).
	Dimensions int
}

// FaultRates are a model's per-request failure probabilities. Their sum,
// after scaling, is capped at 1.
type FaultRates struct {
	Error5xx   float64 // the upstream answers HTTP 500: EUPSTREAM
	RateLimit  float64 // HTTP 429: ERATELIMITED with a RetryAfter
	Overloaded float64 // HTTP 529/503: EOVERLOADED
	Timeout    float64 // the upstream never answers: blocks until ctx ends
	StreamCut  float64 // the connection drops mid-answer: EUPSTREAM after some chunks
}

// chat reports whether m serves chat completions (every model that is not an
// embedding model).
func (m *Model) chat() bool { return !m.Caps.Embeddings }

// validate checks m's fields, naming the offending one in the error.
func (m *Model) validate(field string) error {
	bad := func(f, format string, args ...any) error {
		return fmt.Errorf("%s.%s: %s", field, f, fmt.Sprintf(format, args...))
	}
	if m.Name == "" || strings.ContainsAny(m.Name, "/ \t\n") {
		return bad("name", "must be non-empty and contain no '/' or spaces")
	}
	if m.ContextWindow <= 0 {
		return bad("context_window", "must be positive")
	}
	if m.Caps.Embeddings {
		if m.Dimensions <= 0 {
			return bad("dimensions", "must be positive for an embedding model")
		}
	} else {
		if m.MaxOutputTokens <= 0 || m.MaxOutputTokens > m.ContextWindow {
			return bad("max_output_tokens", "must be positive and at most the context window")
		}
		if m.TokensPerSec <= 0 {
			return bad("tokens_per_sec", "must be positive")
		}
	}
	if m.TTFT < 0 {
		return bad("ttft", "must not be negative")
	}
	if m.Price.InputPerMTok < 0 || m.Price.OutputPerMTok < 0 || m.Price.CachedInputPerMTok < 0 || m.Price.PerRequest < 0 {
		return bad("price", "must not be negative")
	}
	for _, p := range []struct {
		name string
		p    float64
	}{
		{"tail_prob", m.TailProb}, {"rates.error_5xx", m.Rates.Error5xx}, {"rates.rate_limit", m.Rates.RateLimit},
		{"rates.overloaded", m.Rates.Overloaded}, {"rates.timeout", m.Rates.Timeout}, {"rates.stream_cut", m.Rates.StreamCut},
	} {
		if !(p.p >= 0 && p.p <= 1) {
			return bad(p.name, "must be a probability in [0, 1]")
		}
	}
	for _, task := range slices.Sorted(maps.Keys(m.Quality)) {
		if q := m.Quality[task]; !(q >= 0 && q <= 1) {
			return bad("quality."+task, "must be a probability in [0, 1]")
		}
	}
	return nil
}

// clone returns a copy of m that shares no maps with it.
func (m Model) clone() Model {
	m.Quality = maps.Clone(m.Quality)
	return m
}
