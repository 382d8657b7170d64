package httpapi

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/octomesh/octomesh"
)

// moreWaiting reports whether the stream already holds more upstream bytes,
// so the relay can write the next chunk before flushing.
func moreWaiting(st octomesh.ChatStream) bool {
	b, ok := st.(octomesh.BufferedStream)
	return ok && b.Buffered() > 0
}

// setServed writes the x-octomesh-* headers naming what served the request,
// and the rate-limit headers. It assigns canonical names directly, through
// h1server's SetHeaderValue or else backing every value with one slice:
// through Header.Set these headers cost about fifteen allocations per
// answer.
func setServed(w http.ResponseWriter, sv *octomesh.Served) {
	if sv == nil {
		return
	}
	hs, _ := w.(headerSetter)
	h := w.Header()
	var vals []string
	put := func(key, v string) {
		if hs != nil {
			hs.SetHeaderValue(key, v)
			return
		}
		if vals == nil {
			vals = make([]string, 0, 9)
		}
		vals = append(vals, v)
		n := len(vals)
		h[key] = vals[n-1 : n : n]
	}
	if sv.Model != "" {
		put("X-Octomesh-Model", sv.Model)
	}
	if sv.Provider != "" {
		put("X-Octomesh-Provider", sv.Provider)
	}
	if sv.Route != "" {
		put("X-Octomesh-Route", sv.Route)
	}
	for i, st := range [2]*octomesh.RateLimitState{sv.Requests, sv.Tokens} {
		if st == nil {
			continue
		}
		// OpenAI's x-ratelimit-{limit,remaining,reset}-<what> headers, per
		// minute; reset as a Go duration like "1.5s".
		keys := &rateLimitKeys[i]
		put(keys[0], strconv.FormatInt(st.Limit, 10))
		put(keys[1], strconv.FormatInt(max(st.Remaining, 0), 10))
		put(keys[2], st.Reset.Round(time.Millisecond).String())
	}
}

// rateLimitKeys are the rate-limit header names for requests and tokens.
var rateLimitKeys = [2][3]string{
	{"X-Ratelimit-Limit-Requests", "X-Ratelimit-Remaining-Requests", "X-Ratelimit-Reset-Requests"},
	{"X-Ratelimit-Limit-Tokens", "X-Ratelimit-Remaining-Tokens", "X-Ratelimit-Reset-Tokens"},
}

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBodyPooled(w, r)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	a := new(chatAlloc) // the request and room for its parts: one allocation
	req := &a.req
	err = decodeChatIn(body.Bytes(), req, &a.room)
	body.Release() // the decoded request copies what it keeps
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	if err := applyRouteHeaders(r.Header, req); err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	if req.Stream {
		s.streamChat(w, r, req)
		return
	}
	resp, served, err := s.svc.Chat(r.Context(), req)
	setServed(w, served)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	setHeader(w, "X-Octomesh-Cost-Usd", served.Cost.String())
	writeChatResponse(w, resp)
}

// streamChat relays a stream as OpenAI's SSE, flushing each chunk as it
// arrives. A failure after the first byte ends the stream with an error event
// ({"error":{...}}, which the OpenAI SDKs raise) and no [DONE], so a cut
// answer is never presented as complete.
func (s *Server) streamChat(w http.ResponseWriter, r *http.Request, req *octomesh.ChatRequest) {
	// With a StreamPreparer the relay starts the stream: the wait for the
	// upstream's first content is then the relay's, not under this
	// handler's frames.
	ps, st, served, ok := s.prepare(w, r, req, formatOpenAI)
	if !ok {
		return
	}
	t := relayPool.Get().(*chatRelay)
	*t = chatRelay{s: s, w: w, r: r, pending: ps, served: served, enc: chunkEncoder{includeUsage: req.WantsUsageInStream()}}
	if st != nil {
		t.began(st)
	}
	if c, ok := w.(continuer); ok && c.Continue(t) {
		return // the server runs the relay once the handler's frames are gone
	}
	t.Continue()
}

// writeStreamHead writes the head of a streamed answer.
func writeStreamHead(w http.ResponseWriter, served *octomesh.Served) {
	setServed(w, served)
	setHeader(w, "Content-Type", "text/event-stream")
	setHeader(w, "Cache-Control", "no-cache")
	setHeader(w, "X-Accel-Buffering", "no")
	setHeader(w, "Trailer", "X-Octomesh-Cost-Usd")
	w.WriteHeader(http.StatusOK)
}

// doneEvent ends an OpenAI stream; a variable, so that writing it to the
// ResponseWriter (an interface: the bytes escape) does not copy it.
var doneEvent = []byte("data: [DONE]\n\n")

// writeEvent writes c as one SSE event. Its buffer is lent per event, not
// held for the stream: a stream waiting for its next token holds none.
func writeEvent(w http.ResponseWriter, enc *chunkEncoder, c *octomesh.Chunk) error {
	bp := respBufPool.Get().(*[]byte)
	buf := append((*bp)[:0], "data: "...)
	buf = enc.append(buf, c)
	buf = append(buf, "\n\n"...)
	_, err := w.Write(buf)
	if cap(buf) <= maxPooledBody {
		*bp = buf[:0]
		respBufPool.Put(bp)
	}
	return err
}

func (s *Server) handleEmbeddings(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	var req octomesh.EmbeddingRequest
	if err := decodeStrict(body, &req); err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	resp, served, err := s.svc.Embed(r.Context(), &req)
	setServed(w, served)
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	setHeader(w, "X-Octomesh-Cost-Usd", served.Cost.String())
	out := embeddingList{Object: "list", Model: resp.Model, Data: make([]embeddingItem, len(resp.Data))}
	out.Usage.PromptTokens = resp.Usage.PromptTokens
	out.Usage.TotalTokens = resp.Usage.PromptTokens
	for i, e := range resp.Data {
		item := embeddingItem{Object: "embedding", Index: e.Index}
		if req.EncodingFormat == "base64" {
			item.Embedding = float32Base64(e.Embedding)
		} else {
			item.Embedding = e.Embedding
		}
		out.Data[i] = item
	}
	writeJSON(w, http.StatusOK, out)
}

type embeddingList struct {
	Object string          `json:"object"`
	Data   []embeddingItem `json:"data"`
	Model  string          `json:"model"`
	Usage  struct {
		PromptTokens int `json:"prompt_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
}

type embeddingItem struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"` // []float32, or a base64 string of little-endian float32s
}

// float32Base64 encodes a vector as OpenAI's base64 format: little-endian
// float32s. (The Python SDK asks for this format by default.)
func float32Base64(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return base64.StdEncoding.EncodeToString(b)
}

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
	// OctoMesh extensions: what a router needs to know about a model.
	Provider      string                `json:"provider"`
	ContextWindow int                   `json:"context_window,omitempty"`
	MaxOutput     int                   `json:"max_output_tokens,omitempty"`
	Capabilities  octomesh.Capabilities `json:"capabilities"`
	Pricing       modelPricing          `json:"pricing"`
}

// modelPricing is shown as decimal USD strings per million tokens, exact.
type modelPricing struct {
	InputPerMTok       string `json:"input_per_mtok_usd"`
	OutputPerMTok      string `json:"output_per_mtok_usd"`
	CachedInputPerMTok string `json:"cached_input_per_mtok_usd,omitempty"`
}

func toModelObject(d *octomesh.Deployment) modelObject {
	m := modelObject{ID: d.Name, Object: "model", Created: d.Created, OwnedBy: d.OwnedBy, Provider: d.Provider,
		ContextWindow: d.ContextWindow, MaxOutput: d.MaxOutputTokens, Capabilities: d.Capabilities,
		Pricing: modelPricing{InputPerMTok: d.Price.InputPerMTok.String(), OutputPerMTok: d.Price.OutputPerMTok.String()}}
	if d.Price.CachedInputPerMTok != 0 {
		m.Pricing.CachedInputPerMTok = d.Price.CachedInputPerMTok.String()
	}
	if m.OwnedBy == "" {
		m.OwnedBy = d.Provider
	}
	return m
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	ds := s.svc.Models(r.Context())
	out := struct {
		Object string        `json:"object"`
		Data   []modelObject `json:"data"`
	}{Object: "list", Data: make([]modelObject, 0, len(ds))}
	for _, d := range ds {
		out.Data = append(out.Data, toModelObject(d))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleModel(w http.ResponseWriter, r *http.Request) {
	d, err := s.svc.Model(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, formatOpenAI, err)
		return
	}
	writeJSON(w, http.StatusOK, toModelObject(d))
}
