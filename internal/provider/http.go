// Package provider holds the plumbing every provider adapter shares: a tuned
// HTTP client, request sending with bounded reads, a server-sent-events reader,
// and the normalisation of upstream failures into octomesh error codes.
//
// Adapters (internal/provider/openai, anthropic, gemini, sim) import this
// package; it imports none of them.
package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/provider/h1"
)

// HTTPOptions tune the shared upstream HTTP client.
type HTTPOptions struct {
	DialTimeout         time.Duration // TCP connect; default 5s
	TLSHandshakeTimeout time.Duration // default 5s
	// ResponseHeaderTimeout bounds the wait for response headers; 0 (the
	// default) means none: a non-streaming answer's headers come only when
	// the whole answer is ready, which can take minutes, so attempts are
	// bounded by their context deadlines (first byte, total) instead.
	ResponseHeaderTimeout time.Duration
	IdleConnTimeout       time.Duration // default 90s
	MaxIdleConnsPerHost   int           // default 256
	MaxDialsPerHost       int           // connections being opened at once to a host; default 64 (h1.Transport)
}

// NewHTTPClient returns a client for upstream calls over HTTP/1.1 (package
// h1, which costs a fraction of net/http's Transport): keep-alive pools sized
// for a gateway, bounded connect and header timeouts, no overall timeout
// (streams run long; callers bound them with contexts), no cookies, and no
// proxy taken from the environment unless allowProxyEnv is set.
func NewHTTPClient(o HTTPOptions, allowProxyEnv bool) *http.Client {
	def := func(d, v time.Duration) time.Duration {
		if d <= 0 {
			return v
		}
		return d
	}
	idle := o.MaxIdleConnsPerHost
	if idle <= 0 {
		idle = 256
	}
	t := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: def(o.DialTimeout, 5*time.Second), KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   def(o.TLSHandshakeTimeout, 5*time.Second),
		ResponseHeaderTimeout: o.ResponseHeaderTimeout,
		IdleConnTimeout:       def(o.IdleConnTimeout, 90*time.Second),
		MaxIdleConns:          idle * 4,
		MaxIdleConnsPerHost:   idle,
		ForceAttemptHTTP2:     true,
		ExpectContinueTimeout: time.Second,
	}
	fast := &h1.Transport{
		DialTimeout:           def(o.DialTimeout, 5*time.Second),
		TLSHandshakeTimeout:   t.TLSHandshakeTimeout,
		ResponseHeaderTimeout: o.ResponseHeaderTimeout,
		IdleConnTimeout:       t.IdleConnTimeout,
		MaxIdleConnsPerHost:   idle,
		MaxDialsPerHost:       o.MaxDialsPerHost,
		Fallback:              t,
	}
	if allowProxyEnv {
		t.Proxy = http.ProxyFromEnvironment
		fast.Proxy = http.ProxyFromEnvironment
	}
	return &http.Client{
		// h1 carries plain HTTP/1.1 calls on the caller's goroutine; what it
		// does not handle (proxies, unknown-length bodies) goes to t.
		Transport: fast,
		// Upstream APIs do not redirect; following one could send our
		// credentials somewhere unexpected.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// MaxErrorBody bounds how much of an upstream error body is read.
const MaxErrorBody = 64 << 10

// MaxResponseBody bounds how much of a non-streaming upstream body is read.
const MaxResponseBody = 32 << 20

// PostJSON marshals body and POSTs it to url with the given headers. On a 2xx
// response it returns the open response for the caller to read and close;
// otherwise it reads a bounded error body, closes the response, and returns
// the error produced by classify (or a generic normalisation when classify is
// nil). Transport failures are normalised too.
func PostJSON(ctx context.Context, c *http.Client, providerID, url string, header http.Header, body any, classify Classifier) (*http.Response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, octomesh.Errorf(octomesh.EINTERNAL, "encode upstream request").WithCause(err)
	}
	return PostBytes(ctx, c, providerID, url, header, b, classify)
}

// PostJSONURL is PostJSON to a URL parsed once (ParseURL), which it only
// reads.
func PostJSONURL(ctx context.Context, c *http.Client, providerID string, u *url.URL, header http.Header, body any, classify Classifier) (*http.Response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, octomesh.Errorf(octomesh.EINTERNAL, "encode upstream request").WithCause(err)
	}
	return PostBytesURL(ctx, c, providerID, u, header, b, classify)
}

// PostBytes is PostJSON with a pre-encoded body. header is only read: the
// request shares its values, so adapters pass their fixed headers without
// copying them.
func PostBytes(ctx context.Context, c *http.Client, providerID, url string, header http.Header, body []byte, classify Classifier) (*http.Response, error) {
	u, err := ParseURL(url)
	if err != nil {
		return nil, octomesh.Errorf(octomesh.EINTERNAL, "build upstream request").WithCause(err)
	}
	return PostBytesURL(ctx, c, providerID, u, header, body, classify)
}

// ParseURL parses an upstream URL as http.NewRequest does, for an adapter
// that posts to it many times (PostBytesURL).
func ParseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	u.Host = removeEmptyPort(u.Host)
	return u, nil
}

// removeEmptyPort strips an empty port ("host:"), as http.NewRequest does.
func removeEmptyPort(host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && i > strings.LastIndexByte(host, ']') {
		return strings.TrimSuffix(host, ":")
	}
	return host
}

// PostBytesURL is PostBytes to a URL parsed once (ParseURL), which it only
// reads. The request it sends is the one http.NewRequestWithContext would
// build, in fewer allocations (outRequest).
func PostBytesURL(ctx context.Context, c *http.Client, providerID string, u *url.URL, header http.Header, body []byte, classify Classifier) (*http.Response, error) {
	return post(ctx, c, providerID, u, header, body, nil, classify)
}

// PostRequestBody is PostBytesURL with a pooled body, which it takes over
// from the caller (see RequestBody): the caller must not use it after.
func PostRequestBody(ctx context.Context, c *http.Client, providerID string, u *url.URL, header http.Header, body *RequestBody, classify Classifier) (*http.Response, error) {
	// The caller's hold, unless the transport dropped it once it had sent
	// the body; readers still open keep theirs.
	defer body.dropPoster(body.use())
	return post(ctx, c, providerID, u, header, body.B, body, classify)
}

// post sends body, which rb holds when it is pooled.
func post(ctx context.Context, c *http.Client, providerID string, u *url.URL, header http.Header, body []byte, rb *RequestBody, classify Classifier) (*http.Response, error) {
	if ctx == nil {
		return nil, octomesh.Errorf(octomesh.EINTERNAL, "build upstream request").WithCause(errors.New("net/http: nil Context"))
	}
	// Operator-allowed inbound headers first, so the adapter's own headers
	// (credentials, content type, version) always win over them.
	fwd := octomesh.ForwardHeadersFrom(ctx)
	var req *http.Request
	if len(fwd) == 0 && c.Jar == nil && isJSONHeader(header) {
		// The adapter's header is the request's whole header: the request
		// shares it, as it shares the values of any adapter header. A
		// RoundTripper does not modify its request; a cookie jar would
		// (Client.Do adds its cookies to the header).
		req = newOutRequest(ctx, u, body, rb, header)
	} else {
		req = newOutRequestForwarding(ctx, u, body, rb, header, fwd)
	}
	resp, err := send(c, req)
	if err != nil {
		return nil, TransportError(ctx, providerID, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	return nil, failedResponse(providerID, resp, classify)
}

// newOutRequestForwarding is newOutRequest with a header of its own: the
// forwarded inbound headers, then the adapter's. It and failedResponse
// are apart from post so that their frames are not under every request's
// wait for its answer (see h1server's continuation).
//
//go:noinline
func newOutRequestForwarding(ctx context.Context, u *url.URL, body []byte, rb *RequestBody, header http.Header, fwd [][2]string) *http.Request {
	req := newOutRequest(ctx, u, body, rb, make(http.Header, len(fwd)+len(header)+1))
	for _, kv := range fwd {
		req.Header.Set(kv[0], kv[1])
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header["Content-Type"] = jsonContentType
	return req
}

// failedResponse reads a failed answer's body (at most MaxErrorBody) and
// classifies it.
//
//go:noinline
func failedResponse(providerID string, resp *http.Response, classify Classifier) error {
	defer resp.Body.Close()
	errBody, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody))
	if classify == nil {
		classify = Classify
	}
	return classify(providerID, resp.StatusCode, resp.Header, errBody)
}

// JSONHeader returns a copy of h with the Content-Type every post sends,
// for an adapter's fixed header: posting it then spares building a header
// for each request. The copy shares h's values.
func JSONHeader(h http.Header) http.Header {
	out := make(http.Header, len(h)+1)
	for k, v := range h {
		out[k] = v
	}
	out["Content-Type"] = jsonContentType
	return out
}

// isJSONHeader reports whether h's Content-Type is the one posts send.
func isJSONHeader(h http.Header) bool {
	ct := h["Content-Type"]
	return len(ct) == 1 && ct[0] == "application/json"
}

// jsonContentType is every request's Content-Type value, shared as the
// adapters' fixed header values are (a transport only reads them); its
// capacity is its length, so an Add cannot write into it.
var jsonContentType = []string{"application/json"}[:1:1]

// outRequest is what an upstream POST needs besides the request itself,
// in one allocation: a copy of its URL, its body's reader
// (http.NewRequestWithContext allocates each apart, and parses the URL
// every time), and room for the response's body (h1.BodyRoom). The
// response's body keeps it alive, for as long as a stream runs: its
// readers let go of the request's bytes when they are closed.
type outRequest struct {
	url    url.URL
	body   bytesBody
	pooled bodyReader // the body's reader instead, when it is pooled
	room   h1.BodyRoom
}

// bytesBody is a request body over a byte slice. Close drops the slice,
// and a Read after it fails; both are serialised, as a transport may
// close a body while another goroutine of its reads it.
type bytesBody struct {
	mu     sync.Mutex
	r      bytes.Reader
	closed bool
	room   *h1.BodyRoom
}

func (b *bytesBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, errBodyClosed
	}
	return b.r.Read(p)
}

func (b *bytesBody) Close() error {
	b.mu.Lock()
	b.closed = true
	b.r.Reset(nil)
	b.mu.Unlock()
	return nil
}

// BodyRoom lends the response's body its room (h1.BodyRoom).
func (b *bytesBody) BodyRoom() *h1.BodyRoom { return b.room }

// errBodyClosed is what a Read of a closed request body returns.
var errBodyClosed = errors.New("provider: request body read after its close")

// newOutRequest builds the POST of body to u that
// http.NewRequestWithContext(ctx, "POST", u.String(), bytes.NewReader(body))
// would, with header as its header. When rb holds body, the request's
// readers hold rb.
func newOutRequest(ctx context.Context, u *url.URL, body []byte, rb *RequestBody, header http.Header) *http.Request {
	o := &outRequest{url: *u}
	// A request's context can only be set by a copy (WithContext): the
	// template stays on the stack, and the copy is the one request made.
	tmpl := http.Request{
		Method:     http.MethodPost,
		URL:        &o.url,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     header,
		Host:       o.url.Host,
	}
	switch {
	case len(body) == 0:
		tmpl.Body = http.NoBody
		tmpl.GetBody = noBody
	case rb != nil:
		gen := rb.use()
		o.pooled.room = &o.room
		tmpl.Body = rb.reader(&o.pooled, gen)
		tmpl.ContentLength = int64(len(body))
		tmpl.GetBody = rb.getBody(gen)
	default:
		o.body.r.Reset(body)
		o.body.room = &o.room
		tmpl.Body = &o.body
		tmpl.ContentLength = int64(len(body))
		tmpl.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	return tmpl.WithContext(ctx)
}

func noBody() (io.ReadCloser, error) { return http.NoBody, nil }

// send sends req without following redirects (upstream APIs do not
// redirect; following one could carry our credentials elsewhere). A client
// without a cookie jar or an overall timeout — every client NewHTTPClient
// makes — sends through its transport directly: http.Client.Do would copy
// the request's headers on every call for redirects it is not to follow.
// Errors are wrapped in *url.Error, as Client.Do wraps them.
func send(c *http.Client, req *http.Request) (*http.Response, error) {
	if c.Jar != nil || c.Timeout != 0 {
		return c.Do(req)
	}
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, &url.Error{Op: "Post", URL: req.URL.Redacted(), Err: err}
	}
	return resp, nil
}

// ReadBody reads a bounded non-streaming response body and closes it.
func ReadBody(ctx context.Context, providerID string, resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	b, err := readAll(resp.Body, nil, resp.ContentLength, MaxResponseBody+1)
	if err != nil {
		return nil, TransportError(ctx, providerID, err)
	}
	if len(b) > MaxResponseBody {
		return nil, Upstream(providerID, octomesh.EUPSTREAM, "the provider's response is too large", resp.StatusCode)
	}
	return b, nil
}

// TransportError normalises a failure to reach or read from the upstream.
// A cancelled ctx yields the context's error unchanged (the client went away;
// nothing to report upstream); a deadline yields ETIMEOUT.
func TransportError(ctx context.Context, providerID string, err error) error {
	if ctx.Err() == context.Canceled {
		return ctx.Err()
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return Upstream(providerID, octomesh.ETIMEOUT, "the provider did not respond in time", 0).WithCause(err)
	}
	return Upstream(providerID, octomesh.EUPSTREAM, "could not reach the provider", 0).WithCause(err)
}

// BadResponse reports an upstream body that could not be understood.
func BadResponse(providerID string, err error) error {
	return Upstream(providerID, octomesh.EUPSTREAM, "the provider returned a malformed response", 0).WithCause(err)
}

// Upstream builds a client-safe upstream error.
func Upstream(providerID string, code octomesh.ErrorCode, msg string, status int) *octomesh.Error {
	return &octomesh.Error{Code: code, Message: msg, Provider: providerID, Status: status}
}
