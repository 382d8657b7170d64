package sim

import (
	"time"

	"github.com/octomesh/octomesh"
)

// DefaultModels returns the built-in fleet: a dozen chat models and one
// embedding model with their real names, list prices (USD per million
// tokens, as published by their vendors or, for open models, a typical
// hosting provider), context windows and capabilities, plus simulated
// latency, fault and quality profiles.
//
// Quality profiles are loosely calibrated on the routing outcome data the
// project ships (RouterBench, RouteLLM, MMLU-Pro, LLMRouter: e.g. GPT-4-1106
// solving ~69% of MBPP and ~87% of GSM8K) and estimated where a model is not
// covered. Each call returns fresh values the caller may modify.
func DefaultModels() []Model {
	caps := func(tools, schema, vision bool) octomesh.Capabilities {
		return octomesh.Capabilities{Tools: tools, JSONSchema: schema, Vision: vision, Streaming: true}
	}
	q := func(code, math, reasoning, chat, extraction float64) map[string]float64 {
		return map[string]float64{TaskCode: code, TaskMath: math, TaskReasoning: reasoning, TaskChat: chat, TaskExtraction: extraction}
	}
	ms := time.Millisecond
	return []Model{{
		Name: "gpt-4o", OwnedBy: "openai", Created: day(2024, 5, 13),
		ContextWindow: 128_000, MaxOutputTokens: 16_384, Caps: caps(true, true, true),
		Price: price("2.50", "10.00", "1.25"),
		TTFT:  450 * ms, TokensPerSec: 80, TailProb: 0.03,
		Rates:   FaultRates{Error5xx: 0.004, RateLimit: 0.010, Overloaded: 0.002, Timeout: 0.001, StreamCut: 0.002},
		Quality: q(0.75, 0.88, 0.89, 0.93, 0.92),
	}, {
		Name: "gpt-4o-mini", OwnedBy: "openai", Created: day(2024, 7, 18),
		ContextWindow: 128_000, MaxOutputTokens: 16_384, Caps: caps(true, true, true),
		Price: price("0.15", "0.60", "0.075"),
		TTFT:  350 * ms, TokensPerSec: 110, TailProb: 0.03,
		Rates:   FaultRates{Error5xx: 0.003, RateLimit: 0.008, Overloaded: 0.002, Timeout: 0.001, StreamCut: 0.002},
		Quality: q(0.66, 0.80, 0.80, 0.89, 0.88),
	}, {
		Name: "gpt-4-1106-preview", OwnedBy: "openai", Created: day(2023, 11, 6),
		ContextWindow: 128_000, MaxOutputTokens: 4_096, Caps: caps(true, false, false),
		Price: price("10.00", "30.00", ""),
		TTFT:  650 * ms, TokensPerSec: 30, TailProb: 0.05,
		Rates:   FaultRates{Error5xx: 0.006, RateLimit: 0.015, Overloaded: 0.004, Timeout: 0.002, StreamCut: 0.003},
		Quality: q(0.69, 0.87, 0.87, 0.92, 0.90),
	}, {
		Name: "gpt-3.5-turbo-1106", OwnedBy: "openai", Created: day(2023, 11, 6),
		ContextWindow: 16_385, MaxOutputTokens: 4_096, Caps: caps(true, false, false),
		Price: price("1.00", "2.00", ""),
		TTFT:  300 * ms, TokensPerSec: 90, TailProb: 0.03,
		Rates:   FaultRates{Error5xx: 0.004, RateLimit: 0.010, Overloaded: 0.002, Timeout: 0.001, StreamCut: 0.002},
		Quality: q(0.64, 0.57, 0.73, 0.82, 0.78),
	}, {
		Name: "claude-3-5-sonnet", OwnedBy: "anthropic", Created: day(2024, 10, 22),
		ContextWindow: 200_000, MaxOutputTokens: 8_192, Caps: caps(true, false, true),
		Price: price("3.00", "15.00", "0.30"),
		TTFT:  700 * ms, TokensPerSec: 70, TailProb: 0.04,
		Rates:   FaultRates{Error5xx: 0.004, RateLimit: 0.010, Overloaded: 0.015, Timeout: 0.001, StreamCut: 0.003},
		Quality: q(0.78, 0.84, 0.89, 0.93, 0.92),
	}, {
		Name: "claude-3-haiku", OwnedBy: "anthropic", Created: day(2024, 3, 7),
		ContextWindow: 200_000, MaxOutputTokens: 4_096, Caps: caps(true, false, true),
		Price: price("0.25", "1.25", "0.03"),
		TTFT:  400 * ms, TokensPerSec: 140, TailProb: 0.03,
		Rates:   FaultRates{Error5xx: 0.003, RateLimit: 0.008, Overloaded: 0.010, Timeout: 0.001, StreamCut: 0.002},
		Quality: q(0.60, 0.70, 0.74, 0.85, 0.84),
	}, {
		Name: "gemini-1.5-pro-002", OwnedBy: "google", Created: day(2024, 9, 24),
		ContextWindow: 2_097_152, MaxOutputTokens: 8_192, Caps: caps(true, true, true),
		Price: price("1.25", "5.00", "0.3125"),
		TTFT:  800 * ms, TokensPerSec: 60, TailProb: 0.05,
		Rates:   FaultRates{Error5xx: 0.006, RateLimit: 0.020, Overloaded: 0.004, Timeout: 0.002, StreamCut: 0.003},
		Quality: q(0.70, 0.85, 0.85, 0.89, 0.88),
	}, {
		Name: "gemini-1.5-flash-002", OwnedBy: "google", Created: day(2024, 9, 24),
		ContextWindow: 1_048_576, MaxOutputTokens: 8_192, Caps: caps(true, true, true),
		Price: price("0.075", "0.30", "0.01875"),
		TTFT:  300 * ms, TokensPerSec: 190, TailProb: 0.03,
		Rates:   FaultRates{Error5xx: 0.004, RateLimit: 0.015, Overloaded: 0.003, Timeout: 0.001, StreamCut: 0.002},
		Quality: q(0.63, 0.78, 0.80, 0.86, 0.85),
	}, {
		Name: "llama-3.1-70b-instruct", OwnedBy: "meta", Created: day(2024, 7, 23),
		ContextWindow: 131_072, MaxOutputTokens: 4_096, Caps: caps(true, false, false),
		Price: price("0.88", "0.88", ""),
		TTFT:  450 * ms, TokensPerSec: 60, TailProb: 0.05,
		Rates:   FaultRates{Error5xx: 0.008, RateLimit: 0.010, Overloaded: 0.005, Timeout: 0.003, StreamCut: 0.004},
		Quality: q(0.64, 0.80, 0.82, 0.87, 0.84),
	}, {
		Name: "llama-3.1-8b-instruct", OwnedBy: "meta", Created: day(2024, 7, 23),
		ContextWindow: 131_072, MaxOutputTokens: 4_096, Caps: caps(true, false, false),
		Price: price("0.18", "0.18", ""),
		TTFT:  200 * ms, TokensPerSec: 180, TailProb: 0.03,
		Rates:   FaultRates{Error5xx: 0.006, RateLimit: 0.008, Overloaded: 0.004, Timeout: 0.002, StreamCut: 0.003},
		Quality: q(0.45, 0.58, 0.62, 0.78, 0.70),
	}, {
		Name: "mixtral-8x7b-instruct", OwnedBy: "mistralai", Created: day(2023, 12, 11),
		ContextWindow: 32_768, MaxOutputTokens: 4_096, Caps: caps(false, false, false),
		Price: price("0.60", "0.60", ""),
		TTFT:  300 * ms, TokensPerSec: 100, TailProb: 0.04,
		Rates:   FaultRates{Error5xx: 0.008, RateLimit: 0.012, Overloaded: 0.005, Timeout: 0.003, StreamCut: 0.004},
		Quality: q(0.54, 0.65, 0.72, 0.80, 0.72),
	}, {
		Name: "mistral-7b-instruct", OwnedBy: "mistralai", Created: day(2023, 9, 27),
		ContextWindow: 32_768, MaxOutputTokens: 4_096, Caps: caps(false, false, false),
		Price: price("0.25", "0.25", ""),
		TTFT:  200 * ms, TokensPerSec: 140, TailProb: 0.03,
		Rates:   FaultRates{Error5xx: 0.006, RateLimit: 0.010, Overloaded: 0.004, Timeout: 0.002, StreamCut: 0.003},
		Quality: q(0.33, 0.40, 0.60, 0.74, 0.60),
	}, {
		Name: "text-embedding-3-small", OwnedBy: "openai", Created: day(2024, 1, 25),
		ContextWindow: 8_191, Caps: octomesh.Capabilities{Embeddings: true},
		Price: price("0.02", "0", ""),
		TTFT:  120 * ms, TailProb: 0.02,
		Rates:      FaultRates{Error5xx: 0.002, RateLimit: 0.005, Overloaded: 0.001, Timeout: 0.0005},
		Dimensions: 1536,
	}}
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// price builds a price list from decimal dollars per million tokens; an
// empty cached price means "no cached rate".
func price(in, out, cached string) octomesh.Price {
	return octomesh.Price{InputPerMTok: usd(in), OutputPerMTok: usd(out), CachedInputPerMTok: usd(cached)}
}

// usd parses a literal dollar amount; it panics on a malformed literal,
// which is a programming error caught by the tests.
func usd(s string) octomesh.Money {
	if s == "" {
		return 0
	}
	m, err := octomesh.ParseMoney(s)
	if err != nil {
		panic("sim: bad price literal: " + err.Error())
	}
	return m
}
