// Package openai is the provider adapter for OpenAI's Chat Completions and
// Embeddings APIs and for every server that speaks them: Azure OpenAI,
// Mistral, Groq, Together, DeepSeek, OpenRouter, vLLM, Ollama, llama.cpp and
// others. One Client type serves them all; what differs between vendors is
// configuration (Config.BaseURL, Config.Auth, Config.Headers,
// Config.APIVersion) and a small set of named quirks (Config.Quirks), not code.
//
// # Lifecycle
//
// New validates a Config and returns a Client that is safe for concurrent
// use and holds no goroutines or connections of its own (the *http.Client
// passed in, normally from provider.NewHTTPClient, owns the connection
// pool). Chat and Embed are single request/response calls. ChatStream
// returns a pull iterator; the caller must Close it, and cancelling the
// context passed to ChatStream aborts the upstream request.
//
// # Outbound requests
//
// The canonical octomesh.ChatRequest already has OpenAI's JSON shape, so the
// upstream body is the caller's request re-encoded, with the quirks applied
// to a copy (the caller's request is never modified). The HTTP request
// carries only the credential, Content-Type and the configured static
// headers: nothing from the inbound request (client address, cookies,
// request ids) reaches the upstream.
//
// Two fields are filtered on purpose:
//
//   - user is forwarded when set: OpenAI uses it for abuse monitoring, and it
//     is the caller's own choice to send an end-user identifier.
//   - metadata is forwarded only when store is true. OpenAI accepts metadata
//     only for stored completions and rejects it otherwise; and metadata
//     that will not be stored is of no use to the provider, which should
//     receive only what the task needs.
//
// Streaming requests always ask for usage (stream_options.include_usage),
// because the gateway meters every request, unless the no_stream_options
// quirk forbids it.
//
// # Responses
//
// Upstream responses are decoded into the canonical types. A 2xx body that
// is not a valid completion is an EUPSTREAM error; an upstream error is
// normalised by provider.Classify and its text is never shown to a client.
//
// Streams are normalised to the octomesh.ChatStream contract, so that
// servers that differ in small ways from OpenAI look the same to the
// gateway: for each choice the first delta carries the role (added when the
// server omits it, removed from later deltas when the server repeats it);
// deltas with nothing in them (Azure's prompt_filter_results chunks,
// keep-alive chunks) are skipped; usage is taken from whichever chunk
// carries it (the last one wins) and reported once, as a final chunk with no
// choices, when the stream's [DONE] arrives; a tool-call delta without an
// index gets its position in the delta's list. A stream that ends without
// [DONE], a chunk that is not valid JSON, and an error object inside the
// stream all end it with an error, never with a truncated answer reported as
// complete.
//
// # Hand-written JSON on the hot path
//
// Encoding the upstream request and decoding chunks and completions with
// encoding/json cost most of a relayed token's CPU, so the common shapes are
// written and read by hand (reqenc.go, chunkdec.go, respdec.go): a stream's
// chunks carve their choices and text out of shared blocks (arena.go), a
// fraction of an allocation per token, and the
// header every chunk of a stream repeats (id, model, fingerprint) is read
// once. Each hand path produces byte for byte (encoding) or value for value
// (decoding) what encoding/json would, and hands anything unusual back to
// encoding/json rather than guess; differential tests over the golden
// fixtures and fuzz tests against encoding/json keep it so.
//
// # Quirks
//
// Quirks adapt the request to servers that deviate from OpenAI:
//
//   - max_tokens_only: send the output cap as max_tokens and never
//     max_completion_tokens (servers that predate the newer name, e.g. older
//     vLLM and many self-hosted servers).
//   - no_stream_options: never send stream_options (servers that reject it).
//     Such servers may not report usage for streams; the stream then ends
//     without a usage chunk and the gateway must estimate.
//   - developer_as_system: send messages with role developer as role system
//     (servers that do not know the developer role).
//   - no_parallel_tool_calls: drop parallel_tool_calls (servers that reject
//     it).
//   - azure_deployment_path: Azure OpenAI's deployment routes: requests go to
//     BaseURL/openai/deployments/{model}/chat/completions (and /embeddings),
//     and the model is omitted from the body. Combine with Auth "api-key" and
//     APIVersion. (Azure's newer /openai/v1 API needs no quirk: set BaseURL to
//     https://RESOURCE.openai.azure.com/openai/v1.)
package openai
