package router

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/octomesh/octomesh"
)

// Constraints a candidate can fail, as recorded in octomesh.Exclusion. The
// order here is the order they are checked in; a candidate records the
// first it fails.
const (
	ConstraintKeyAllowlist    = "key:allowlist"
	ConstraintChat            = "capability:chat" // an embedding model
	ConstraintStreaming       = "capability:streaming"
	ConstraintTools           = "capability:tools"
	ConstraintJSONSchema      = "capability:json_schema"
	ConstraintVision          = "capability:vision"
	ConstraintMaxOutputTokens = "max_output_tokens"
	ConstraintContextWindow   = "context_window"
	ConstraintZeroRetention   = "policy:zero_retention"
	ConstraintNoTraining      = "policy:no_training"
	ConstraintRegion          = "policy:region"
	ConstraintCostCap         = "cost_cap"
	ConstraintCoolingDown     = "cooling_down"
	ConstraintCircuitOpen     = "circuit_open"
)

// rule is a constraint as a small number, so that candidates hold no
// pointers; its order is the checking order.
type rule uint8

const (
	ruleOK rule = iota
	ruleKeyAllowlist
	ruleChat
	ruleStreaming
	ruleTools
	ruleJSONSchema
	ruleVision
	ruleMaxOutputTokens
	ruleContextWindow
	ruleZeroRetention
	ruleNoTraining
	ruleRegion
	ruleCostCap
	ruleCoolingDown
	ruleCircuitOpen
	ruleCount
)

// rules maps each rule to its constraint name and the request parameter it
// concerns.
var rules = [ruleCount]struct{ name, param string }{
	ruleKeyAllowlist:    {ConstraintKeyAllowlist, "model"},
	ruleChat:            {ConstraintChat, "model"},
	ruleStreaming:       {ConstraintStreaming, "stream"},
	ruleTools:           {ConstraintTools, "tools"},
	ruleJSONSchema:      {ConstraintJSONSchema, "response_format"},
	ruleVision:          {ConstraintVision, "messages"},
	ruleMaxOutputTokens: {ConstraintMaxOutputTokens, "max_tokens"},
	ruleContextWindow:   {ConstraintContextWindow, "messages"},
	ruleZeroRetention:   {ConstraintZeroRetention, "octomesh.zero_retention"},
	ruleNoTraining:      {ConstraintNoTraining, "octomesh.no_training"},
	ruleRegion:          {ConstraintRegion, "octomesh.regions"},
	ruleCostCap:         {ConstraintCostCap, "octomesh.max_cost_usd"},
	ruleCoolingDown:     {ConstraintCoolingDown, ""},
	ruleCircuitOpen:     {ConstraintCircuitOpen, ""},
}

func (k rule) String() string { return rules[k].name }

func (k rule) health() bool { return k == ruleCoolingDown || k == ruleCircuitOpen }

// probeBusyRetry is the Retry-After for a half-open circuit whose probe is
// in flight: the probe's outcome is expected soon.
const probeBusyRetry = time.Second

// check evaluates one candidate: the hard constraints in order, then its
// expected cost and latency, then health. It sets c.rule to the first
// constraint failed.
func (r *Router) check(c *candidate, f *facts, opts *octomesh.RouteOptions, notAllowed bool) {
	d := r.deps[c.dep]
	dd := &d.d
	caps := dd.Capabilities
	switch {
	case notAllowed:
		c.rule = ruleKeyAllowlist
	case !d.chat:
		c.rule = ruleChat
	case f.stream && !caps.Streaming:
		c.rule = ruleStreaming
	case f.tools && !caps.Tools:
		c.rule = ruleTools
	case f.schema && !caps.JSONSchema:
		c.rule = ruleJSONSchema
	case f.vision && !caps.Vision:
		c.rule = ruleVision
	case dd.MaxOutputTokens > 0 && f.maxOut > dd.MaxOutputTokens:
		c.rule, c.detail = ruleMaxOutputTokens, int64(f.maxOut)
	case dd.ContextWindow > 0 && f.estimate+f.maxOut > dd.ContextWindow:
		c.rule, c.detail = ruleContextWindow, int64(f.estimate+f.maxOut)
	// Data policy fails closed: an unknown (or unset) answer counts as yes.
	case opts.ZeroRetention && dd.DataPolicy.RetainsPrompts != octomesh.No:
		c.rule = ruleZeroRetention
	case opts.NoTraining && dd.DataPolicy.TrainsOnData != octomesh.No:
		c.rule = ruleNoTraining
	case len(opts.Regions) > 0 && (dd.Region == "" || !containsFold(opts.Regions, dd.Region)):
		c.rule = ruleRegion
	}
	if c.rule != ruleOK {
		return
	}
	out := r.expectedOutput(d, f.maxOut)
	c.cost = dd.Price.Cost(octomesh.Usage{PromptTokens: f.estimate, CompletionTokens: out})
	if f.hasCap && c.cost > f.costCap {
		c.rule = ruleCostCap
		return
	}
	c.outstanding = d.outstanding.Load()
	c.load = float64(c.outstanding) / d.weight
	c.samples = d.ttfbN.Load()
	c.latency = r.expectedLatency(d, out, c.samples)
	if cu := d.coolUntil.Load(); f.now < cu {
		c.rule, c.retryAfter = ruleCoolingDown, cu-f.now
		return
	}
	if ou := d.openUntil.Load(); ou != 0 {
		switch {
		case f.now < ou:
			c.rule, c.retryAfter = ruleCircuitOpen, ou-f.now
		case int(d.probing.Load()) >= r.cfg.Health.HalfOpenProbes:
			c.rule, c.retryAfter, c.detail = ruleCircuitOpen, int64(probeBusyRetry), 1
		default:
			c.probe = true
		}
	}
}

// expectedOutput is the completion length to expect from d: the request's
// cap if it sets one, else d's running average, else the default.
func (r *Router) expectedOutput(d *deployment, maxOut int) int {
	if maxOut > 0 {
		return maxOut
	}
	if v := d.outTokens.Load(); v > 0 {
		return int(math.Round(v))
	}
	return r.cfg.Stats.DefaultOutputTokens
}

// expectedLatency is d's expected time to a complete answer of out tokens,
// in ms: EWMA TTFB, plus TailWeight times how far p90 TTFB lies above it,
// plus generation at the EWMA token rate. Priors stand in without samples.
func (r *Router) expectedLatency(d *deployment, out int, samples int64) float64 {
	s := &r.cfg.Stats
	ttfb := float64(s.PriorTTFB) / float64(time.Millisecond)
	if samples > 0 {
		ttfb = d.ttfbEWMA.Load()
	}
	lat := ttfb
	if samples >= int64(s.MinSamples) {
		lat += s.TailWeight * max(0, d.quantiles[r.q90].Load()-ttfb)
	}
	tps := d.tps.Load()
	if tps <= 0 {
		tps = s.PriorTokensPerSecond
	}
	return lat + float64(out)/tps*1000
}

// panicFloor keeps open-circuit candidates eligible where the circuits
// would exclude too much (issue 3: "never eject every deployment"):
//
//   - In each candidate set (each requested name and each fallback is one),
//     of the n members that pass every other check at most
//     max(1, ⌊MaxEjectedFraction·n⌋) may be excluded for open circuits; the
//     least-bad others (lowest ejection level, then soonest to recover) are
//     kept and marked panic.
//   - Across the plan, if open circuits would leave no candidate at all
//     (a lone deployment, or every set ejected), the least-bad one is kept.
//     A lone deployment with healthy fallbacks is still ejected: the
//     fallbacks take its traffic. Without them it stays in service, as
//     Envoy's panic threshold and LiteLLM (#5673) keep a lone host: its
//     circuit still opens, and its half-open probe still decides when it
//     closes, but a burst of timeouts from a local overload no longer turns
//     into seconds of 503s.
//
// MaxEjectedFraction = 1 turns the floor off: every member may be excluded,
// and then the request fails fast with 503 and Retry-After. Retry-After
// cool-downs are not open circuits: the floor never overrides them, and
// members cooling down do not count in n.
func (r *Router) panicFloor(sc *scratch) {
	frac := r.cfg.Health.MaxEjectedFraction
	if frac >= 1 {
		return
	}
	anyOK := false
	for seg := range sc.targets {
		set := 0
		open := sc.tmp[:0]
		for i := range sc.cands {
			c := &sc.cands[i]
			if c.seg != seg {
				continue
			}
			switch c.rule {
			case ruleOK:
				set++
				anyOK = true
			case ruleCircuitOpen:
				set++
				open = append(open, i)
			}
		}
		maxEjected := max(1, int(math.Floor(frac*float64(set)+1e-9)))
		keep := len(open) - maxEjected
		if keep <= 0 {
			continue
		}
		r.sortLeastBad(sc, open)
		for _, ci := range open[:keep] {
			r.keep(&sc.cands[ci])
			anyOK = true
		}
	}
	if anyOK {
		return
	}
	open := sc.tmp[:0]
	for i := range sc.cands {
		if sc.cands[i].rule == ruleCircuitOpen {
			open = append(open, i)
		}
	}
	if len(open) > 0 {
		r.sortLeastBad(sc, open)
		r.keep(&sc.cands[open[0]])
	}
}

// keep marks an open-circuit candidate eligible by the panic floor.
func (r *Router) keep(c *candidate) { c.rule, c.panic, c.retryAfter = ruleOK, true, 0 }

// sortLeastBad orders candidate indexes by lessBad. Insertion sort:
// candidate sets are small.
func (r *Router) sortLeastBad(sc *scratch, idx []int) {
	for i := 1; i < len(idx); i++ {
		for j := i; j > 0 && r.lessBad(sc, idx[j], idx[j-1]); j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
}

// lessBad orders open circuits: lower ejection level first, then the one
// that recovers sooner, then config order.
func (r *Router) lessBad(sc *scratch, a, b int) bool {
	da, db := r.deps[sc.cands[a].dep], r.deps[sc.cands[b].dep]
	if la, lb := da.level.Load(), db.level.Load(); la != lb {
		return la < lb
	}
	if oa, ob := da.openUntil.Load(), db.openUntil.Load(); oa != ob {
		return oa < ob
	}
	return da.idx < db.idx
}

// reason is the human sentence for a candidate's exclusion.
func (r *Router) reason(c *candidate, f *facts) string {
	dd := &r.deps[c.dep].d
	switch c.rule {
	case ruleKeyAllowlist:
		return "the API key is not allowed to use this model"
	case ruleChat:
		return "it is an embedding model and cannot serve chat completions"
	case ruleStreaming:
		return "it does not support streaming"
	case ruleTools:
		return "it does not support tools"
	case ruleJSONSchema:
		return "it does not support json_schema response formats"
	case ruleVision:
		return "it does not accept images"
	case ruleMaxOutputTokens:
		return fmt.Sprintf("max tokens %d exceed its output limit of %d", c.detail, dd.MaxOutputTokens)
	case ruleContextWindow:
		return fmt.Sprintf("the request needs about %d tokens (prompt estimate plus max tokens); its context window is %d", c.detail, dd.ContextWindow)
	case ruleZeroRetention:
		if dd.DataPolicy.RetainsPrompts == octomesh.Yes {
			return "zero retention is required and it retains prompts"
		}
		return "zero retention is required and its retention policy is unknown (unknown fails closed)"
	case ruleNoTraining:
		if dd.DataPolicy.TrainsOnData == octomesh.Yes {
			return "no training is required and it trains on data"
		}
		return "no training is required and its training policy is unknown (unknown fails closed)"
	case ruleRegion:
		if dd.Region == "" {
			return "regions are restricted and its region is unknown"
		}
		return fmt.Sprintf("its region %q is not among the allowed regions", dd.Region)
	case ruleCostCap:
		return fmt.Sprintf("its expected cost $%s exceeds the cost cap of $%s", c.cost, f.costCap)
	case ruleCoolingDown:
		return fmt.Sprintf("it asked us to retry after %s (Retry-After)", time.Unix(0, f.now+c.retryAfter).UTC().Format(time.RFC3339Nano))
	case ruleCircuitOpen:
		if c.detail == 1 {
			return "its circuit is half-open and its probe request is in flight"
		}
		return fmt.Sprintf("its circuit is open after failures until %s", time.Unix(0, f.now+c.retryAfter).UTC().Format(time.RFC3339Nano))
	}
	return c.rule.String()
}

// noCandidate builds the error for a decision that left nothing eligible.
func (r *Router) noCandidate(model string, sc *scratch) error {
	var seen [ruleCount]bool
	health, static := false, false
	retry := int64(math.MaxInt64)
	for i := range sc.cands {
		c := &sc.cands[i]
		seen[c.rule] = true
		switch {
		case c.rule.health():
			health = true
			retry = min(retry, c.retryAfter)
		case c.rule != ruleKeyAllowlist:
			static = true
		}
	}
	names := func(keep func(rule) bool) (list, param string) {
		var b strings.Builder
		for k := ruleKeyAllowlist; k < ruleCount; k++ {
			if !seen[k] || !keep(k) {
				continue
			}
			if b.Len() > 0 {
				b.WriteString(", ")
			} else {
				param = rules[k].param
			}
			b.WriteString(rules[k].name)
		}
		return b.String(), param
	}
	switch {
	case health:
		list, _ := names(rule.health)
		e := octomesh.Errorf(octomesh.EUNAVAILABLE, "no deployment of model %q can take requests now (%s); retry after %s", clip(model), list, time.Duration(retry).Round(time.Millisecond))
		e.RetryAfter = time.Duration(retry)
		return e
	case static:
		list, param := names(func(k rule) bool { return k != ruleKeyAllowlist })
		code := octomesh.EINVALID
		if list == ConstraintContextWindow {
			code = octomesh.ECONTEXTLENGTH
		}
		return octomesh.Errorf(code, "no deployment of model %q satisfies this request: %s", clip(model), list).WithParam(param)
	default:
		return octomesh.Errorf(octomesh.EFORBIDDEN, "this API key is not allowed to use model %q", clip(model)).WithParam("model")
	}
}
