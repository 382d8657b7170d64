package h1

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"unsafe"
)

// ErrMalformed wraps every response the parser refuses.
var ErrMalformed = errors.New("h1: malformed HTTP response")

// errTornLine marks a read that failed (a deadline) after consuming part
// of a line: the reader's position is lost.
var errTornLine = errors.New("h1: read interrupted inside a line")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// framing is how a response body is delimited (RFC 9112 §6.3).
type framing uint8

const (
	frameNone    framing = iota // no body
	frameLength                 // Content-Length bytes
	frameChunked                // chunked transfer coding
	frameClose                  // until the server closes
)

// head is a parsed status line and header section.
type head struct {
	resp    *http.Response // &r
	framing framing
	length  int64
	r       http.Response // allocated with the head, in one
	vals    [16]string    // the header values of a typical head, likewise
	// The body is not: a stream is read long after its head was, and a
	// body in the head's allocation kept the head, its text and the
	// request (resp.Request) alive for the stream's whole life (BodyRoom).
}

// readResponse reads a response's head for req, skipping interim 1xx
// responses, and decides the body's framing. The body is left unread.
func readResponse(br *bufio.Reader, req *http.Request, maxHeader int) (*head, error) {
	budget := maxHeader
	for {
		h, err := readHead(br, &budget)
		if err != nil {
			return nil, err
		}
		code := h.resp.StatusCode
		if code == http.StatusSwitchingProtocols {
			return nil, malformed("unexpected 101 Switching Protocols")
		}
		if code >= 100 && code < 200 {
			continue // 100 Continue, 103 Early Hints: the answer follows
		}
		h.resp.Request = req
		if err := h.frame(req.Method == http.MethodHead); err != nil {
			return nil, err
		}
		return h, nil
	}
}

// readHead reads a status line and header section. The whole head is
// copied into one string, with header names canonicalised in place first,
// and every string of the response is a slice of it; all values share one
// backing slice. A provider's answer carries 10 to 20 headers, which would
// otherwise cost two or three allocations each.
func readHead(br *bufio.Reader, budget *int) (*head, error) {
	rawp := headBufs.Get().(*[]byte)
	defer putHeadBuf(rawp)
	raw := (*rawp)[:0]
	lines := 0
	for {
		l, err := readLineBytes(br, budget)
		if err != nil {
			return nil, err
		}
		if lines > 0 && len(l) > 0 {
			if l[0] == ' ' || l[0] == '\t' {
				return nil, malformed("obsolete header line folding")
			}
			colon := indexByte(l, ':')
			if colon <= 0 {
				return nil, malformed("header line %q", clip(string(l)))
			}
			if !validToken(l[:colon]) {
				return nil, malformed("header name %q", clip(string(l[:colon])))
			}
		}
		start := len(raw)
		raw = append(raw, l...)
		raw = append(raw, '\n')
		if lines > 0 {
			canonicalizeName(raw[start:])
		}
		if len(l) == 0 && lines > 0 {
			break
		}
		lines++
	}
	*rawp = raw // keep what append grew, for putHeadBuf to judge
	h, text := newHead(raw)
	line, rest, _ := strings.Cut(text, "\n")
	resp := &h.r
	h.resp = resp
	// HTTP/1.x SP 3DIGIT [SP reason]
	if len(line) < 12 || !strings.HasPrefix(line, "HTTP/1.") || line[8] != ' ' {
		return nil, malformed("status line %q", clip(line))
	}
	switch line[7] {
	case '0':
		resp.Proto, resp.ProtoMajor, resp.ProtoMinor = "HTTP/1.0", 1, 0
	case '1':
		resp.Proto, resp.ProtoMajor, resp.ProtoMinor = "HTTP/1.1", 1, 1
	default:
		return nil, malformed("status line %q", clip(line))
	}
	code := 0
	for i := 9; i < 12; i++ {
		c := line[i]
		if c < '0' || c > '9' {
			return nil, malformed("status code in %q", clip(line))
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 || (len(line) > 12 && line[12] != ' ') {
		return nil, malformed("status line %q", clip(line))
	}
	resp.StatusCode = code
	resp.Status = strings.TrimSpace(line[9:])
	if len(line) <= 13 {
		resp.Status = line[9:12] + " " + http.StatusText(code)
	}
	n := lines - 1
	resp.Header = newHeader(n)
	vals := h.vals[:0]
	if n > len(h.vals) {
		vals = make([]string, 0, n)
	}
	for {
		var l string
		l, rest, _ = strings.Cut(rest, "\n")
		if l == "" {
			break
		}
		colon := strings.IndexByte(l, ':')
		key := internKey(l[:colon])
		v := trimOWSString(l[colon+1:])
		if old, ok := resp.Header[key]; ok {
			resp.Header[key] = append(old, v) // a repeated header: copies, leaving the shared backing alone
			continue
		}
		vals = append(vals, v)
		i := len(vals)
		resp.Header[key] = vals[i-1 : i : i]
	}
	return h, nil
}

// A head's text is kept in the head's own allocation when it is short
// enough, in one of four sizes: a head and its text, with the 8-byte
// header the allocator puts before a large object with pointers, then
// fill the 640-, 768-, 1024- or 1408-byte size class, about as the two
// allocations apart would.
func newHead(raw []byte) (*head, string) {
	switch n := len(raw); {
	case n == 0 || n > 976:
		return &head{}, string(raw)
	case n <= 208:
		return newHeadWith[[208]byte](raw)
	case n <= 336:
		return newHeadWith[[336]byte](raw)
	case n <= 592:
		return newHeadWith[[592]byte](raw)
	default:
		return newHeadWith[[976]byte](raw)
	}
}

// headWithText is a head allocated with room for its text, an array T.
type headWithText[T any] struct {
	head
	text T
}

// newHeadWith returns a new head and its text, a copy of raw (which fits
// T) in the head's own allocation. The text is never written again once
// copied, so strings of it are as immutable as any.
func newHeadWith[T any](raw []byte) (*head, string) {
	ht := new(headWithText[T])
	p := (*byte)(unsafe.Pointer(&ht.text))
	copy(unsafe.Slice(p, len(raw)), raw)
	return &ht.head, unsafe.String(p, len(raw))
}

// headers holds header maps given back by ReleaseHeader.
var headers sync.Pool

// maxPooledHeader bounds the size of a map kept for reuse (a map does not
// shrink when cleared).
const maxPooledHeader = 32

// newHeader returns an empty header map for n fields, a released one when
// there is one.
func newHeader(n int) http.Header {
	if h, ok := headers.Get().(http.Header); ok {
		return h
	}
	return make(http.Header, max(n, 8))
}

// ReleaseHeader gives the header map of a response this transport returned
// back for reuse by a later response, and sets resp.Header to nil: for a
// caller that has read what it needs of the header, which no one may read
// or keep any more (nor anything of it but its strings, which are not
// reused). A second call does nothing.
func ReleaseHeader(resp *http.Response) {
	h := resp.Header
	resp.Header = nil
	if _, ours := resp.Body.(*body); !ours || h == nil || len(h) > maxPooledHeader {
		return // a Fallback's map is left alone: its transport may keep it
	}
	clear(h)
	headers.Put(h)
}

// headBufs lends readHead its scratch buffer. It used to be a 2 KiB array
// on the stack, which took the stack of a goroutine starting a stream past
// 8 KiB: each of 2,000 streams then held a 16 KiB stack until the next GC
// shrank it.
var headBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2<<10); return &b }}

// putHeadBuf returns p to headBufs unless an unusually large head grew it.
func putHeadBuf(p *[]byte) {
	if cap(*p) <= 16<<10 {
		headBufs.Put(p)
	}
}

// canonicalizeName rewrites the name of the header line l (a valid token
// before its colon) in canonical form, as textproto.CanonicalMIMEHeaderKey
// would: upper case at the start and after each hyphen, lower case elsewhere.
func canonicalizeName(l []byte) {
	upper := true
	for i, c := range l {
		if c == ':' {
			return
		}
		switch {
		case upper && 'a' <= c && c <= 'z':
			l[i] = c - ('a' - 'A')
		case !upper && 'A' <= c && c <= 'Z':
			l[i] = c + ('a' - 'A')
		}
		upper = c == '-'
	}
}

// internKey returns the package's copy of a common header name, so that
// a response's map keys do not keep its whole head alive.
func internKey(k string) string {
	for _, c := range commonKeys {
		if c == k {
			return c
		}
	}
	return k
}

func trimOWSString(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// frame sets the body's framing and the response's framing fields.
func (h *head) frame(isHead bool) error {
	resp := h.resp
	hdr := resp.Header
	resp.Close = connectionClose(hdr, resp.ProtoMinor)
	code := resp.StatusCode
	te := hdr["Transfer-Encoding"]
	if resp.ProtoMinor == 0 {
		te = nil // HTTP/1.0 has no transfer codings (as net/http reads it)
		delete(hdr, "Transfer-Encoding")
	}
	cl := hdr["Content-Length"]
	switch {
	case isHead || code == http.StatusNoContent || code == http.StatusNotModified:
		h.framing = frameNone
		resp.ContentLength = 0
		if isHead && len(cl) > 0 {
			if n, err := parseLength(cl); err == nil {
				resp.ContentLength = n
			}
		}
		return nil
	case len(te) > 0:
		// Transfer-Encoding overrides Content-Length; a message carrying
		// both may be a smuggling attempt, so the connection is not reused.
		delete(hdr, "Transfer-Encoding")
		if len(cl) > 0 {
			delete(hdr, "Content-Length")
			resp.Close = true
		}
		resp.ContentLength = -1
		if lastCodingChunked(te) {
			h.framing = frameChunked
			resp.TransferEncoding = chunkedCoding
			return nil
		}
		h.framing = frameClose
		resp.Close = true
		return nil
	case len(cl) > 0:
		n, err := parseLength(cl)
		if err != nil {
			return err
		}
		h.framing, h.length, resp.ContentLength = frameLength, n, n
		if n == 0 {
			h.framing = frameNone
		}
		return nil
	default:
		h.framing = frameClose
		resp.ContentLength = -1
		resp.Close = true
		return nil
	}
}

// chunkedCoding is a chunked response's TransferEncoding, shared as a
// header value is; its capacity is its length, so an append copies it.
var chunkedCoding = []string{"chunked"}[:1:1]

// parseLength parses Content-Length values, which must all agree.
func parseLength(vs []string) (int64, error) {
	var n int64 = -1
	for _, v := range vs {
		for part := range strings.SplitSeq(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" || len(part) > 18 {
				return 0, malformed("Content-Length %q", clip(v))
			}
			var x int64
			for i := 0; i < len(part); i++ {
				c := part[i]
				if c < '0' || c > '9' {
					return 0, malformed("Content-Length %q", clip(v))
				}
				x = x*10 + int64(c-'0')
			}
			if n >= 0 && x != n {
				return 0, malformed("conflicting Content-Length values")
			}
			n = x
		}
	}
	return n, nil
}

func lastCodingChunked(te []string) bool {
	last := te[len(te)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	return asciiEqualFold(strings.TrimSpace(last), "chunked")
}

// connectionClose reports whether the server will close after this
// response: "Connection: close", or HTTP/1.0 without keep-alive.
func connectionClose(hdr http.Header, minor int) bool {
	keepAlive := false
	for _, v := range hdr["Connection"] {
		for tok := range strings.SplitSeq(v, ",") {
			tok = strings.TrimSpace(tok)
			if asciiEqualFold(tok, "close") {
				return true
			}
			if asciiEqualFold(tok, "keep-alive") {
				keepAlive = true
			}
		}
	}
	return minor == 0 && !keepAlive
}

// readLineBytes reads one line without its terminator, charging its length
// against budget. The slice is valid until the next read from br.
func readLineBytes(br *bufio.Reader, budget *int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		// A line longer than the buffer: gather it, within the budget.
		long := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			if len(long) > *budget {
				return nil, malformed("response header larger than %d bytes", len(long))
			}
			line, err = br.ReadSlice('\n')
			long = append(long, line...)
		}
		line = long
	}
	*budget -= len(line)
	if *budget < 0 {
		return nil, malformed("response header too large")
	}
	if err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		if len(line) > 0 {
			// Part of the line was consumed: reading cannot resume.
			return nil, fmt.Errorf("%w: %w", errTornLine, err)
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func asciiEqualFold[S, T string | []byte](s S, t T) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		a, b := s[i], t[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// commonKeys are header names that come back on most responses; a map key
// that is one of them is this string, not a slice of the response head.
var commonKeys = []string{
	"Content-Type", "Content-Length", "Date", "Transfer-Encoding", "Connection",
	"Server", "Cache-Control", "Retry-After", "X-Request-Id", "Keep-Alive", "Vary",
	"Openai-Processing-Ms", "Openai-Version", "Openai-Organization", "Request-Id",
	"Anthropic-Ratelimit-Requests-Remaining", "X-Ratelimit-Remaining-Requests",
	"X-Ratelimit-Remaining-Tokens", "X-Ratelimit-Reset-Requests", "X-Ratelimit-Reset-Tokens",
	"Strict-Transport-Security", "Cf-Ray", "Alt-Svc",
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
