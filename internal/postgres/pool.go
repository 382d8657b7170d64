package postgres

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// pool is a small connection pool over pgx.Conn: at most max connections,
// idle ones reused, broken ones discarded. (pgx's own pgxpool needs a
// module this build does not carry; this covers what the store needs.) It
// is safe for concurrent use.
type pool struct {
	cfg *pgx.ConnConfig
	sem chan struct{} // one token per open or opening connection

	mu     sync.Mutex
	idle   []idleConn
	closed bool
}

type idleConn struct {
	c     *pgx.Conn
	since time.Time
}

// pingAfter is how long a connection may sit idle before it is checked
// before use: the server or a proxy may have closed it meanwhile.
const pingAfter = 30 * time.Second

var errPoolClosed = errors.New("postgres: the store is closed")

func newPool(cfg *pgx.ConnConfig, max int) *pool {
	return &pool{cfg: cfg, sem: make(chan struct{}, max)}
}

// acquire returns a connection for the caller's sole use until release.
func (p *pool) acquire(ctx context.Context) (*pgx.Conn, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			<-p.sem
			return nil, errPoolClosed
		}
		if len(p.idle) == 0 {
			p.mu.Unlock()
			break
		}
		ic := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		p.mu.Unlock()
		if ic.c.IsClosed() || (time.Since(ic.since) > pingAfter && ic.c.Ping(ctx) != nil) {
			ic.c.Close(context.Background())
			continue
		}
		return ic.c, nil
	}
	c, err := pgx.ConnectConfig(ctx, p.cfg)
	if err != nil {
		<-p.sem
		return nil, err
	}
	return c, nil
}

// release returns a connection to the pool, or closes it when it is broken,
// still inside a transaction, or the pool is closed.
func (p *pool) release(c *pgx.Conn) {
	defer func() { <-p.sem }()
	p.mu.Lock()
	if p.closed || c.IsClosed() || c.PgConn().TxStatus() != 'I' {
		p.mu.Unlock()
		c.Close(context.Background())
		return
	}
	p.idle = append(p.idle, idleConn{c, time.Now()})
	p.mu.Unlock()
}

// close closes the idle connections; connections in use close on release.
func (p *pool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, ic := range idle {
		ic.c.Close(context.Background())
	}
}
