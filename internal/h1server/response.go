package h1server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
)

// bufSize is how much body a response holds before it writes: a small
// answer leaves in one write with its head and a Content-Length.
const bufSize = 16 << 10

// maxKeptBuffer bounds the buffers a connection keeps between requests.
const maxKeptBuffer = 64 << 10

// response is the http.ResponseWriter of one request.
type response struct {
	c    *conn
	tmpl http.Request // the request as parsed, and, with its context, the handler's
	body *body        // nil without a body

	// Storage for the request's parts, allocated with the response rather
	// than each on its own: the response is never reused (a handler may
	// keep it, or the request, past its return), so neither are they.
	url     url.URL    // tmpl.URL for a plain path
	bodyVal body       // what body points to, when there is one
	reqVals [16]string // backs the request's header values, when they fit
	hdrVals [15]string // backs values set with SetHeaderValue

	header   http.Header
	status   int
	declared int64 // the handler's Content-Length; -1 when none
	written  int64 // body bytes the handler wrote
	// Flags and counts, together: apart, they padded the response past
	// the allocator's 1,280-byte class (a 1,408-byte one for every
	// request, held by every stream for its whole life).
	wroteHeader bool         // the status and headers are fixed (serialised in c.hdr)
	sentHeader  bool         // the head is on the wire
	chunking    bool         // the body goes out chunked
	noBody      bool         // a HEAD request: the body is counted, not sent
	closeAfter  bool         // the connection closes after this answer
	hasDate     bool         //
	noSniff     bool         // the handler set a Content-Type (nil too) or a Content-Encoding
	nhdr        uint8        // hdrVals in use
	ntrailerSet uint8        // trailerSet in use
	returned    atomic.Bool  // the handler returned: Write, WriteHeader and Flush refuse
	sniffed     string       // HEAD: the Content-Type sniffed from the first write
	trailers    []string     // trailer names declared with the Trailer header
	trailerArr  [2]string    // backs trailers, when they fit
	trailerSet  [2][2]string // trailers set with SetTrailerValue: name, value
	err         error        // the first write error
	cont        Continuation // what runs after the handler returns (Continue)
}

var _ http.Flusher = (*response)(nil)

// errAfterReturn answers a write or flush made after the handler returned
// (by a goroutine it left behind). net/http forbids them too; here they
// must also not reach the connection's lent buffers, which by then belong
// to the next answer, or another connection's.
var errAfterReturn = errors.New("h1server: write after the handler returned")

func (w *response) Header() http.Header {
	if w.header == nil {
		w.header = make(http.Header, 8)
	}
	return w.header
}

// SetHeaderValue is Header().Set(key, value) without its allocation: the
// value's one-element slice is cut from an array in the response (with its
// capacity capped, so that an Add copies it rather than writing into the
// next value). What the handler then sees in the map is what Set would
// have put there.
func (w *response) SetHeaderValue(key, value string) {
	key = canonicalKey(key) // free for a canonical key
	h := w.Header()
	if int(w.nhdr) == len(w.hdrVals) {
		h[key] = []string{value}
		return
	}
	i := w.nhdr
	w.nhdr++
	w.hdrVals[i] = value
	h[key] = w.hdrVals[i : i+1 : i+1]
}

// SetTrailerValue sets a trailer declared with the Trailer header, after
// WriteHeader, as Header().Set(key, value) then would, without adding it
// to the header map: a ninth key costs the map three allocations to grow.
// Before WriteHeader, with the key in the map, or with more than two such
// trailers, it is Header().Set.
func (w *response) SetTrailerValue(key, value string) {
	key = canonicalKey(key)
	if _, inMap := w.header[key]; inMap || !w.wroteHeader || w.returned.Load() {
		w.Header().Set(key, value) // the map's value is the one sent: it must be the last
		return
	}
	for i := range w.ntrailerSet {
		if w.trailerSet[i][0] == key {
			w.trailerSet[i][1] = value
			return
		}
	}
	if int(w.ntrailerSet) == len(w.trailerSet) {
		w.Header().Set(key, value)
		return
	}
	w.trailerSet[w.ntrailerSet] = [2]string{key, value}
	w.ntrailerSet++
}

// RequestWithContext is r.WithContext(ctx) without the copy of the request,
// for a handler given r by this server: the request takes ctx in place, and
// is returned. The server does not look at its context again, but whoever
// holds r sees the change: a handler (or middleware) that keeps r and
// wants it unchanged must use WithContext. For any other request, or after
// the handler returned, it is r.WithContext(ctx).
func (w *response) RequestWithContext(r *http.Request, ctx context.Context) *http.Request {
	if r != &w.tmpl || w.returned.Load() {
		return r.WithContext(ctx)
	}
	w.tmpl = *w.tmpl.WithContext(ctx) // the copy stays on the stack (see conn.handle)
	return r
}

// WriteHeader fixes the status and takes a snapshot of the headers, as
// net/http does (changes after it have no effect, trailers aside), by
// serialising them: no copy of the map.
func (w *response) WriteHeader(code int) {
	if w.returned.Load() {
		return // see errAfterReturn
	}
	w.writeHeader(code)
}

func (w *response) writeHeader(code int) {
	if w.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		panic("invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.writeInformational(code)
		return
	}
	w.wroteHeader = true
	w.status = code
	c := w.c
	if c.hdr == nil {
		c.hdr = getBuf()
	}
	for k, vs := range w.header {
		switch k {
		case "Content-Length":
			if len(vs) > 0 {
				if n, ok := parseLength(vs[0]); ok {
					w.declared = n
				}
			}
			continue
		case "Transfer-Encoding":
			continue // the server frames the body
		case "Connection":
			if hasToken(vs, "close") {
				w.closeAfter = true
			}
			continue
		case "Date":
			w.hasDate = true
		case "Content-Type":
			w.noSniff = true
		case "Content-Encoding":
			// Encoded bytes say nothing of the type (net/http does not
			// sniff them either).
			w.noSniff = w.noSniff || len(vs) > 0 && vs[0] != ""
		case "Trailer":
			if w.trailers == nil {
				w.trailers = w.trailerArr[:0]
			}
			for _, v := range vs {
				for v != "" {
					var t string
					t, v, _ = strings.Cut(v, ",")
					if t = strings.Trim(t, " \t"); t != "" {
						w.trailers = append(w.trailers, canonicalKey(t))
					}
				}
			}
		}
		if strings.HasPrefix(k, http.TrailerPrefix) || !validToken(k) {
			continue
		}
		*c.hdr = appendField(*c.hdr, k, vs)
	}
	if !bodyAllowed(code) {
		w.declared = -1
	}
}

// writeInformational sends a 1xx answer (103 Early Hints) at once.
func (w *response) writeInformational(code int) {
	buf := getBuf()
	out := append(*buf, statusLine(code)...)
	for k, vs := range w.header {
		if validToken(k) {
			out = appendField(out, k, vs)
		}
	}
	out = append(out, "\r\n"...)
	w.send(out)
	*buf = out
	putBuf(buf)
}

func (w *response) Write(p []byte) (int, error) {
	if w.returned.Load() {
		return 0, errAfterReturn
	}
	if !w.wroteHeader {
		w.writeHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if w.declared >= 0 && w.written+int64(len(p)) > w.declared {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if w.noBody {
		if w.sniffed == "" && !w.noSniff && !w.sentHeader && len(p) > 0 {
			w.sniffed = http.DetectContentType(p) // the type a GET would get
		}
		return len(p), nil
	}
	if w.err != nil {
		return 0, w.err
	}
	c := w.c
	if c.pend == nil {
		c.pend = getBuf()
	}
	*c.pend = append(*c.pend, p...)
	if len(*c.pend) >= bufSize {
		w.sendBody(false)
	}
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

// Flush sends the head and what the handler wrote so far.
func (w *response) Flush() { w.FlushError() }

// FlushError is Flush that reports a failed write (http.ResponseController
// uses it).
func (w *response) FlushError() error {
	if w.returned.Load() {
		return errAfterReturn
	}
	if !w.wroteHeader {
		w.writeHeader(http.StatusOK)
	}
	if w.err == nil {
		w.sendBody(false)
	}
	return w.err
}

// finish completes the answer after the handler returned, and reports
// whether the connection can carry another request.
func (w *response) finish() bool {
	if !w.wroteHeader {
		w.writeHeader(http.StatusOK)
	}
	if w.declared >= 0 && w.written < w.declared && !w.noBody {
		w.closeAfter = true // the body is short of its length: the client must see the connection end
	}
	// What the handler left of the body is read past before the answer's
	// head goes, so that the head can say when the connection will close.
	keep := w.body == nil || w.body.finish()
	if !keep {
		w.closeAfter = true
		w.c.linger = true // the client may still be sending the body
	}
	if w.err == nil {
		w.sendBody(true)
	}
	return keep && w.err == nil
}

// release gives back the buffers the answer still holds (the head's, when
// the handler never wrote).
func (w *response) release() {
	c := w.c
	putBuf(c.pend)
	putBuf(c.hdr)
	c.pend, c.hdr = nil, nil
}

// sendBody writes the head if it has not gone yet, and the pending body,
// in one write. final is the end of the answer: an unflushed answer then
// gets a Content-Length, a chunked one its last chunk and trailers.
func (w *response) sendBody(final bool) {
	c := w.c
	var pend []byte
	if c.pend != nil {
		pend = *c.pend
	}
	buf := getBuf()
	out := *buf
	if !w.sentHeader {
		length := w.declared
		switch {
		case !bodyAllowed(w.status):
		case length >= 0:
		case w.noBody: // HEAD: the length of what the handler wrote, when it is all known
			if final && w.written > 0 {
				length = w.written
			}
		case final && (w.tmpl.ProtoMinor == 0 || !w.hasTrailers()):
			length = int64(len(pend))
		case w.tmpl.ProtoMinor >= 1:
			// Unknown length, or trailers to send (a body with a
			// Content-Length has nowhere to put them): chunked, as net/http.
			w.chunking = true
		default:
			w.closeAfter = true // HTTP/1.0 without a length: the end of the connection ends the body
		}
		out = w.appendHead(out, length, pend)
		w.sentHeader = true
		if b := w.body; b != nil && b.expectContinue {
			b.noContinue()
		}
	}
	if len(pend) > 0 {
		if w.chunking {
			out = strconv.AppendUint(out, uint64(len(pend)), 16)
			out = append(out, "\r\n"...)
			out = append(out, pend...)
			out = append(out, "\r\n"...)
		} else {
			out = append(out, pend...)
		}
	}
	if final && w.chunking {
		out = append(out, "0\r\n"...)
		out = w.appendTrailers(out)
		out = append(out, "\r\n"...)
	}
	if len(out) > 0 {
		w.send(out)
	}
	// Between writes (a stream waiting for its next token) the answer
	// holds no buffer: the pending bytes are sent, the head is on the wire.
	*buf = out
	putBuf(buf)
	if c.pend != nil {
		*c.pend = pend[:0]
		putBuf(c.pend)
		c.pend = nil
	}
	if w.sentHeader && c.hdr != nil {
		putBuf(c.hdr)
		c.hdr = nil
	}
}

func (w *response) send(b []byte) {
	if w.err != nil {
		return
	}
	if _, err := w.c.rwc.Write(b); err != nil {
		w.err = err
		w.closeAfter = true
	}
}

// appendHead appends the status line and headers. length is the body's
// Content-Length, or -1 when there is none to send.
func (w *response) appendHead(out []byte, length int64, pend []byte) []byte {
	out = append(out, statusLine(w.status)...)
	if w.c.hdr != nil {
		out = append(out, *w.c.hdr...)
	}
	if length >= 0 {
		out = append(out, "Content-Length: "...)
		out = strconv.AppendInt(out, length, 10)
		out = append(out, "\r\n"...)
	}
	if w.chunking {
		out = append(out, "Transfer-Encoding: chunked\r\n"...)
	}
	if !w.noSniff && bodyAllowed(w.status) {
		ct := w.sniffed
		if len(pend) > 0 {
			ct = http.DetectContentType(pend)
		}
		if ct != "" {
			out = append(out, "Content-Type: "...)
			out = append(out, ct...)
			out = append(out, "\r\n"...)
		}
	}
	if !w.hasDate {
		out = append(out, "Date: "...)
		out = appendDate(out)
		out = append(out, "\r\n"...)
	}
	if w.c.srv.shutdown.Load() {
		w.closeAfter = true
	}
	switch {
	case w.closeAfter:
		out = append(out, "Connection: close\r\n"...)
	case w.tmpl.ProtoMinor == 0:
		out = append(out, "Connection: keep-alive\r\n"...)
	}
	return append(out, "\r\n"...)
}

// hasTrailers reports whether the handler declared trailers (the Trailer
// header) or set one with http.TrailerPrefix.
func (w *response) hasTrailers() bool {
	if len(w.trailers) > 0 {
		return true
	}
	for k := range w.header {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			return true
		}
	}
	return false
}

// appendTrailers appends the declared trailers the handler set, and those
// set with http.TrailerPrefix.
func (w *response) appendTrailers(out []byte) []byte {
	for _, k := range w.trailers {
		if vs, ok := w.header[k]; ok {
			if len(vs) > 0 && validToken(k) {
				out = appendField(out, k, vs)
			}
			continue
		}
		for i := range w.ntrailerSet {
			if t := &w.trailerSet[i]; t[0] == k && validToken(k) {
				out = appendField(out, k, t[1:])
			}
		}
	}
	for k, vs := range w.header {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok && validToken(name) {
			out = appendField(out, name, vs)
		}
	}
	return out
}

// appendField appends "k: v\r\n" for each value, with line breaks in
// values turned into spaces (as net/http: a value must not start a line).
func appendField(out []byte, k string, vs []string) []byte {
	for _, v := range vs {
		out = append(out, k...)
		out = append(out, ": "...)
		start := len(out)
		out = append(out, strings.Trim(v, " \t")...)
		for i := start; i < len(out); i++ {
			if out[i] == '\r' || out[i] == '\n' {
				out[i] = ' '
			}
		}
		out = append(out, "\r\n"...)
	}
	return out
}

func bodyAllowed(status int) bool {
	return !(status >= 100 && status < 200 || status == http.StatusNoContent || status == http.StatusNotModified)
}

// statusLines holds "HTTP/1.1 <code> <reason>\r\n" for the codes net/http
// knows.
var statusLines = func() map[int]string {
	m := map[int]string{}
	for code := 100; code < 600; code++ {
		if t := http.StatusText(code); t != "" {
			m[code] = "HTTP/1.1 " + strconv.Itoa(code) + " " + t + "\r\n"
		}
	}
	return m
}()

func statusLine(code int) string {
	if l, ok := statusLines[code]; ok {
		return l
	}
	return "HTTP/1.1 " + strconv.Itoa(code) + " status code " + strconv.Itoa(code) + "\r\n"
}
