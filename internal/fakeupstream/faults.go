package fakeupstream

import (
	"context"
	"math"
	"net/http"
	"time"
)

// This file holds the fault modes resilience tests need beyond FailNext and
// CutStreamAfter: a connection reset before headers, an upstream that never
// answers, persistent and partial outages, a stream that pauses (a slow
// first token, a stall, a finished answer held open without its
// terminator), injected raw bytes (a malformed chunk), and a record of the
// moments clients went away while the fake was holding a response open.

// failKind says how a queued failure misbehaves.
type failKind uint8

const (
	failStatus failKind = iota // an HTTP error response (FailNext)
	failReset                  // close the connection before any response byte
	failHang                   // send nothing until the client goes away
)

// outage is a persistent failure: a fraction of requests, spread evenly,
// fail with f until Recover.
type outage struct {
	fraction float64
	f        failure
	n        uint64 // requests seen during the outage
}

// pause holds the next stream after some events.
type pause struct {
	after int
	d     time.Duration
}

// injection writes raw bytes into the next stream after some events.
type injection struct {
	after int
	raw   string
}

// disconnectBuffer is how many client disconnects Disconnects holds.
const disconnectBuffer = 1024

// ResetNext makes the next request's connection close before any response
// byte: the fake reads the request, then hijacks the connection and closes
// it, as a crashing upstream or a dropped load-balancer connection does.
// Each call queues one fault, in order with FailNext and HangNext.
func (s *Server) ResetNext() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails = append(s.fails, failure{kind: failReset})
}

// HangNext makes the next request get no response at all: the fake reads
// it and then sends nothing — not even headers — until the client goes
// away (recorded, see Disconnects) or the server closes. Each call queues
// one fault, in order with FailNext and ResetNext.
func (s *Server) HangNext() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails = append(s.fails, failure{kind: failHang})
}

// FailAlways makes every request fail with status, the given body (the
// provider's own error body for status when body is empty) and extra
// headers, until Recover. Queued faults (FailNext, ResetNext, HangNext)
// are served first.
func (s *Server) FailAlways(status int, body string, headers map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = &outage{fraction: 1, f: failure{status: status, body: body, headers: headers}}
}

// FailFraction makes a fraction in (0, 1] of requests fail with status and
// the provider's error body, until Recover. Failures are spread evenly and
// deterministically: with 0.5 every second request fails, starting with the
// second; with 1 every request does.
func (s *Server) FailFraction(fraction float64, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = &outage{fraction: min(max(fraction, 0), 1), f: failure{status: status}}
}

// Recover ends FailAlways and FailFraction. Queued faults stay queued.
func (s *Server) Recover() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = nil
}

// PauseStreamAfter makes the next streamed answer send its headers and n
// events, then nothing for d — or until the client goes away (recorded, see
// Disconnects) or the server closes —, then the rest. n = 0 pauses before
// the first event (a slow first token); n at or past the number of events
// holds the connection open after the last one. With CutStreamAfter, n
// counts the events left after the cut, so CutStreamAfter(k) plus
// PauseStreamAfter(k, d) holds a truncated stream open.
func (s *Server) PauseStreamAfter(n int, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pause = &pause{after: max(n, 0), d: d}
}

// InjectStreamAfter makes the next streamed answer write raw, as is (e.g.
// "data: {broken\n\n" for a malformed chunk), after n events, then go on
// with the rest.
func (s *Server) InjectStreamAfter(n int, raw string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inject = &injection{after: max(n, 0), raw: raw}
}

// StrictPrefill makes an Anthropic fake reject, as the real Messages API
// does, a request whose final assistant message (a prefill, such as a
// continuation) ends in whitespace: 400 invalid_request_error "messages:
// final assistant content cannot end with trailing whitespace". Other
// fakes ignore it.
func (s *Server) StrictPrefill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.strict = true
}

func (s *Server) strictPrefill() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.strict
}

// Disconnects receives the time at which the fake saw a client go away while
// it held a response open (HangNext, PauseStreamAfter) or could no longer
// write a stream to it. It is buffered; disconnects beyond its capacity are
// dropped.
func (s *Server) Disconnects() <-chan time.Time { return s.gone }

// noteDisconnect records that a client went away now.
func (s *Server) noteDisconnect() {
	select {
	case s.gone <- time.Now():
	default:
	}
}

// nextFailure returns the failure this request suffers: the next queued
// one, else the outage's when this request falls in its fraction.
func (s *Server) nextFailure() (failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fails) > 0 {
		f := s.fails[0]
		s.fails = s.fails[1:]
		return f, true
	}
	if o := s.down; o != nil {
		k := float64(o.n)
		o.n++
		if math.Floor((k+1)*o.fraction+1e-9) > math.Floor(k*o.fraction+1e-9) {
			return o.f, true
		}
	}
	return failure{}, false
}

// takeStreamFaults returns the pause and injection scripted for this
// stream (nil when none) and clears them.
func (s *Server) takeStreamFaults() (*pause, *injection) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, in := s.pause, s.inject
	s.pause, s.inject = nil, nil
	return p, in
}

// misbehave serves a queued failure of any kind.
func (s *Server) misbehave(w http.ResponseWriter, r *http.Request, f failure) {
	switch f.kind {
	case failReset:
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic("fakeupstream: ResetNext needs an HTTP/1 connection")
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			panic(err)
		}
		conn.Close()
	case failHang:
		s.hold(r.Context(), 0)
	default:
		s.writeFailure(w, f)
	}
}

// hold waits for d (0: indefinitely) and reports whether the response may go
// on: it returns false when the client went away (recorded) or the server
// is closing.
func (s *Server) hold(ctx context.Context, d time.Duration) bool {
	var timeout <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ctx.Done():
		s.noteDisconnect()
		return false
	case <-s.quit:
		return false
	case <-timeout:
		return true
	}
}

// requestWriter carries the request's context to the stream writers, whose
// signatures predate the fault modes.
type requestWriter struct {
	http.ResponseWriter
	ctx context.Context
}

// Unwrap lets http.ResponseController reach the real writer (to flush).
func (w requestWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// contextOf returns the request context of a writer the server wrapped.
func contextOf(w http.ResponseWriter) context.Context {
	if rw, ok := w.(requestWriter); ok {
		return rw.ctx
	}
	return context.Background()
}
