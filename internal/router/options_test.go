package router

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
)

func TestMergeOnlyTightens(t *testing.T) {
	type O = octomesh.RouteOptions
	tests := []struct {
		name                  string
		defaults, key, req, w O
	}{
		{
			name: "request cannot lift the key's zero retention or no training",
			key:  O{ZeroRetention: true, NoTraining: true},
			req:  O{ZeroRetention: false, NoTraining: false},
			w:    O{ZeroRetention: true, NoTraining: true},
		},
		{
			name: "request can add constraints",
			req:  O{ZeroRetention: true},
			w:    O{ZeroRetention: true},
		},
		{
			name:     "regions are intersected, case-insensitively, keeping the first spelling",
			defaults: O{Regions: []string{"eu-west-1", "us-east-1", "ap-1"}},
			key:      O{Regions: []string{"US-EAST-1", "eu-west-1"}},
			req:      O{Regions: []string{"us-east-1"}},
			w:        O{Regions: []string{"us-east-1"}},
		},
		{
			name: "an unrestricted layer does not widen regions",
			key:  O{Regions: []string{"eu"}},
			w:    O{Regions: []string{"eu"}},
		},
		{
			name:     "the smallest cost cap and timeout win",
			defaults: O{MaxCostUSD: "1", TimeoutMS: 60_000},
			key:      O{MaxCostUSD: "0.05"},
			req:      O{MaxCostUSD: "0.5", TimeoutMS: 90_000},
			w:        O{MaxCostUSD: "0.05", TimeoutMS: 60_000},
		},
		{
			name: "hedging off anywhere stays off",
			key:  O{Hedge: ptr(false)},
			req:  O{Hedge: ptr(true)},
			w:    O{Hedge: ptr(false)},
		},
		{
			name: "hedging on when asked and nobody forbids it",
			req:  O{Hedge: ptr(true)},
			w:    O{Hedge: ptr(true)},
		},
		{
			name:     "preferences come from the last layer that sets them",
			defaults: O{Objective: octomesh.ObjectiveCheapest, QualityFloor: ptr(0.8), Fallbacks: []string{"a"}},
			key:      O{Objective: octomesh.ObjectiveQuality, Tradeoff: ptr(0.3)},
			req:      O{Objective: octomesh.ObjectiveFastest, Weights: &octomesh.Weights{Quality: 1}, Fallbacks: []string{"b", "c"}},
			w: O{Objective: octomesh.ObjectiveFastest, QualityFloor: ptr(0.8), Tradeoff: ptr(0.3),
				Weights: &octomesh.Weights{Quality: 1}, Fallbacks: []string{"b", "c"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Merge(tt.defaults, tt.key, tt.req)
			if err != nil {
				t.Fatalf("Merge: %v", err)
			}
			if diff := cmp.Diff(tt.w, got); diff != "" {
				t.Errorf("Merge (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMergeDoesNotAlias(t *testing.T) {
	key := octomesh.RouteOptions{Regions: []string{"eu", "us"}, Weights: &octomesh.Weights{Cost: 1}}
	got, err := Merge(octomesh.RouteOptions{}, key, octomesh.RouteOptions{Regions: []string{"us"}})
	if err != nil {
		t.Fatal(err)
	}
	got.Weights.Cost = 5
	if !cmp.Equal(key.Regions, []string{"eu", "us"}) || key.Weights.Cost != 1 {
		t.Errorf("Merge modified its input: %+v", key)
	}
}

func TestMergeValidates(t *testing.T) {
	type O = octomesh.RouteOptions
	long := make([]string, MaxFallbacks+1)
	for i := range long {
		long[i] = "m"
	}
	tests := []struct {
		name       string
		key, req   O
		wantParam  string
		wantInText string
	}{
		{name: "objective", req: O{Objective: "smartest"}, wantParam: "octomesh.objective"},
		{name: "negative weight", req: O{Weights: &octomesh.Weights{Cost: -1}}, wantParam: "octomesh.weights"},
		{name: "NaN weight", req: O{Weights: &octomesh.Weights{Cost: math.NaN()}}, wantParam: "octomesh.weights"},
		{name: "zero weights", req: O{Weights: &octomesh.Weights{}}, wantParam: "octomesh.weights"},
		{name: "floor zero", req: O{QualityFloor: ptr(0.0)}, wantParam: "octomesh.quality_floor"},
		{name: "floor above one", req: O{QualityFloor: ptr(1.1)}, wantParam: "octomesh.quality_floor"},
		{name: "tradeoff", req: O{Tradeoff: ptr(-0.1)}, wantParam: "octomesh.tradeoff"},
		{name: "cost not a number", req: O{MaxCostUSD: "cheap"}, wantParam: "octomesh.max_cost_usd"},
		{name: "cost negative", req: O{MaxCostUSD: "-1"}, wantParam: "octomesh.max_cost_usd"},
		{name: "blank region", req: O{Regions: []string{"eu west"}}, wantParam: "octomesh.regions"},
		{name: "too many fallbacks", req: O{Fallbacks: long}, wantParam: "octomesh.fallbacks"},
		{name: "empty fallback", req: O{Fallbacks: []string{""}}, wantParam: "octomesh.fallbacks"},
		{name: "timeout", req: O{TimeoutMS: -5}, wantParam: "octomesh.timeout_ms"},
		{name: "key layer validated too", key: O{MaxCostUSD: "x"}, wantParam: "octomesh.max_cost_usd"},
		{name: "disjoint regions fail closed", key: O{Regions: []string{"eu"}}, req: O{Regions: []string{"us"}},
			wantParam: "octomesh.regions", wantInText: "none of the requested regions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Merge(O{}, tt.key, tt.req)
			if err == nil {
				t.Fatal("Merge succeeded; want an error")
			}
			e := asError(t, err)
			if e.Code != octomesh.EINVALID || e.Param != tt.wantParam {
				t.Errorf("error code, param = %s, %q; want %s, %q", e.Code, e.Param, octomesh.EINVALID, tt.wantParam)
			}
			if tt.wantInText != "" && !strings.Contains(e.Message, tt.wantInText) {
				t.Errorf("message %q does not contain %q", e.Message, tt.wantInText)
			}
		})
	}
}
