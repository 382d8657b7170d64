package router

import (
	"fmt"
	"math"
	"time"

	"github.com/octomesh/octomesh"
)

// AutoModel is the reserved model name that asks the router to choose among
// every chat deployment.
const AutoModel = "auto"

// Load-balancing strategies of a group.
const (
	StrategyWeighted         = "weighted"          // weighted random by Deployment.Weight
	StrategyLeastOutstanding = "least_outstanding" // power of two choices on outstanding requests per weight
	StrategyObjective        = "objective"         // rank members by the request's objective
)

// Config is the router's catalogue and tuning. Zero fields take the defaults
// documented on each field (see DefaultConfig).
type Config struct {
	// Deployments are the routable models. Names must be unique and not
	// reserved ("auto").
	Deployments []octomesh.Deployment
	// Aliases map extra public names to a deployment or a group.
	Aliases map[string]string
	// Groups tune model groups. A group exists when a deployment lists it in
	// Deployment.Groups; groups without settings load-balance by weight and
	// do not hedge.
	Groups []GroupConfig
	// Defaults are the config's route options (the first layer of Merge).
	Defaults octomesh.RouteOptions

	// MaxAttempts caps upstream attempts per request, hedges included. Default 3.
	MaxAttempts int
	// RetryBudget caps retries across all requests. Default {0.2, 5, 100}.
	RetryBudget BudgetConfig
	// HedgeBudget caps hedged attempts across all requests. Default {0.1, 0, 100}.
	HedgeBudget BudgetConfig
	// Health configures passive outlier detection.
	Health HealthConfig
	// Timeouts configures per-attempt timeouts.
	Timeouts TimeoutConfig
	// Stats configures the live statistics and their priors.
	Stats StatsConfig

	// QualityPriors are static per-deployment quality priors in [0,1] used by
	// the default QualityPredictor. Missing deployments get DefaultQuality.
	QualityPriors map[string]float64
	// DefaultQuality is the prior for deployments without one. Default 0.5.
	DefaultQuality float64
	// Quality predicts per-prompt quality. Default: the static priors.
	Quality QualityPredictor

	// Now is the clock. Default time.Now.
	Now octomesh.Clock
	// Rand returns uniform numbers in [0,1) for load balancing and tie
	// breaks. It must be safe for concurrent use if Decide is called
	// concurrently. Default math/rand/v2.Float64.
	Rand func() float64
}

// GroupConfig tunes one model group.
type GroupConfig struct {
	Name string
	// Hedge enables hedged attempts for requests that name this group.
	Hedge bool
	// HedgePercentile is the primary's time-to-first-byte percentile after
	// which a hedge is sent, e.g. 0.9. Default 0.9.
	HedgePercentile float64
	// HedgeDelay is used instead of the percentile until the primary has
	// Stats.MinSamples samples; 0 means no hedging until then.
	HedgeDelay time.Duration
	// Strategy orders the group's members: "weighted" (default),
	// "least_outstanding" (power of two choices) or "objective".
	Strategy string
}

// BudgetConfig is a token bucket that lets extra attempts (retries or
// hedges) be at most Ratio of admitted requests, plus MinPerSecond always.
type BudgetConfig struct {
	// Ratio is extra attempts allowed per admitted request, e.g. 0.2.
	Ratio float64
	// MinPerSecond extra attempts are allowed each second regardless of
	// traffic, so a quiet gateway can still retry.
	MinPerSecond float64
	// Burst is the most ratio-earned attempts the bucket banks. Default 100.
	Burst float64
}

// HealthConfig configures passive outlier detection and circuit breaking.
type HealthConfig struct {
	// ConsecutiveFailures opens the circuit. Default 5.
	ConsecutiveFailures int
	// ErrorRate opens the circuit when at least MinRequests outcomes in the
	// last Window failed at this rate or more. Default 0.5.
	ErrorRate float64
	// MinRequests is the least outcomes in Window before ErrorRate applies. Default 20.
	MinRequests int
	// Window is the error-rate window. Default 30s.
	Window time.Duration
	// BaseEjection is the first ejection's length; each re-ejection doubles
	// it, up to MaxEjection. Default 10s and 5m. A deployment that stays
	// healthy for MaxEjection starts again from BaseEjection.
	BaseEjection time.Duration
	MaxEjection  time.Duration
	// HalfOpenProbes is how many requests a half-open circuit lets through
	// at once. Default 1.
	HalfOpenProbes int
	// MaxEjectedFraction is the panic floor: of a candidate set of n
	// deployments, at most max(1, ⌊fraction·n⌋) may be excluded for open
	// circuits, and when that leaves the plan no candidate at all the
	// least-bad one is kept (marked panic): a lone deployment without
	// fallbacks is never ejected. Default 0.5. Set 1 to disable the floor:
	// every member may be ejected, and requests then fail fast with 503
	// and Retry-After.
	MaxEjectedFraction float64
}

// TimeoutConfig configures per-attempt timeouts.
type TimeoutConfig struct {
	// Connect bounds dialling and TLS. Default 10s.
	Connect time.Duration
	// FirstByte bounds the wait for the first streamed chunk. Default 30s.
	// With at least Stats.MinSamples samples it tightens to
	// FirstByteFactor × p99(TTFB), no lower than FirstByteFloor.
	FirstByte       time.Duration
	FirstByteFloor  time.Duration // default 2s
	FirstByteFactor float64       // default 3
	// PrefillPer1k is added to the tightened bound per 1,000 prompt
	// tokens of the request (default 200ms: 5,000 tokens a second, slow
	// for a large model). The deployment's TTFB reflects its usual
	// prompts; a long one takes longer to prefill, and must not be cut at
	// a bound learned from short ones.
	PrefillPer1k time.Duration
	// Idle bounds the gap between stream chunks. Default 30s.
	Idle time.Duration
	// Total bounds one attempt. Default 10m; a request's timeout_ms lowers it.
	Total time.Duration
}

// StatsConfig configures the live statistics.
type StatsConfig struct {
	// Alpha is the EWMA weight of a new sample. Default 0.2.
	Alpha float64
	// MinSamples is how many TTFB samples percentiles need before they are
	// used (hedging, adaptive first-byte timeouts, the latency tail). Default 20.
	MinSamples int
	// PriorTTFB and PriorTokensPerSecond stand in for deployments without
	// samples. Defaults 1s and 50.
	PriorTTFB            time.Duration
	PriorTokensPerSecond float64
	// DefaultOutputTokens is the expected completion length before a
	// deployment has samples, when the request sets no max_tokens. Default 256.
	DefaultOutputTokens int
	// TailWeight weighs the p90 TTFB excess over the EWMA in the fastest
	// objective's expected latency. Default 0.5.
	TailWeight float64
}

// DefaultConfig returns the tuning defaults with no deployments.
func DefaultConfig() Config {
	c := Config{}
	c.setDefaults()
	return c
}

func (c *Config) setDefaults() {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	deff := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	defi := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defi(&c.MaxAttempts, 3)
	if c.RetryBudget == (BudgetConfig{}) {
		c.RetryBudget = BudgetConfig{Ratio: 0.2, MinPerSecond: 5}
	}
	if c.HedgeBudget == (BudgetConfig{}) {
		c.HedgeBudget = BudgetConfig{Ratio: 0.1}
	}
	deff(&c.RetryBudget.Burst, 100)
	deff(&c.HedgeBudget.Burst, 100)
	h := &c.Health
	defi(&h.ConsecutiveFailures, 5)
	deff(&h.ErrorRate, 0.5)
	defi(&h.MinRequests, 20)
	def(&h.Window, 30*time.Second)
	def(&h.BaseEjection, 10*time.Second)
	def(&h.MaxEjection, 5*time.Minute)
	defi(&h.HalfOpenProbes, 1)
	deff(&h.MaxEjectedFraction, 0.5)
	t := &c.Timeouts
	def(&t.Connect, 10*time.Second)
	def(&t.FirstByte, 30*time.Second)
	def(&t.FirstByteFloor, 2*time.Second)
	deff(&t.FirstByteFactor, 3)
	def(&t.PrefillPer1k, 200*time.Millisecond)
	def(&t.Idle, 30*time.Second)
	def(&t.Total, 10*time.Minute)
	s := &c.Stats
	deff(&s.Alpha, 0.2)
	defi(&s.MinSamples, 20)
	def(&s.PriorTTFB, time.Second)
	deff(&s.PriorTokensPerSecond, 50)
	defi(&s.DefaultOutputTokens, 256)
	deff(&s.TailWeight, 0.5)
	deff(&c.DefaultQuality, 0.5)
}

// validate checks the tuning (after defaults). Catalogue problems are
// reported by New.
func (c *Config) validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("router config: %s %s", field, fmt.Sprintf(format, args...))
	}
	frac := func(v float64) bool { return v > 0 && v <= 1 && !math.IsNaN(v) }
	if c.MaxAttempts < 1 || c.MaxAttempts > 10 {
		return bad("max_attempts", "must be between 1 and 10")
	}
	for _, b := range []struct {
		name string
		b    BudgetConfig
	}{{"retry_budget", c.RetryBudget}, {"hedge_budget", c.HedgeBudget}} {
		if !(b.b.Ratio >= 0 && b.b.Ratio <= 10) || !(b.b.MinPerSecond >= 0 && b.b.MinPerSecond <= 1e6) || !(b.b.Burst >= 1 && b.b.Burst <= 1e9) {
			return bad(b.name, "needs 0 ≤ ratio ≤ 10, 0 ≤ min_per_second ≤ 1e6 and 1 ≤ burst ≤ 1e9")
		}
	}
	h := c.Health
	switch {
	case h.ConsecutiveFailures < 1:
		return bad("health.consecutive_failures", "must be at least 1")
	case !frac(h.ErrorRate):
		return bad("health.error_rate", "must be in (0,1]")
	case h.MinRequests < 1:
		return bad("health.min_requests", "must be at least 1")
	case h.Window < 10*time.Millisecond:
		return bad("health.window", "must be at least 10ms")
	case h.BaseEjection <= 0 || h.MaxEjection < h.BaseEjection:
		return bad("health.base_ejection", "must be positive and at most health.max_ejection")
	case h.HalfOpenProbes < 1:
		return bad("health.half_open_probes", "must be at least 1")
	case !(h.MaxEjectedFraction >= 0 && h.MaxEjectedFraction <= 1):
		return bad("health.max_ejected_fraction", "must be in [0,1]")
	}
	t := c.Timeouts
	if t.Connect < 0 || t.FirstByte < 0 || t.FirstByteFloor < 0 || t.PrefillPer1k < 0 || t.Idle < 0 || t.Total <= 0 || !(t.FirstByteFactor > 0) {
		return bad("timeouts", "must not be negative, total must be positive and first_byte_factor positive")
	}
	s := c.Stats
	switch {
	case !frac(s.Alpha):
		return bad("stats.alpha", "must be in (0,1]")
	case s.MinSamples < 1 || s.MinSamples > ttfbWindow:
		return bad("stats.min_samples", "must be between 1 and %d", ttfbWindow)
	case s.PriorTTFB <= 0 || !(s.PriorTokensPerSecond > 0):
		return bad("stats.prior_ttfb", "and stats.prior_tokens_per_second must be positive")
	case s.DefaultOutputTokens < 1:
		return bad("stats.default_output_tokens", "must be at least 1")
	case !(s.TailWeight >= 0 && s.TailWeight <= 10):
		return bad("stats.tail_weight", "must be between 0 and 10")
	}
	if !(c.DefaultQuality >= 0 && c.DefaultQuality <= 1) {
		return bad("default_quality", "must be in [0,1]")
	}
	for name, q := range c.QualityPriors {
		if !(q >= 0 && q <= 1) {
			return bad("quality_priors", "%q must be in [0,1]", name)
		}
	}
	return nil
}
