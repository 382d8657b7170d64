package octomesh

import "context"

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
}

type scopeKey struct{}

// WithScope returns ctx carrying s.
func WithScope(ctx context.Context, s *RequestScope) context.Context {
	return context.WithValue(ctx, scopeKey{}, s)
}

// ScopeFrom returns the scope in ctx, or nil.
func ScopeFrom(ctx context.Context) *RequestScope {
	s, _ := ctx.Value(scopeKey{}).(*RequestScope)
	return s
}
