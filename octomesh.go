// Package octomesh is the domain vocabulary of the OctoMesh AI task router.
//
// It holds the canonical request and response types every inbound API format
// is decoded into and every provider adapter speaks (ChatRequest, ChatResponse,
// Chunk, EmbeddingRequest …), the Provider interface and its optional
// extensions, the catalogue types (Deployment, Price, Money), tenancy types
// (APIKey, Secret) and the one error type (Error) with its codes.
//
// The canonical chat types follow OpenAI's Chat Completions wire format field
// for field (same JSON names), because that format is the lingua franca of the
// ecosystem: decoding an OpenAI request is then a plain unmarshal, and other
// formats (Anthropic Messages, Gemini generateContent) translate to and from it.
//
// This package imports only the standard library. Everything that wraps a
// dependency lives under internal/ and speaks in these types.
package octomesh

import "time"

// Version is the OctoMesh release, reported by `octomesh version` and /healthz.
const Version = "0.1.0-dev"

// Clock returns the current time. It is injected wherever time matters
// (budgets, limits, retention, circuit breakers) so tests are deterministic.
type Clock func() time.Time
