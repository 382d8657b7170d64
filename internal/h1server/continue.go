package h1server

// Continuation is what remains of a handler's work once it has returned:
// a stream's relay, which spends its life waiting for the upstream's next
// bytes.
//
// Why: a goroutine's stack is as large as its deepest call has needed (8
// KiB for a request through the API), and the runtime halves it at a
// garbage collection only while less than a quarter of it is in use, its
// guard for no-split calls (800 bytes) included. A stream that waits in
// its handler waits under the whole chain that dispatched it (about 3 KB
// of frames here: the server, the API's router and middleware, the
// handler), so its stack stays at 8 KiB; run from the connection's loop,
// with its wait in calls of their own, it waits under about 1 KB and the
// stack shrinks to 4 KiB. At 2,000 streams that is 8 MB.
//
// It is an alias of an unnamed interface, so that a handler can ask for
// Continue without importing this package.
type Continuation = interface {
	Continue()
}

// Continue asks the server to run k once the handler has returned, and
// before the answer is finished: until k returns, the response stays open
// (k may write, flush and set trailers) and the request's context lives
// on. A panic in k is the handler's. When many continuations are in
// flight (more than Server.inlineContinuations), k runs on a new
// goroutine, which then serves the connection's next requests, while the
// handler's goroutine ends: the stack that the handler's frames grew goes
// with it, and k, which may wait a long time (a stream's relay), waits on
// a stack only its own frames grew. Otherwise k runs on the handler's
// goroutine once the handler has returned.
//
// It is called from the handler's goroutine, before the handler returns,
// like WriteHeader. It reports false, keeping nothing, when the handler
// has already returned or a continuation is already set; the caller then
// runs k itself. It is for a handler whose callers do nothing after it
// returns that must wait for the answer's end: they return before k runs.
//
// When the handler panics after Continue, k does not run (the connection
// closes, as for any panic); if k has an Abandon method, it is called
// instead, so that k can let go of what it holds (a relay closes its
// upstream stream, which settles it).
func (w *response) Continue(k Continuation) bool {
	if w.cont != nil || w.returned.Load() {
		return false
	}
	w.cont = k
	return true
}
