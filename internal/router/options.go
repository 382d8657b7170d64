package router

import (
	"math"
	"slices"
	"strings"

	"github.com/octomesh/octomesh"
)

// Limits on route options.
const (
	MaxRegions   = 32
	MaxFallbacks = 8
	MaxTimeoutMS = 3_600_000 // one hour
)

// Merge layers route options: the config's defaults, then the API key's
// (with its org's), then the request's own. Preferences (objective, weights,
// quality floor, tradeoff, fallbacks) are taken from the last layer that sets
// them. Constraints only tighten: zero_retention and no_training are OR-ed,
// regions are intersected, the cost cap and the timeout take the smallest
// value set, and hedging is off if any layer turns it off. So a request
// cannot lift a constraint of its key. Every layer is validated first; the
// error is an EINVALID *octomesh.Error whose Param names the field, e.g.
// "octomesh.max_cost_usd". Regions that share no value fail (closed) with
// Param "octomesh.regions".
func Merge(defaults, key, request octomesh.RouteOptions) (octomesh.RouteOptions, error) {
	layers := [3]*octomesh.RouteOptions{&defaults, &key, &request}
	var out octomesh.RouteOptions
	var costCap octomesh.Money
	var hedgeOn, hedgeOff bool
	for _, l := range layers {
		c, hasCap, err := checkOptions(l)
		if err != nil {
			return octomesh.RouteOptions{}, err
		}
		if l.Objective != "" {
			out.Objective = l.Objective
		}
		if l.Weights != nil {
			w := *l.Weights
			out.Weights = &w
		}
		if l.QualityFloor != nil {
			v := *l.QualityFloor
			out.QualityFloor = &v
		}
		if l.Tradeoff != nil {
			v := *l.Tradeoff
			out.Tradeoff = &v
		}
		if hasCap && (out.MaxCostUSD == "" || c < costCap) {
			out.MaxCostUSD, costCap = strings.TrimSpace(l.MaxCostUSD), c
		}
		out.ZeroRetention = out.ZeroRetention || l.ZeroRetention
		out.NoTraining = out.NoTraining || l.NoTraining
		if len(l.Regions) > 0 {
			if out.Regions == nil {
				out.Regions = slices.Clone(l.Regions)
			} else {
				out.Regions = slices.DeleteFunc(out.Regions, func(have string) bool { return !containsFold(l.Regions, have) })
				if len(out.Regions) == 0 {
					return octomesh.RouteOptions{}, optErr("regions", "none of the requested regions is allowed by this API key's or the server's region policy")
				}
			}
		}
		if len(l.Fallbacks) > 0 {
			out.Fallbacks = slices.Clone(l.Fallbacks)
		}
		if l.Hedge != nil {
			if *l.Hedge {
				hedgeOn = true
			} else {
				hedgeOff = true
			}
		}
		if l.TimeoutMS > 0 && (out.TimeoutMS == 0 || l.TimeoutMS < out.TimeoutMS) {
			out.TimeoutMS = l.TimeoutMS
		}
	}
	if hedgeOff || hedgeOn {
		v := !hedgeOff
		out.Hedge = &v
	}
	return out, nil
}

// ValidateOptions checks one layer of route options, returning an EINVALID
// *octomesh.Error whose Param names the field ("octomesh.<json name>").
func ValidateOptions(o octomesh.RouteOptions) error {
	if _, _, err := checkOptions(&o); err != nil {
		return err
	}
	return nil
}

// checkOptions validates o and returns its parsed cost cap.
func checkOptions(o *octomesh.RouteOptions) (costCap octomesh.Money, hasCap bool, err *octomesh.Error) {
	switch o.Objective {
	case "", octomesh.ObjectiveCheapest, octomesh.ObjectiveFastest, octomesh.ObjectiveQuality, octomesh.ObjectiveWeighted:
	default:
		return 0, false, optErr("objective", "objective must be cheapest, fastest, quality or weighted")
	}
	if w := o.Weights; w != nil {
		ok := func(v float64) bool { return v >= 0 && v <= 1e6 && !math.IsInf(v, 0) }
		if !ok(w.Quality) || !ok(w.Cost) || !ok(w.Latency) {
			return 0, false, optErr("weights", "weights must be numbers between 0 and 1000000")
		}
		if w.Quality+w.Cost+w.Latency == 0 {
			return 0, false, optErr("weights", "at least one weight must be positive")
		}
	}
	if q := o.QualityFloor; q != nil && !(*q > 0 && *q <= 1) {
		return 0, false, optErr("quality_floor", "quality_floor must be greater than 0 and at most 1")
	}
	if t := o.Tradeoff; t != nil && !(*t >= 0 && *t <= 1) {
		return 0, false, optErr("tradeoff", "tradeoff must be between 0 and 1")
	}
	if o.MaxCostUSD != "" {
		m, perr := octomesh.ParseMoney(o.MaxCostUSD)
		if perr != nil || m < 0 {
			return 0, false, optErr("max_cost_usd", "max_cost_usd must be a non-negative decimal dollar amount such as \"0.05\"")
		}
		costCap, hasCap = m, true
	}
	if len(o.Regions) > MaxRegions {
		return 0, false, optErr("regions", "at most %d regions are allowed", MaxRegions)
	}
	for _, r := range o.Regions {
		if !validName(r, 64) {
			return 0, false, optErr("regions", "regions must be 1 to 64 characters without blanks")
		}
	}
	if len(o.Fallbacks) > MaxFallbacks {
		return 0, false, optErr("fallbacks", "at most %d fallbacks are allowed", MaxFallbacks)
	}
	for _, f := range o.Fallbacks {
		if !validName(f, 256) {
			return 0, false, optErr("fallbacks", "fallbacks must be model names of 1 to 256 characters without blanks")
		}
	}
	if o.TimeoutMS < 0 || o.TimeoutMS > MaxTimeoutMS {
		return 0, false, optErr("timeout_ms", "timeout_ms must be between 0 and %d", MaxTimeoutMS)
	}
	return costCap, hasCap, nil
}

func optErr(field, format string, args ...any) *octomesh.Error {
	return octomesh.Errorf(octomesh.EINVALID, format, args...).WithParam("octomesh." + field)
}

// validName reports whether s is 1 to n bytes without blanks or control characters.
func validName(s string, n int) bool {
	if s == "" || len(s) > n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return false
		}
	}
	return true
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
