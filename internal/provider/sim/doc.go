// Package sim is OctoMesh's built-in simulated model fleet: a Provider (and
// Embedder) that answers chat and embedding requests locally, with no network
// and no keys, while behaving like a set of real hosted models.
//
// It is what `octomesh serve` uses on a fresh machine, so routing, budgets,
// failover and the dashboard are visible without an API key, and it is the
// fault injector the resilience tests drive.
//
// # Lifecycle
//
// Build a Fleet with New (DefaultOptions for a realistic fleet, the zero
// Options for tests: no delays, no faults), register Fleet.Deployments in the
// catalogue, and call Chat, ChatStream and Embed with the bare upstream model
// name in req.Model. A Fleet holds no goroutines and nothing to close; it is
// safe for concurrent use. Streams own no goroutine and end when the caller
// stops pulling, cancels the context, or calls Close.
//
// # Determinism
//
// Every random choice a request needs (text, tool calls, latencies, fault
// decisions) is drawn from generators seeded by a SHA-256 of the fleet seed,
// the model and the request's content (messages, tools, tool_choice,
// parallel_tool_calls, response_format, temperature, top_p, penalties and the
// request's seed), never from shared mutable state, so the same request gives
// the same answer regardless of timing or concurrency. max_tokens, stop and
// n are deliberately left out of that hash: they only truncate or add to the
// same underlying generation, as they do for a real model at temperature 0,
// so choice 0 of an n=3 request equals the n=1 answer, and a capped answer is
// a prefix of the uncapped one. Streaming and non-streaming calls of the same
// request produce the same content.
//
// One exception is opt-in: with Options.VaryRetries, each repeat of the same
// request on the same model rolls its faults (and latencies) afresh from an
// attempt counter, so that retrying a transient failure can succeed, as with a
// real upstream. Fault decisions, latencies and completion ids then depend
// on call order; text, tool calls and usage never do.
//
// # Simulated tokens and usage
//
// Output text is split into simulated tokens (a word with its leading space,
// one punctuation character, or a run of other whitespace); completion tokens
// count those. Prompt tokens are estimated by EstimatePromptTokens: about one
// token per four characters plus a fixed per-message overhead. Cached tokens
// are always 0.
//
// # Faults
//
// Each model has per-request fault rates (FaultRates), multiplied by
// Options.FailureScale. Tests can also force a fault with request metadata
// "sim_fault" when Options.AllowFaultHints is set; see FaultHintKey for the
// syntax and Fault for the kinds. Faults surface as the *octomesh.Error codes a
// real adapter would produce (EUPSTREAM, ERATELIMITED with RetryAfter,
// EOVERLOADED, ECONTEXTLENGTH, ECONTENTFILTER), or, for timeouts and stalls,
// as an upstream that stops answering until the caller's context ends.
//
// Content is never logged, and error messages never contain prompt text.
package sim
