package octomesh

import (
	"context"
	"sync/atomic"
	"time"
)

// RequestScope is a request's identity, carried in one context value: its
// id, ledger id, principal, audit actor and forwarded headers. The API
// layer attaches it once when a request arrives and fills it in as
// authentication and authorisation proceed, instead of deriving a context
// (and, with net/http, a copy of the request) for each of the five. The
// With* functions still work and take precedence: they wrap the context.
//
// A scope is filled in before the request's work begins and only read
// after that; it is not safe to change it while other goroutines read it.
type RequestScope struct {
	ID        string
	LedgerID  string // "" means ID
	Principal *Principal
	Actor     Actor
	HasActor  bool
	Forward   [][2]string

	// Start is when the request arrived, for recording one the API layer
	// refuses itself.
	Start time.Time
	// Recorded is set once the request has been counted and logged (by
	// the gateway, or by the API layer for a request it refused), so that
	// no request is counted twice.
	Recorded atomic.Bool
}

type scopeKey struct{}

// WithScope returns ctx carrying s.
func WithScope(ctx context.Context, s *RequestScope) context.Context {
	return &scopeCtx{ctx, s}
}

// NewScope returns ctx carrying a new, empty scope, and the scope: what
// WithScope does, with the context and the scope in one allocation (it runs
// for every request).
func NewScope(ctx context.Context) (context.Context, *RequestScope) {
	o := &scopeOwner{}
	o.ctx = scopeCtx{ctx, &o.scope}
	return &o.ctx, &o.scope
}

// scopeOwner holds a scope and the context carrying it.
type scopeOwner struct {
	ctx   scopeCtx
	scope RequestScope
}

// ScopeFrom returns the scope in ctx, or nil.
func ScopeFrom(ctx context.Context) *RequestScope {
	s, _ := ctx.Value(scopeKey{}).(*RequestScope)
	return s
}

// scopeCtx answers the keys of the With* functions for the fields of its
// scope that are filled in, so that context nesting decides, as with
// separate values: a With* value set inside the scope wins over it, one
// set outside it (a BaseContext, an embedding handler) loses once the
// field is filled. It answers with the scope itself, not the field, so
// that a lookup does not allocate; the accessors take either.
type scopeCtx struct {
	context.Context
	s *RequestScope
}

func (c *scopeCtx) Value(key any) any {
	s := c.s
	switch key.(type) {
	case scopeKey:
		return s
	case requestIDKey:
		if s.ID != "" {
			return s
		}
	case ledgerIDKey:
		if s.LedgerID != "" {
			return s
		}
	case principalKey:
		if s.Principal != nil {
			return s
		}
	case actorKey:
		if s.HasActor {
			return s
		}
	case forwardKey:
		if s.Forward != nil {
			return s
		}
	}
	return c.Context.Value(key)
}

// AfterFunc lets a standard context derived from this one (a WithCancel,
// WithTimeout or AfterFunc: a database driver's query watch, say) register
// with the request's context when that has an AfterFunc method, as
// h1server's has: the standard library finds no cancelCtx of its own kind
// above a scope then, and would watch the parent from a goroutine per
// derived context. (Above a standard cancelCtx, it registers there and
// does not call this.)
func (c *scopeCtx) AfterFunc(f func()) (stop func() bool) {
	if a, ok := c.Context.(interface{ AfterFunc(func()) func() bool }); ok {
		return a.AfterFunc(f)
	}
	return context.AfterFunc(c.Context, f)
}
