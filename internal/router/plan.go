package router

import (
	"time"

	"github.com/octomesh/octomesh"
)

// KeyScope is what the calling API key (and its org) restricts beyond the
// merged route options.
type KeyScope struct {
	// Allowed lists the names the key may use: deployments, groups, aliases,
	// bare upstream names, or "auto" (every chat deployment). A group or
	// alias allows all its members. Empty allows everything.
	Allowed []string
}

// Plan is a routing decision the executor follows.
type Plan struct {
	// Attempts are the eligible deployments in the order to try them: the
	// requested name's members, then the explicit fallbacks', then any kept
	// by the panic floor. The executor stops after MaxAttempts attempts
	// (hedges included) and asks AllowRetry before each after the first.
	Attempts    []PlannedAttempt
	Hedge       HedgeSpec
	MaxAttempts int
	// Decision records the candidates, scores, exclusions and plan. The
	// executor fills in RequestID, OrgID, Attempts and Outcome.
	Decision *octomesh.Decision
}

// PlannedAttempt is one deployment of a plan with its timeouts.
type PlannedAttempt struct {
	// Deployment is the router's copy; it must not be modified.
	Deployment *octomesh.Deployment
	Timeouts   Timeouts
	// Probe is set when the deployment's circuit is half-open: Acquire will
	// make this attempt its probe if the probe slot is still free.
	Probe bool
	// Panic is set when the deployment's circuit is open but the panic floor
	// kept it eligible; Acquire lets it through anyway.
	Panic bool
	// LastResort is set when the plan has no other deployment and the
	// panic floor is on: Acquire lets it through whatever its circuit did
	// since Decide (opened, or its probe slot was taken), so that a
	// circuit changing state does not turn into a 503 for requests already
	// planned. A Retry-After cool-down still refuses it.
	LastResort bool
	// Fallback is set for deployments that come from the explicit
	// fallbacks rather than the requested name.
	Fallback bool

	idx int // index in Router.deps
}

// Timeouts bound one upstream attempt.
type Timeouts struct {
	// Connect bounds dialling and the TLS handshake.
	Connect time.Duration
	// FirstByte bounds the wait for the first streamed content chunk (time
	// to first token). A non-streaming upstream call has no first byte before
	// its whole answer, so bound it by Total instead.
	FirstByte time.Duration
	// Idle bounds the gap between two stream chunks.
	Idle time.Duration
	// Total bounds the whole attempt.
	Total time.Duration
}

// HedgeSpec says whether and when to hedge: if the first attempt has not
// produced its first byte After it started, and AllowHedge agrees, start the
// next attempt of the plan alongside it, take whichever answers first and
// cancel the other (ending it with Outcome.Canceled).
type HedgeSpec struct {
	Enabled bool
	After   time.Duration
}
