package octomesh

import (
	"context"
	"time"
)

// Served tells the caller how a request was served: which deployment and
// provider answered, and what it cost. The HTTP layer turns it into
// x-octomesh-* response headers.
type Served struct {
	RequestID string
	Model     string // the deployment's public name
	Provider  string // the provider instance ID
	Attempts  int    // upstream attempts made, including the successful one
	Cost      Money  // known once the response is complete
	// Route is the compact route taken, e.g. "sim/gpt-4o:rate_limited>sim/claude-3-haiku:ok",
	// sent as the x-octomesh-route header.
	Route string
	// Requests and Tokens are the caller's tightest per-minute rate limits
	// after this request was admitted (nil: no limit applies), sent as the
	// x-ratelimit-* headers, on refusals too.
	Requests, Tokens *RateLimitState
}

// RateLimitState is one rate limit as the x-ratelimit-* headers show it.
type RateLimitState struct {
	Limit     int64         // per minute
	Remaining int64         // that could be used right now
	Reset     time.Duration // until the limit is fully replenished
}

// ChatService is the gateway as the transport layer sees it: it validates,
// routes, invokes, meters and records. Implementations are safe for
// concurrent use; errors are *Error.
type ChatService interface {
	// Chat serves a non-streaming chat request.
	Chat(ctx context.Context, req *ChatRequest) (*ChatResponse, *Served, error)
	// ChatStream opens a streaming chat request. Served is filled in with the
	// deployment before the first chunk and with the cost once the stream has
	// ended; the caller must Close the stream.
	ChatStream(ctx context.Context, req *ChatRequest) (ChatStream, *Served, error)
	// Embed serves an embeddings request.
	Embed(ctx context.Context, req *EmbeddingRequest) (*EmbeddingResponse, *Served, error)
	// Models lists the deployments the caller may use.
	Models(ctx context.Context) []*Deployment
	// Model returns one deployment by name or alias, or ENOTFOUND.
	Model(ctx context.Context, name string) (*Deployment, error)
	// Decision returns the routing decision of one of the caller's org's
	// requests, or ENOTFOUND.
	Decision(ctx context.Context, requestID string) (*Decision, error)
	// Explain returns the decision the router would make for req without
	// sending it.
	Explain(ctx context.Context, req *ChatRequest) (*Decision, error)
}

// StreamPreparer is a ChatService whose ChatStream comes in two halves.
// PrepareStream does what needs no upstream (validation, admission,
// routing, the budget's reservation) and fails as ChatStream would; the
// prepared stream's Start opens the upstream and waits for its first
// content. A server can so run the wait where it is cheap: h1server runs
// httpapi's relays, and with them Start, after the handler returned, on
// a goroutine whose stack the handler's deep frames never grew.
type StreamPreparer interface {
	PrepareStream(ctx context.Context, req *ChatRequest) (PreparedStream, *Served, error)
}

// PreparedStream is a stream ready to open. Exactly one of Start and
// Abandon must be called. Start returns the stream (to be closed) or
// ChatStream's error; Served is completed as ChatStream completes it.
// Abandon releases what PrepareStream reserved.
type PreparedStream interface {
	Start() (ChatStream, error)
	Abandon()
}

// Authenticator resolves a raw API key to the principal it belongs to.
// Implementations answer from memory and compare in constant time.
type Authenticator interface {
	// Authenticate returns EUNAUTHORIZED for unknown, revoked or expired keys.
	// The principal it returns may be shared by every request made with the
	// same key (apikey.Cache hands out one cached copy, so that a lookup
	// allocates nothing): callers must not modify it, nor the slices it
	// holds.
	Authenticate(ctx context.Context, rawKey string) (*Principal, error)
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom returns the request id in ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	switch v := ctx.Value(requestIDKey{}).(type) {
	case string:
		return v
	case *RequestScope:
		return v.ID
	}
	return ""
}

type forwardKey struct{}

// WithForwardHeaders returns ctx carrying inbound headers that the operator
// allowed to be forwarded upstream (config server.allowed_forward_headers).
// Each entry is a canonical header name and its value.
func WithForwardHeaders(ctx context.Context, h [][2]string) context.Context {
	if len(h) == 0 {
		return ctx
	}
	return context.WithValue(ctx, forwardKey{}, h)
}

// ForwardHeadersFrom returns the headers to forward upstream, or nil.
func ForwardHeadersFrom(ctx context.Context) [][2]string {
	switch v := ctx.Value(forwardKey{}).(type) {
	case [][2]string:
		return v
	case *RequestScope:
		return v.Forward
	}
	return nil
}

type ledgerIDKey struct{}

// WithLedgerRequestID returns ctx carrying the id the request's ledger
// entries are written under. It differs from the request id when the
// client chose that one: a client-chosen id may repeat, and the ledger's
// idempotency on (request id, attempt) must never merge two requests.
func WithLedgerRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ledgerIDKey{}, id)
}

// LedgerRequestIDFrom returns the ledger request id in ctx, or the request
// id when none was set.
func LedgerRequestIDFrom(ctx context.Context) string {
	switch v := ctx.Value(ledgerIDKey{}).(type) {
	case string:
		return v
	case *RequestScope:
		return v.LedgerID
	}
	return RequestIDFrom(ctx)
}
