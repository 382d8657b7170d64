// Package anthropicwire is the Anthropic Messages API wire format
// (POST /v1/messages, API version 2023-06-01) and its translation to and from
// OctoMesh's canonical chat types, in all four directions, so the outbound
// adapter (internal/provider/anthropic) and the inbound /v1/messages endpoint
// share one codec:
//
//	outbound request   EncodeRequest   canonical ChatRequest → Request
//	outbound response  DecodeResponse  Anthropic message body → canonical ChatResponse
//	                   StreamDecoder   Anthropic stream events → canonical Chunks
//	inbound request    DecodeRequest   Anthropic request body → canonical ChatRequest (strict)
//	inbound response   EncodeResponse  canonical ChatResponse → Anthropic message body
//	                   StreamWriter    canonical Chunks → Anthropic SSE events
//	errors             ErrorBody, ErrorType, ErrorTypeStatus
//
// The package is a pure codec: it imports only the standard library and the
// root package, does no I/O of its own (StreamWriter writes to the io.Writer
// it is given) and holds no state between calls. Errors about the caller's
// request are *octomesh.Error with code EINVALID and a client-safe message
// naming the parameter; errors about an upstream body are plain errors the
// adapter wraps as EUPSTREAM.
//
// # Mapping rules
//
// Canonical → Anthropic (EncodeRequest):
//   - system and developer messages, wherever they appear, become the top-level
//     system prompt, in order: a single plain-string message is sent as a
//     string, anything else as one text block per text part. They may hold
//     only text.
//   - consecutive tool messages become one user message of tool_result blocks;
//     an assistant's tool_calls become tool_use blocks after its text, the
//     JSON-string arguments becoming the input object (arguments that are not a
//     JSON object are EINVALID). Tool call ids are sent with characters outside
//     [A-Za-z0-9_-] replaced by '_' (Anthropic's id pattern), identically in
//     tool_use and tool_result, so pairs still match.
//   - image parts: data: URLs (base64) become base64 sources, http(s) URLs url
//     sources; OpenAI's image detail has no Anthropic equivalent and is ignored.
//   - max_completion_tokens / max_tokens become max_tokens, which Anthropic
//     requires; without either the configured default (DefaultMaxTokens) is sent.
//   - tool_choice auto/none/required/function → auto/none/any/tool;
//     parallel_tool_calls false → disable_parallel_tool_use true.
//   - stop → stop_sequences, user → metadata.user_id; temperature and top_p
//     are copied. Anthropic bounds temperature to [0, 1] where OpenAI allows
//     up to 2: a higher value is EINVALID, not silently clamped or rescaled.
//   - response_format json_schema and json_object: the classic Messages API has
//     no structured-output switch, so the schema becomes a forced tool (named
//     after the schema, "json_response" for json_object, with tool_choice
//     {"type":"tool"}), and the decoders turn that tool's input back into the
//     message content, with finish_reason "stop". Request.JSONTool carries the
//     tool's name to the decoders. It cannot be combined with caller tools.
//   - parameters Anthropic cannot honour are rejected with EINVALID naming the
//     parameter, never dropped: n > 1, seed, non-zero presence/frequency
//     penalties, and every Passthrough field (logprobs, logit_bias …). Two
//     fields are knowingly not forwarded because they do not change the answer:
//     the canonical metadata map (OctoMesh's own request tags) and a message's
//     name.
//
// Anthropic → canonical (DecodeResponse, StreamDecoder):
//   - stop_reason end_turn, stop_sequence, pause_turn → stop; max_tokens and
//     model_context_window_exceeded → length; tool_use → tool_calls; refusal →
//     content_filter.
//   - usage: PromptTokens = input_tokens + cache_read_input_tokens +
//     cache_creation_input_tokens (OpenAI counts cached tokens as prompt
//     tokens); PromptTokensDetails.CachedTokens = cache_read_input_tokens;
//     CacheWriteTokens = cache_creation_input_tokens; CompletionTokens =
//     output_tokens. In streams, message_start carries the input counts and
//     message_delta the cumulative totals (any count it carries wins).
//   - thinking and redacted_thinking blocks (and their thinking_delta and
//     signature_delta events) are skipped: the canonical format has no place
//     for them, and OctoMesh never asks for extended thinking. Other unknown
//     block and event types are skipped too, as Anthropic's versioning policy
//     asks of clients; ping is ignored.
//
// Anthropic → canonical (DecodeRequest) is strict: malformed JSON, wrong
// types, unknown fields (top-level and inside messages, blocks and tools),
// missing model/max_tokens/messages and out-of-range values are EINVALID with
// Param set to the offending path (e.g. "messages[1].content[0].source").
// Parameters Anthropic defines but the canonical format cannot carry (top_k,
// thinking, service_tier …) are rejected by name rather than dropped. Two
// things are accepted and not carried: cache_control hints (caching is a cost
// optimisation, not part of the answer) and a tool_result's is_error flag (the
// canonical tool message has no such field; the result text still reaches the
// model). A streaming request also asks for the usage chunk, since Anthropic's
// stream always reports usage.
//
// canonical → Anthropic responses (EncodeResponse, StreamWriter): the
// response id is the canonical id, prefixed "msg_" unless it already starts
// so; finish reasons map back (stop → end_turn, length → max_tokens,
// tool_calls → tool_use, content_filter → refusal); stop_sequence is always
// null because the canonical format does not say which sequence matched.
package anthropicwire
