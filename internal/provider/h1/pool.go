package h1

import (
	"context"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// hostPool keeps one host's idle keep-alive connections, most recently used
// last: reusing the warmest connection lets the others age out.
type hostPool struct {
	t          *Transport
	key        poolKey
	addr       string // host:port to dial
	serverName string // for TLS
	hostHeader string

	// dialing holds a token for each dial in progress: at most
	// MaxDialsPerHost.
	dialing chan struct{}
	// waiters counts requests waiting for a dial slot; put wakes one
	// through returned when a connection comes back idle.
	waiters  atomic.Int32
	returned chan struct{}

	mu     sync.Mutex
	idle   []*persistConn
	pruner *time.Timer // armed while idle is not empty
}

func newHostPool(t *Transport, k poolKey, u *url.URL) *hostPool {
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
		if k.tls {
			port = "443"
		}
	}
	return &hostPool{t: t, key: k, addr: net.JoinHostPort(host, port), serverName: host, hostHeader: u.Host,
		dialing: make(chan struct{}, t.maxDialsPerHost()), returned: make(chan struct{}, 1)}
}

// staleCheckAfter is how long a connection may sit idle before reuse is
// preceded by a liveness check: under load connections come back within
// milliseconds and skip it; after a pause a server may have closed one.
const staleCheckAfter = 250 * time.Millisecond

// get returns an idle connection (reused true) or dials a new one, once
// fewer than MaxDialsPerHost dials are in progress.
func (p *hostPool) get(ctx context.Context) (*persistConn, bool, error) {
	if pc := p.takeIdle(); pc != nil {
		return pc, true, nil
	}
	select {
	case p.dialing <- struct{}{}:
	default:
		pc, err := p.waitForDial(ctx)
		if pc != nil || err != nil {
			return pc, true, err
		}
	}
	c, err := p.t.dialAside(ctx, p.key, p.addr, p.serverName)
	<-p.dialing
	if err != nil {
		return nil, false, err
	}
	// The read buffer (4 KiB: response heads and SSE events are small, and
	// a long body passes through it, not into it) is lent: see lend.go.
	return &persistConn{pool: p, conn: c, raw: rawConnOf(c)}, false, nil
}

// waitForDial waits, with MaxDialsPerHost dials in progress, for a
// connection to come back idle (returned) or for a dial slot (nil, nil: the
// caller holds the slot and dials). It waits at most as long as a dial of
// its own could take: when the dials in progress hang (an upstream that
// drops connection attempts), the request fails as its own dial would
// have, not after the whole queue ahead of it.
func (p *hostPool) waitForDial(ctx context.Context) (*persistConn, error) {
	p.waiters.Add(1)
	defer p.waiters.Add(-1)
	// A connection put back between the caller's look and the count above
	// found no waiter to wake: look once more.
	if pc := p.takeIdle(); pc != nil {
		return pc, nil
	}
	bound := p.t.dialTimeout()
	if p.key.tls {
		bound += p.t.tlsTimeout()
	}
	t := time.NewTimer(bound)
	defer t.Stop()
	for {
		select {
		case p.dialing <- struct{}{}:
			if pc := p.takeIdle(); pc != nil {
				<-p.dialing
				return pc, nil
			}
			return nil, nil
		case <-p.returned:
			if pc := p.takeIdle(); pc != nil {
				return pc, nil
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
			return nil, &dialWaitTimeout{addr: p.addr, after: bound}
		}
	}
}

// dialWaitTimeout is a request's failure to get a dial slot within a
// dial's time. It is a timeout (net.Error), as the dial's own would be.
type dialWaitTimeout struct {
	addr  string
	after time.Duration
}

func (e *dialWaitTimeout) Error() string {
	return "h1: dial " + e.addr + ": no connection after " + e.after.String() + " waiting for the dials in progress"
}
func (e *dialWaitTimeout) Timeout() bool   { return true }
func (e *dialWaitTimeout) Temporary() bool { return true }

// takeIdle returns the most recently used idle connection still fit for a
// request, or nil.
func (p *hostPool) takeIdle() *persistConn {
	now := time.Now()
	for {
		p.mu.Lock()
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			return nil
		}
		pc := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		idleFor := now.Sub(pc.idleSince)
		if idleFor >= p.t.idleTimeout() || (idleFor >= staleCheckAfter && !pc.alive()) {
			pc.conn.Close()
			continue
		}
		return pc
	}
}

// put returns a connection whose response was read to its end. Bytes
// already buffered past that end (a wrong Content-Length, a body after a
// 204) would be read as the next request's response: such a connection is
// closed instead.
func (p *hostPool) put(pc *persistConn) {
	if pc.buffered() > 0 || pc.stashErr != nil {
		pc.conn.Close()
		return
	}
	pc.parkReader()
	pc.idleSince = time.Now()
	p.mu.Lock()
	if len(p.idle) >= p.t.maxIdlePerHost() {
		p.mu.Unlock()
		pc.conn.Close()
		return
	}
	p.idle = append(p.idle, pc)
	if p.pruner == nil {
		p.pruner = time.AfterFunc(p.t.idleTimeout(), p.prune)
	}
	p.mu.Unlock()
	if p.waiters.Load() > 0 {
		select {
		case p.returned <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}

// prune closes connections idle longer than the timeout; it runs while the
// pool has idle connections, so none is held open for ever.
func (p *hostPool) prune() {
	timeout := p.t.idleTimeout()
	now := time.Now()
	var expired []*persistConn
	p.mu.Lock()
	keep := p.idle[:0]
	for _, pc := range p.idle {
		if now.Sub(pc.idleSince) >= timeout {
			expired = append(expired, pc)
		} else {
			keep = append(keep, pc)
		}
	}
	clear(p.idle[len(keep):])
	p.idle = keep
	if len(p.idle) > 0 {
		p.pruner.Reset(timeout - now.Sub(p.idle[0].idleSince))
	} else {
		p.pruner = nil
	}
	p.mu.Unlock()
	for _, pc := range expired {
		pc.conn.Close()
	}
}

func (p *hostPool) closeIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	if p.pruner != nil {
		p.pruner.Stop()
		p.pruner = nil
	}
	p.mu.Unlock()
	for _, pc := range idle {
		pc.conn.Close()
	}
}
