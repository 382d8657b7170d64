package config

import (
	"fmt"
	"math"
	"time"

	"github.com/octomesh/octomesh"
)

// Routing configures how requests are routed and executed: the default
// objective and constraints, model groups, the attempt cap, the retry and
// hedge budgets, passive health checking and per-attempt timeouts. Zero
// values take the documented defaults.
type Routing struct {
	// Defaults are every request's routing options unless a key or the
	// request narrows them.
	Defaults RouteDefaults `yaml:"defaults"`
	// MaxAttempts caps upstream attempts per request, hedges included. Default 3.
	MaxAttempts int `yaml:"max_attempts"`
	// RetryBudget caps retries across all traffic. Default ratio 0.2, 5/s minimum.
	RetryBudget Budget `yaml:"retry_budget"`
	// HedgeBudget caps hedged attempts across all traffic. Default ratio 0.1.
	HedgeBudget Budget `yaml:"hedge_budget"`
	// Health configures passive outlier detection (circuit breaking).
	Health Health `yaml:"health"`
	// Timeouts bound each upstream attempt.
	Timeouts Timeouts `yaml:"timeouts"`
	// Groups tune model groups (a group exists when a model lists it).
	Groups []Group `yaml:"groups"`
	// QualityPriors are per-model quality estimates in [0,1] for the
	// "quality" and "weighted" objectives, until the learned router predicts
	// per prompt. Default 0.5 for every model.
	QualityPriors map[string]float64 `yaml:"quality_priors"`
	// DecisionRecords is how many of the most recent requests' routing
	// decisions each node keeps in memory, for GET
	// /v1/routing/decisions/{id} and feedback. Each costs about 0.5 KB.
	// Default 20,000.
	DecisionRecords int `yaml:"decision_records"`
}

// RouteDefaults are the config layer of octomesh.RouteOptions.
type RouteDefaults struct {
	Objective     string   `yaml:"objective"`      // cheapest (default) | fastest | quality | weighted
	QualityFloor  float64  `yaml:"quality_floor"`  // for objective quality; default 0.9
	ZeroRetention bool     `yaml:"zero_retention"` // only providers that retain nothing
	NoTraining    bool     `yaml:"no_training"`    // only providers that never train on data
	Regions       []string `yaml:"regions"`        // only these regions (empty: any)
}

// Budget is a retry or hedge budget: extra attempts may be at most Ratio of
// requests, plus MinPerSecond.
type Budget struct {
	Ratio        float64 `yaml:"ratio"`
	MinPerSecond float64 `yaml:"min_per_second"`
}

// Health configures circuit breaking.
type Health struct {
	ConsecutiveFailures int           `yaml:"consecutive_failures"` // default 5
	ErrorRate           float64       `yaml:"error_rate"`           // default 0.5
	MinRequests         int           `yaml:"min_requests"`         // default 20
	Window              time.Duration `yaml:"window"`               // default 30s
	BaseEjection        time.Duration `yaml:"base_ejection"`        // default 10s
	MaxEjection         time.Duration `yaml:"max_ejection"`         // default 5m
	HalfOpenProbes      int           `yaml:"half_open_probes"`     // default 1
	MaxEjectedFraction  float64       `yaml:"max_ejected_fraction"` // default 0.5 (the panic floor: never every deployment a request could use; 1: off)
}

// Timeouts bound each upstream attempt.
type Timeouts struct {
	Connect   time.Duration `yaml:"connect"`    // default 10s
	FirstByte time.Duration `yaml:"first_byte"` // default 30s (tightens with live statistics)
	Idle      time.Duration `yaml:"idle"`       // default 30s between stream chunks
	Total     time.Duration `yaml:"total"`      // default 10m per attempt
}

// Group tunes one model group.
type Group struct {
	Name            string        `yaml:"name"`
	Strategy        string        `yaml:"strategy"`         // weighted (default) | least_outstanding | objective
	Hedge           bool          `yaml:"hedge"`            // send a second attempt when the first is slow
	HedgePercentile float64       `yaml:"hedge_percentile"` // of live time to first byte; default 0.9
	HedgeDelay      time.Duration `yaml:"hedge_delay"`      // used until live statistics exist
}

// DataPolicy is a model's data handling as its provider states it.
type DataPolicy struct {
	RetainsPrompts string        `yaml:"retains_prompts"` // yes | no | unknown (default; counts as yes)
	Retention      time.Duration `yaml:"retention"`       // how long, when it does
	TrainsOnData   string        `yaml:"trains_on_data"`  // yes | no | unknown (default; counts as yes)
}

// RouteOptions returns the defaults as octomesh.RouteOptions.
func (d RouteDefaults) RouteOptions() octomesh.RouteOptions {
	o := octomesh.RouteOptions{Objective: octomesh.Objective(d.Objective), ZeroRetention: d.ZeroRetention, NoTraining: d.NoTraining, Regions: d.Regions}
	if d.QualityFloor > 0 {
		f := d.QualityFloor
		o.QualityFloor = &f
	}
	return o
}

func tristate(s string) octomesh.Tristate {
	switch s {
	case "yes":
		return octomesh.Yes
	case "no":
		return octomesh.No
	}
	return octomesh.Unknown
}

// Policy converts to the root type.
func (p DataPolicy) Policy() octomesh.DataPolicy {
	return octomesh.DataPolicy{RetainsPrompts: tristate(p.RetainsPrompts), Retention: p.Retention, TrainsOnData: tristate(p.TrainsOnData)}
}

func (r *Routing) validate(p *problems, models map[string]bool) {
	if r.DecisionRecords < 1 || r.DecisionRecords > 10_000_000 {
		p.add("routing.decision_records", "must be between 1 and 10000000")
	}
	if !oneOf(r.Defaults.Objective, "", "cheapest", "fastest", "quality", "weighted") {
		p.add("routing.defaults.objective", "%s is not one of cheapest, fastest, quality, weighted", quoted(r.Defaults.Objective))
	}
	if f := r.Defaults.QualityFloor; f < 0 || f > 1 || math.IsNaN(f) {
		p.add("routing.defaults.quality_floor", "must be between 0 and 1")
	}
	if r.MaxAttempts < 0 || r.MaxAttempts > 10 {
		p.add("routing.max_attempts", "must be between 1 and 10 (0: default 3)")
	}
	for name, b := range map[string]Budget{"retry_budget": r.RetryBudget, "hedge_budget": r.HedgeBudget} {
		if b.Ratio < 0 || b.Ratio > 1 || math.IsNaN(b.Ratio) {
			p.add("routing."+name+".ratio", "must be between 0 and 1")
		}
		if b.MinPerSecond < 0 || math.IsNaN(b.MinPerSecond) {
			p.add("routing."+name+".min_per_second", "must not be negative")
		}
	}
	h := r.Health
	if h.ConsecutiveFailures < 0 || h.MinRequests < 0 || h.HalfOpenProbes < 0 {
		p.add("routing.health", "counts must not be negative")
	}
	if h.ErrorRate < 0 || h.ErrorRate > 1 || h.MaxEjectedFraction < 0 || h.MaxEjectedFraction > 1 {
		p.add("routing.health", "error_rate and max_ejected_fraction must be between 0 and 1")
	}
	for name, d := range map[string]time.Duration{"health.window": h.Window, "health.base_ejection": h.BaseEjection, "health.max_ejection": h.MaxEjection,
		"timeouts.connect": r.Timeouts.Connect, "timeouts.first_byte": r.Timeouts.FirstByte, "timeouts.idle": r.Timeouts.Idle, "timeouts.total": r.Timeouts.Total} {
		if d < 0 {
			p.add("routing."+name, "must not be negative")
		}
	}
	seen := map[string]bool{}
	for i, g := range r.Groups {
		f := fmt.Sprintf("routing.groups[%d]", i)
		if g.Name == "" {
			p.add(f+".name", "required")
		} else if seen[g.Name] {
			p.add(f+".name", "duplicate group %s", quoted(g.Name))
		}
		seen[g.Name] = true
		if !oneOf(g.Strategy, "", "weighted", "least_outstanding", "objective") {
			p.add(f+".strategy", "%s is not one of weighted, least_outstanding, objective", quoted(g.Strategy))
		}
		if g.HedgePercentile < 0 || g.HedgePercentile >= 1 {
			p.add(f+".hedge_percentile", "must be in [0, 1)")
		}
		if g.HedgeDelay < 0 {
			p.add(f+".hedge_delay", "must not be negative")
		}
	}
	for name, q := range r.QualityPriors {
		if q < 0 || q > 1 || math.IsNaN(q) {
			p.add("routing.quality_priors."+name, "must be between 0 and 1")
		}
	}
}

func (d DataPolicy) validate(p *problems, field string) {
	if !oneOf(d.RetainsPrompts, "", "yes", "no", "unknown") {
		p.add(field+".retains_prompts", "%s is not one of yes, no, unknown", quoted(d.RetainsPrompts))
	}
	if !oneOf(d.TrainsOnData, "", "yes", "no", "unknown") {
		p.add(field+".trains_on_data", "%s is not one of yes, no, unknown", quoted(d.TrainsOnData))
	}
	if d.Retention < 0 {
		p.add(field+".retention", "must not be negative")
	}
}
