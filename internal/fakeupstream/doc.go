// Package fakeupstream provides in-process fake AI provider servers for
// tests: real loopback HTTP servers (httptest) that speak the exact wire
// formats of OpenAI's Chat Completions and Embeddings APIs, Anthropic's
// Messages API and Google's Gemini API (generateContent,
// streamGenerateContent?alt=sse, batchEmbedContents).
//
// # Lifecycle
//
// NewOpenAI, NewAnthropic and NewGemini start a server and register its
// shutdown with t.Cleanup. Each server has its own random API key (Key),
// which it requires exactly as the real provider does (Authorization:
// Bearer, x-api-key, x-goog-api-key); a wrong key gets the provider's 401.
// A Server is safe for concurrent use: tests may script it while requests
// are in flight.
//
// # Default behaviour
//
// Answers are deterministic functions of the request:
//
//   - if the request declares tools and the tool choice is not "none", the
//     answer is one tool call (or two, in parallel, when at least two tools
//     are declared, parallel calls are allowed and no single function is
//     forced), whose arguments are a JSON object built from the function's
//     parameter schema (its required properties). A request whose last
//     message is a tool result is answered with text instead, unless a tool
//     call is forced, so tool round trips end.
//   - else if JSON output is requested (OpenAI response_format json_object or
//     json_schema, Gemini responseMimeType application/json, Anthropic
//     output_format), the answer is a JSON object: built from the schema when
//     there is one, else {"reply": <text>}.
//   - else the answer is ReplyText: "Hello from <provider>: " followed by the
//     first 20 characters of the last user message's text (the text of a tool
//     result counts as a user message). EchoWholeMessage switches to echoing
//     the whole message, for privacy tests that need content to flow back.
//
// Usage is always reported with the fixed counts PromptTokens (of which
// CachedTokens were read from a cache, and, for Anthropic,
// CacheWriteTokens written to it) and CompletionTokens, each in the
// provider's own fields. Streams are split into several events, each
// flushed on its own.
//
// Embeddings (OpenAI /embeddings, Gemini batchEmbedContents) are
// deterministic vectors: Vector(text, dims).
//
// # Scripting
//
// FailNext makes the next request fail with a given status, body and
// headers (each call queues one failure). CutStreamAfter makes the next
// streamed answer end after a number of events, without the provider's
// terminating event. Requests lists every request received, with its
// headers and decoded JSON body, failed ones included.
//
// # Fault modes
//
// For resilience tests: ResetNext closes the next request's connection
// before any response byte; HangNext never answers the next request;
// FailAlways and FailFraction fail every request, or an evenly spread
// fraction of them, until Recover; PauseStreamAfter holds the next stream
// after a number of events (a slow first token, a stall, an answer held
// open without its terminator); InjectStreamAfter writes raw bytes (a
// malformed chunk) into it. StrictPrefill makes the Anthropic fake refuse
// a final assistant message ending in whitespace, as the real API does.
// Disconnects reports when a client went away
// while the fake held a response open. Closing the server (at the end of
// the test) ends every held response.
package fakeupstream
