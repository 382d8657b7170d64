package octomesh

import "context"

// Provider is an upstream that serves chat completions: an adapter for a
// provider's wire format (OpenAI-compatible, Anthropic, Gemini) or the built-in
// simulated fleet.
//
// The request's Model is the upstream model name (the gateway rewrites it from
// the public deployment name before calling). Implementations must not modify
// the request; they return errors as *Error with a normalised code (ERATELIMITED,
// ECONTEXTLENGTH, ECONTENTFILTER, EUPSTREAMAUTH, EOVERLOADED, ETIMEOUT,
// EUPSTREAM, EINVALID) and a message safe to show a client. Implementations are
// safe for concurrent use.
type Provider interface {
	// ID is the provider instance's configured name, e.g. "openai" or "sim".
	ID() string
	// Chat sends a non-streaming request and returns the whole response.
	Chat(ctx context.Context, req *ChatRequest) (*ChatResponse, error)
	// ChatStream sends a streaming request. The returned stream must be closed
	// by the caller; cancelling ctx aborts the upstream connection.
	ChatStream(ctx context.Context, req *ChatRequest) (ChatStream, error)
}

// ChatStream is a pull iterator over a streamed completion.
//
// Adapters always ask their upstream for usage (the gateway meters every
// request), and report it as a final chunk with no choices and Usage set,
// after the chunk carrying finish_reason. Whether the client sees that chunk
// is the inbound API's decision (stream_options.include_usage).
// Chunks carry canonical content only: a role chunk first (Delta.Role set),
// then content / tool-call deltas (tool calls keyed by Index, the first
// fragment of each call carrying ID, Type and Function.Name), then a chunk with
// FinishReason. It is not safe for
// concurrent use; one goroutine drives it. A stream owns no goroutine that
// outlives Close.
//
//	for s.Next() {
//		use(s.Chunk())
//	}
//	if err := s.Err(); err != nil { ... }
//	s.Close()
type ChatStream interface {
	// Next advances to the next chunk. It returns false at the end of the
	// stream or on error.
	Next() bool
	// Chunk returns the current chunk. It is valid until the next call to Next;
	// callers that keep it must copy it.
	Chunk() *Chunk
	// Err returns the error that ended the stream, or nil if it ended cleanly.
	// A stream that ends without the provider's terminating event (e.g. OpenAI's
	// [DONE], Anthropic's message_stop) ends with an EUPSTREAM error: a truncated
	// answer is never reported as complete.
	Err() error
	// Close releases the stream's resources and aborts the upstream request if
	// it is still running. It is safe to call more than once.
	Close() error
}

// BufferedStream is the optional interface of streams that can tell how many
// bytes of the upstream response have arrived but not yet been parsed. A
// relay flushes to its client only when nothing more is already waiting, so
// a burst of chunks goes out in one write while a slow stream still flushes
// every chunk at once.
type BufferedStream interface {
	Buffered() int
}

// DataWaiter is the optional interface of streams that can wait for the
// upstream's next bytes without reading them. WaitData returns once the
// next Next may not have to wait: bytes arrived, the stream ended or
// failed, or it was closed. Like Next, it may invalidate the current
// chunk. A relay calls it from a shallow frame (see h1server's
// Continuation): a goroutine waiting under few frames lets the runtime
// shrink its stack, and a stream spends its life waiting.
type DataWaiter interface {
	WaitData()
}

// Embedder is the optional interface of providers that compute embeddings.
type Embedder interface {
	Embed(ctx context.Context, req *EmbeddingRequest) (*EmbeddingResponse, error)
}
