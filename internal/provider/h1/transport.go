// Package h1 is the upstream HTTP/1.1 transport: an http.RoundTripper that
// writes the request and reads the response on the caller's goroutine over a
// pool of keep-alive connections.
//
// Why not net/http's Transport: it runs two goroutines per connection (a
// read loop and a write loop) and hands every request and response between
// them over channels. On a 2-core machine that hand-off, not the network,
// dominated the gateway's cost: a minimal httputil.ReverseProxy reached 28%
// of nginx's throughput, and the same proxy with this design 78%
// (`octomesh bench --scenarios nonstream`). Provider APIs are plain
// request/response or SSE over HTTP/1.1, so the subset needed is small.
//
// What it does not do, it hands to the Fallback transport: requests through
// a proxy, schemes other than http and https, and bodies of unknown length.
// It speaks only HTTP/1.1 (ALPN "http/1.1" on TLS), never asks for
// compression, and never retries a request that may have reached the server
// (the gateway's own retries decide that).
package h1

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/octomesh/octomesh/internal/cancelctx"
)

// Transport is an HTTP/1.1 RoundTripper. Its zero value is usable; set the
// fields before first use.
type Transport struct {
	// DialTimeout bounds the TCP connect (default 5s).
	DialTimeout time.Duration
	// TLSHandshakeTimeout bounds the TLS handshake (default 5s).
	TLSHandshakeTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for the response's head after
	// the request is written; 0 means none (contexts bound attempts).
	ResponseHeaderTimeout time.Duration
	// IdleConnTimeout closes a keep-alive connection idle this long
	// (default 90s).
	IdleConnTimeout time.Duration
	// MaxIdleConnsPerHost caps the idle pool of each host (default 256).
	MaxIdleConnsPerHost int
	// MaxDialsPerHost caps the connections being opened to each host at
	// once (default 64); a request beyond it waits for a connection to
	// come back idle or for a dial to end (then dials), at most as long
	// as a dial may take (DialTimeout, plus TLSHandshakeTimeout for TLS).
	// Why: a burst of new streams (2,000 clients starting together)
	// otherwise dials as many connections at once, each on a goroutine
	// whose stack the dial grows to 8 KiB, and the gateway's memory peaks
	// there. The rate is 64 over a dial's duration: about 300 connections
	// a second to a TLS 1.3 upstream 100 ms away (a connect and a
	// handshake, two round trips).
	MaxDialsPerHost int
	// MaxResponseHeaderBytes bounds a response's status line and headers
	// (default 1 MiB).
	MaxResponseHeaderBytes int
	// TLSClientConfig is cloned for each TLS connection (nil: defaults).
	TLSClientConfig *tls.Config
	// Proxy, when set and returning a URL for a request, sends that request
	// through Fallback.
	Proxy func(*http.Request) (*url.URL, error)
	// Fallback carries what this transport does not (see the package
	// comment). Nil means http.DefaultTransport.
	Fallback http.RoundTripper

	mu    sync.Mutex
	pools map[poolKey]*hostPool
}

type poolKey struct {
	tls  bool
	host string // URL.Host as given
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.handles(req) {
		return t.fallback().RoundTrip(req)
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		closeBody(req)
		return nil, err
	}
	pool := t.pool(req.URL)
	// Taken before the first attempt: a resend's body, from GetBody, is
	// another reader, and the room of a failed attempt is still unused.
	room := roomOf(req)
	for {
		pc, reused, err := pool.get(ctx)
		if err != nil {
			closeBody(req)
			return nil, err
		}
		resp, err := pc.roundTrip(req, reused, room)
		if err == nil {
			return resp, nil
		}
		// A reused connection the server had already closed fails before a
		// single byte of the request left; only then is a second try safe.
		if reused && errors.Is(err, errNothingWritten) && req.GetBody != nil && ctx.Err() == nil {
			body, gerr := req.GetBody()
			if gerr == nil {
				r2 := *req
				r2.Body = body
				req = &r2
				continue
			}
		}
		closeBody(req)
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, err
	}
}

// CloseIdleConnections closes every idle connection (http.Client calls it).
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	pools := make([]*hostPool, 0, len(t.pools))
	for _, p := range t.pools {
		pools = append(pools, p)
	}
	t.mu.Unlock()
	for _, p := range pools {
		p.closeIdle()
	}
	if ci, ok := t.Fallback.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// handles reports whether req is for this transport rather than Fallback.
func (t *Transport) handles(req *http.Request) bool {
	u := req.URL
	if u == nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	if req.Body != nil && req.Body != http.NoBody && req.ContentLength <= 0 {
		return false // unknown length: chunked request bodies are Fallback's
	}
	if req.Header.Get("Upgrade") != "" {
		return false
	}
	if t.Proxy != nil {
		if p, err := t.Proxy(req); err != nil || p != nil {
			return false
		}
	}
	return true
}

func (t *Transport) fallback() http.RoundTripper {
	if t.Fallback != nil {
		return t.Fallback
	}
	return http.DefaultTransport
}

func (t *Transport) pool(u *url.URL) *hostPool {
	k := poolKey{tls: u.Scheme == "https", host: u.Host}
	t.mu.Lock()
	p := t.pools[k]
	if p == nil {
		if t.pools == nil {
			t.pools = make(map[poolKey]*hostPool)
		}
		p = newHostPool(t, k, u)
		t.pools[k] = p
	}
	t.mu.Unlock()
	return p
}

func (t *Transport) dialTimeout() time.Duration { return def(t.DialTimeout, 5*time.Second) }
func (t *Transport) tlsTimeout() time.Duration  { return def(t.TLSHandshakeTimeout, 5*time.Second) }
func (t *Transport) idleTimeout() time.Duration { return def(t.IdleConnTimeout, 90*time.Second) }
func (t *Transport) maxHeaderBytes() int        { return defInt(t.MaxResponseHeaderBytes, 1<<20) }
func (t *Transport) maxIdlePerHost() int        { return defInt(t.MaxIdleConnsPerHost, 256) }
func (t *Transport) maxDialsPerHost() int       { return defInt(t.MaxDialsPerHost, 64) }
func def(d, v time.Duration) time.Duration {
	if d <= 0 {
		return v
	}
	return d
}

func defInt(n, v int) int {
	if n <= 0 {
		return v
	}
	return n
}

// dialAside dials on a goroutine of its own. Dialling, and a TLS handshake
// more so, goes deeper than anything else a request does: on the caller's
// goroutine it grew the stack of a handler starting a stream from 8 to 16
// KiB, which the handler then kept while it waited for the stream's tokens
// (until a GC shrank it). A new connection costs a dial; one goroutine more
// is noise beside it.
func (t *Transport) dialAside(ctx context.Context, k poolKey, addr, serverName string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	// The dial has a context of its own under the request's: what it
	// derives (the dialer's deadline, the connect's watch) registers
	// there and goes with it. On the request's own, a cancelctx.Ctx (the
	// gateway's attempt), it would make the Done channel that the stream
	// then held for its whole life.
	dctx := cancelctx.New(ctx)
	defer dctx.Cancel(nil)
	done := make(chan result, 1)
	go func() {
		c, err := t.dial(dctx, k, addr, serverName)
		done <- result{c, err}
	}()
	r := <-done // dial returns when ctx ends
	return r.c, r.err
}

// dial opens a new connection to the pool's host, TLS included.
func (t *Transport) dial(ctx context.Context, k poolKey, addr, serverName string) (net.Conn, error) {
	d := net.Dialer{Timeout: t.dialTimeout(), KeepAlive: 30 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if !k.tls {
		return c, nil
	}
	cfg := &tls.Config{}
	if t.TLSClientConfig != nil {
		cfg = t.TLSClientConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = serverName
	}
	cfg.NextProtos = []string{"http/1.1"}
	tc := tls.Client(c, cfg)
	hctx, cancel := context.WithTimeout(ctx, t.tlsTimeout())
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		c.Close()
		return nil, err
	}
	return tc, nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
