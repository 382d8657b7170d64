// Package gemini is the provider adapter for Google's Gemini API
// (generativelanguage.googleapis.com, API version v1beta).
//
// It translates canonical OpenAI-shaped requests (octomesh.ChatRequest,
// octomesh.EmbeddingRequest) into Gemini's generateContent,
// streamGenerateContent (alt=sse) and batchEmbedContents bodies, and Gemini's
// answers back into canonical responses, stream chunks and normalised errors.
//
// Lifecycle: build a Client once with New from a Config and a shared
// *http.Client; it holds no per-request state and is safe for concurrent use.
// Chat and Embed each make one upstream call (Embed splits large inputs into
// batches). ChatStream returns a pull iterator that owns the upstream
// response body and no goroutine; Close, or cancelling the request's context,
// aborts the upstream connection.
//
// Translation choices worth knowing:
//
//   - system and developer messages become systemInstruction; assistant turns
//     have role "model"; tool results become functionResponse parts in a user
//     turn, with the function name recovered from the assistant tool call of
//     the same id.
//   - Tool parameters and json_schema response formats are sent as standard
//     JSON Schema (parametersJsonSchema, responseJsonSchema), not through the
//     OpenAPI-subset Schema fields (parameters, responseSchema), which reject
//     common JSON Schema keywords such as additionalProperties.
//   - Gemini names no tool calls (or names them only sometimes), so tool-call
//     ids are synthesised per response as "call_<index>_<name>".
//   - Anything the request asks for that Gemini cannot express is rejected
//     with EINVALID naming the parameter, never dropped silently. The only
//     fields deliberately not forwarded are user and metadata: they are the
//     caller's own bookkeeping, do not change the answer, and Gemini has no
//     field for them (sending less about end users to a provider is the
//     privacy-preserving default).
package gemini
