package httpapi

import (
	"context"
	"net/http"
)

// headerSetter is a ResponseWriter that sets a header value without the
// allocation of Header().Set (a []string per value): h1server's, which
// backs the values with an array in the response.
type headerSetter interface {
	SetHeaderValue(key, value string)
}

// setHeader is w.Header().Set(key, value) for a key in canonical form.
func setHeader(w http.ResponseWriter, key, value string) {
	if hs, ok := w.(headerSetter); ok {
		hs.SetHeaderValue(key, value)
		return
	}
	w.Header().Set(key, value)
}

// trailerSetter is a ResponseWriter that sets a declared trailer outside
// the header map (h1server's): a stream's headers then fit the map's
// first eight slots, past which it grows.
type trailerSetter interface {
	SetTrailerValue(key, value string)
}

// setTrailer is w.Header().Set(key, value), after WriteHeader, for a
// trailer declared with the Trailer header.
func setTrailer(w http.ResponseWriter, key, value string) {
	if ts, ok := w.(trailerSetter); ok {
		ts.SetTrailerValue(key, value)
		return
	}
	w.Header().Set(key, value)
}

// contextSetter is a ResponseWriter whose server can give the request it
// passed to the handler a new context in place (h1server's), instead of
// WithContext's copy of the whole request.
type contextSetter interface {
	RequestWithContext(r *http.Request, ctx context.Context) *http.Request
}

// continuer is a ResponseWriter whose server can run the rest of a
// handler's work after the handler returned (h1server's Continue): a
// stream's relay then waits under few frames, and its goroutine's stack
// can shrink.
type continuer interface {
	Continue(k interface{ Continue() }) bool
}
