package h1server

import (
	"bufio"
	"errors"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// requestError is a request the server refuses before any handler runs.
type requestError struct {
	status int
	code   string // the error code in the JSON answer
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(msg string) error {
	return &requestError{status: http.StatusBadRequest, code: "malformed_request", msg: msg}
}

// errQuiet is a connection that ended or timed out between or inside
// requests: there is nobody to answer, or no request to answer.
var errQuiet = errors.New("h1server: connection closed")

// readRequest reads the next request's head and prepares its body; the
// request's timeouts run from t0.
func (c *conn) readRequest(t0 time.Time) (*response, error) {
	if d := c.srv.readHeaderTimeout(); d > 0 {
		c.rwc.SetReadDeadline(t0.Add(d))
	} else {
		c.rwc.SetReadDeadline(time.Time{})
	}
	head, err := c.readHead()
	if err != nil {
		return nil, err
	}
	w := &response{c: c, status: 0, declared: -1}
	if err := w.parseHead(head); err != nil {
		return nil, err
	}
	r := &w.tmpl
	r.RemoteAddr = c.remote
	if err := c.prepareBody(w); err != nil {
		return nil, err
	}
	if w.body == nil {
		c.parkReader() // nothing more to read until the next request
	}
	// The whole request, body included, within ReadTimeout of its start.
	if d := c.srv.ReadTimeout; d > 0 {
		c.rwc.SetReadDeadline(t0.Add(d))
	} else {
		c.rwc.SetReadDeadline(time.Time{})
	}
	if d := c.srv.WriteTimeout; d > 0 {
		c.rwc.SetWriteDeadline(time.Now().Add(d))
	}
	w.noBody = r.Method == http.MethodHead
	w.closeAfter = r.Close
	return w, nil
}

// readHead reads the request line and headers up to the blank line, bounded
// by MaxHeaderBytes, into a lent buffer, returned as one string: every
// string of the request is a slice of it (one allocation for all).
func (c *conn) readHead() (string, error) {
	buf := getBuf()
	s, err := c.readHeadInto(buf)
	putBuf(buf)
	return s, err
}

func (c *conn) readHeadInto(head *[]byte) (string, error) {
	limit := c.srv.maxHeaderBytes()
	br := c.reader()
	lineStart := 0
	for {
		frag, err := br.ReadSlice('\n')
		if len((*head))+len(frag) > limit {
			return "", &requestError{status: http.StatusRequestHeaderFieldsTooLarge, code: "request_header_too_large",
				msg: "the request's line and headers exceed " + strconv.Itoa(limit) + " bytes"}
		}
		(*head) = append((*head), frag...)
		if err == bufio.ErrBufferFull {
			continue // a line longer than the buffer: more of it follows
		}
		if err != nil {
			// A closed connection, a timeout, or a client that stopped
			// mid-head: there is no request to answer (as net/http).
			return "", errQuiet
		}
		if line := (*head)[lineStart:]; len(line) == 1 || len(line) == 2 && line[0] == '\r' {
			if lineStart > 0 {
				return string((*head)), nil
			}
			// RFC 9112 §2.2: a server may ignore an empty line before the
			// request line (some clients end a body with an extra CRLF).
			(*head) = (*head)[:0]
			if limit -= len(line); limit < 0 {
				return "", errQuiet
			}
			continue
		}
		lineStart = len((*head))
	}
}

// parseHead parses a request head (request line, headers, blank line)
// into w.tmpl. Strings in it are slices of head; its URL and header values
// are backed by w's storage when they fit.
func (w *response) parseHead(head string) error {
	r := &w.tmpl
	line, rest, _ := cutLine(head)
	method, line, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(line, " ")
	if !ok1 || !ok2 || method == "" || target == "" {
		return badRequest("malformed request line")
	}
	if !validToken(method) {
		return badRequest("invalid method")
	}
	major, minor, ok := parseProto(proto)
	if !ok {
		return &requestError{status: http.StatusHTTPVersionNotSupported, code: "http_version_not_supported", msg: "unsupported HTTP version; use HTTP/1.1"}
	}
	r.Method, r.RequestURI, r.Proto, r.ProtoMajor, r.ProtoMinor = internMethod(method), target, proto, major, minor
	u, err := parseTarget(method, target, &w.url)
	if err != nil {
		return err
	}
	r.URL = u

	// Count the headers first, to size the map and back every value with
	// one slice.
	n := strings.Count(rest, "\n") - 1
	if n < 0 {
		n = 0
	}
	h := make(http.Header, n)
	vals := w.reqVals[:0]
	if n > len(w.reqVals) {
		vals = make([]string, 0, n)
	}
	for {
		var l string
		l, rest, _ = cutLine(rest)
		if l == "" {
			break
		}
		if l[0] == ' ' || l[0] == '\t' {
			return badRequest("obsolete line folding in the headers")
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok || !validToken(k) {
			return badRequest("malformed header line")
		}
		v = strings.Trim(v, " \t")
		if !validValue(v) {
			return badRequest("invalid character in the value of header " + headerName(k))
		}
		key := canonicalKey(k)
		if old, ok := h[key]; ok {
			h[key] = append(old, v) // rare: a copy leaves the shared backing alone
			continue
		}
		vals = append(vals, v)
		i := len(vals)
		h[key] = vals[i-1 : i : i]
	}
	r.Header = h

	hosts := h["Host"]
	switch {
	case len(hosts) > 1:
		return badRequest("more than one Host header")
	case len(hosts) == 1:
		if !validHost(hosts[0]) {
			return badRequest("malformed Host header")
		}
		r.Host = hosts[0]
	case major == 1 && minor >= 1:
		return badRequest("missing required Host header")
	}
	if u.Host != "" {
		r.Host = u.Host // absolute-form wins (RFC 9112 §3.2.2)
	}
	delete(h, "Host")
	r.Close = shouldClose(major, minor, h)
	return nil
}

// cutLine returns s's first line without its line ending, and the rest.
func cutLine(s string) (line, rest string, ok bool) {
	i := strings.IndexByte(s, '\n')
	if i < 0 {
		return s, "", false
	}
	line, rest = s[:i], s[i+1:]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, rest, true
}

func parseProto(p string) (major, minor int, ok bool) {
	switch p {
	case "HTTP/1.1":
		return 1, 1, true
	case "HTTP/1.0":
		return 1, 0, true
	}
	return 0, 0, false
}

// parseTarget parses the request-target. The common origin-form without
// escapes or a query needs no parser: its URL is its path, set in plain.
func parseTarget(method, target string, plain *url.URL) (*url.URL, error) {
	if target[0] == '/' && plainPath(target) {
		*plain = url.URL{Path: target}
		return plain, nil
	}
	if method == http.MethodConnect {
		return nil, &requestError{status: http.StatusMethodNotAllowed, code: "method_not_allowed", msg: "CONNECT is not supported"}
	}
	if target == "*" {
		return &url.URL{Path: "*"}, nil
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, badRequest("malformed request target")
	}
	return u, nil
}

// plainPath reports whether p holds only characters that a path keeps
// unescaped (url.URL.EscapedPath would write them as they are), so that
// url.ParseRequestURI would return URL{Path: p}.
func plainPath(p string) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		if strings.IndexByte("-_.~/$&+,:;=@", c) < 0 {
			return false
		}
	}
	return true
}

func shouldClose(major, minor int, h http.Header) bool {
	conn := h["Connection"]
	if hasToken(conn, "close") {
		return true // even beside keep-alive (RFC 9112 §9.3; net/http)
	}
	return major == 1 && minor == 0 && !hasToken(conn, "keep-alive")
}

// hasToken reports whether a comma-separated header holds token,
// case-insensitively.
func hasToken(vals []string, token string) bool {
	for _, v := range vals {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.Trim(t, " \t"), token) {
				return true
			}
		}
	}
	return false
}

// validToken reports whether s is an RFC 9110 token.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool {
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// validValue refuses control characters other than tab (CR and NUL
// included: a value must not be able to smuggle a line).
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// validHost accepts what may appear in a Host header: a registered name, an
// IPv4 or bracketed IPv6 address, and a port.
func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		if strings.IndexByte("-._~!$&'()*+,;=:[]%", c) < 0 {
			return false
		}
	}
	return true
}

// headerName is a header name fit for an error message: canonical, and
// bounded.
func headerName(k string) string {
	if len(k) > 64 {
		k = k[:64]
	}
	return textproto.CanonicalMIMEHeaderKey(k)
}

// common holds the canonical form of the headers clients send most, so
// that looking one up costs no allocation.
var common = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"Accept", "Accept-Encoding", "Accept-Language", "Anthropic-Beta", "Anthropic-Version",
		"Authorization", "Cache-Control", "Connection", "Content-Length", "Content-Type", "Cookie", "Expect", "Host",
		"Openai-Organization", "Openai-Project", "Origin", "Referer", "Traceparent", "Tracestate", "Transfer-Encoding",
		"User-Agent", "X-Api-Key", "X-Forwarded-For", "X-Octomesh-Route", "X-Request-Id",
		"X-Stainless-Arch", "X-Stainless-Lang", "X-Stainless-Os", "X-Stainless-Package-Version", "X-Stainless-Retry-Count",
		"X-Stainless-Runtime", "X-Stainless-Runtime-Version", "X-Stainless-Timeout"} {
		m[k] = k
		m[strings.ToLower(k)] = k
	}
	return m
}()

// canonicalKey is textproto.CanonicalMIMEHeaderKey without an allocation
// for the common headers and for keys already in canonical form.
func canonicalKey(k string) string {
	if c, ok := common[k]; ok {
		return c
	}
	if isCanonical(k) {
		return k
	}
	return textproto.CanonicalMIMEHeaderKey(k)
}

func isCanonical(k string) bool {
	upper := true
	for i := 0; i < len(k); i++ {
		c := k[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return false
		}
		upper = c == '-'
	}
	return true
}

func internMethod(m string) string {
	switch m {
	case "GET":
		return http.MethodGet
	case "POST":
		return http.MethodPost
	case "HEAD":
		return http.MethodHead
	case "PUT":
		return http.MethodPut
	case "DELETE":
		return http.MethodDelete
	case "PATCH":
		return http.MethodPatch
	case "OPTIONS":
		return http.MethodOptions
	}
	return m
}
