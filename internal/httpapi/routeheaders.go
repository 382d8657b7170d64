package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/octomesh/octomesh"
)

// Routing option headers, for clients that cannot add the "octomesh" object
// to a request body (e.g. an SDK that rejects unknown fields). The body's
// values win for single values; constraints (zero retention, no training)
// apply if either asks for them.
const (
	hdrObjective     = "X-Octomesh-Objective"
	hdrZeroRetention = "X-Octomesh-Zero-Retention"
	hdrNoTraining    = "X-Octomesh-No-Training"
	hdrRegions       = "X-Octomesh-Regions"   // comma-separated
	hdrFallbacks     = "X-Octomesh-Fallbacks" // comma-separated models
	hdrMaxCost       = "X-Octomesh-Max-Cost-Usd"
	hdrQualityFloor  = "X-Octomesh-Quality-Floor"
	hdrTimeoutMS     = "X-Octomesh-Timeout-Ms"
)

// applyRouteHeaders merges x-octomesh-* headers into req.Octomesh.
func applyRouteHeaders(h http.Header, req *octomesh.ChatRequest) error {
	var o octomesh.RouteOptions
	if req.Octomesh != nil {
		o = *req.Octomesh
	}
	seen := false
	get := func(name string) string {
		// The names are canonical (TestRouteHeaderNamesAreCanonical), as
		// are the keys of a parsed request's headers: a map lookup, not
		// Header.Get, which canonicalises its argument every call (eight
		// calls were 1.5% of a non-streaming request's CPU).
		var v string
		if vs := h[name]; len(vs) > 0 {
			v = strings.TrimSpace(vs[0])
		}
		if v != "" {
			seen = true
		}
		return v
	}
	bad := func(name, want string) error {
		return octomesh.Errorf(octomesh.EINVALID, "header %s must be %s", name, want).WithParam(strings.ToLower(name))
	}
	if v := get(hdrObjective); v != "" && o.Objective == "" {
		o.Objective = octomesh.Objective(v)
	}
	// Names and fields apart: a name reaches the error, and a pointer into
	// o beside it would move o to the heap with it.
	for i, name := range [2]string{hdrZeroRetention, hdrNoTraining} {
		dst := &o.ZeroRetention
		if i == 1 {
			dst = &o.NoTraining
		}
		if v := get(name); v != "" {
			t, err := strconv.ParseBool(v)
			if err != nil {
				return bad(name, "true or false")
			}
			*dst = *dst || t
		}
	}
	if v := get(hdrRegions); v != "" && len(o.Regions) == 0 {
		o.Regions = splitList(v)
	}
	if v := get(hdrFallbacks); v != "" && len(o.Fallbacks) == 0 {
		o.Fallbacks = splitList(v)
	}
	if v := get(hdrMaxCost); v != "" && o.MaxCostUSD == "" {
		if _, err := octomesh.ParseMoney(v); err != nil {
			return bad(hdrMaxCost, "a decimal dollar amount such as 0.05")
		}
		o.MaxCostUSD = v
	}
	if v := get(hdrQualityFloor); v != "" && o.QualityFloor == nil {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return bad(hdrQualityFloor, "a number in (0, 1]")
		}
		o.QualityFloor = &f
	}
	if v := get(hdrTimeoutMS); v != "" && o.TimeoutMS == 0 {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return bad(hdrTimeoutMS, "a positive integer")
		}
		o.TimeoutMS = n
	}
	if seen {
		// A copy, so that o stays on the stack for the requests without
		// these headers: the most.
		merged := o
		req.Octomesh = &merged
	}
	return nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
