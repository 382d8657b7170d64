package quality

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// A four-prompt two-model example worked by hand (see the comments) with
// RouteLLM's protocol: decile thresholds of the scores 0.1…0.4 select
// 4,3,3,3,2,2,2,1,1,1,0 prompts.
func TestRouteLLMMetricsToy(t *testing.T) {
	score := []float64{0.1, 0.2, 0.3, 0.4}
	strong := []float64{1, 1, 1, 1}
	weak := []float64{1, 0, 1, 0} // weak 0.5, strong 1.0
	pc := RouteLLMCurve(score, strong, weak)
	wantPct := []float64{0, 25, 25, 25, 50, 50, 50, 75, 75, 75, 100}
	wantAcc := []float64{0.5, 0.75, 0.75, 0.75, 0.75, 0.75, 0.75, 1, 1, 1, 1}
	if diff := cmp.Diff(wantPct, pc.StrongPct, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("strong %% (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantAcc, pc.Accuracy, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("accuracy (-want +got):\n%s", diff)
	}
	// AUC = .25·(.5+.75)/2 + .25·.75 + .25·(.75+1)/2 + .25·1 = .8125;
	// APGR = (.8125 − .5) / (1 − .5) = .625.
	if got := pc.APGR(); !near(got, 0.625) {
		t.Errorf("APGR = %v, want 0.625", got)
	}
	// CPT(50%): target .75, reached between (0,.5) and (25,.75) → 25.
	if got := pc.CPT(0.5); !near(got, 25) {
		t.Errorf("CPT(50%%) = %v, want 25", got)
	}
	// CPT(80%): target .9, between (50,.75) and (75,1) → 50 + 25·.15/.25 = 65.
	if got := pc.CPT(0.8); !near(got, 65) {
		t.Errorf("CPT(80%%) = %v, want 65", got)
	}
	// A random router recovers about half the gap; the oracle ordering more.
	if got := RouteLLMCurve([]float64{0.4, 0.3, 0.2, 0.1}, strong, weak).APGR(); got >= 0.625 {
		t.Errorf("APGR of the reversed ranking = %v, want below the good ranking's 0.625", got)
	}
}

func TestAIQAndCostToReachToy(t *testing.T) {
	// Two points: the envelope is the segment; its mean over [1,3] is 0.7.
	if got := AIQ([]Point{{1, 0.5}, {3, 0.9}}, 1, 3); !near(got, 0.7) {
		t.Errorf("AIQ(segment) = %v, want 0.7", got)
	}
	// A point under the segment changes nothing.
	if got := AIQ([]Point{{1, 0.5}, {2, 0.6}, {3, 0.9}}, 1, 3); !near(got, 0.7) {
		t.Errorf("AIQ(with a dominated point) = %v, want 0.7", got)
	}
	// A point above it: (0.5+0.8)/2 and (0.8+0.9)/2 over unit widths → 0.75.
	curve := []Point{{1, 0.5}, {2, 0.8}, {3, 0.9}}
	aiq := AIQ(curve, 1, 3)
	if !near(aiq, 0.75) {
		t.Errorf("AIQ = %v, want 0.75", aiq)
	}
	if got := NormalisedAIQ(aiq, 0.5, 0.9); !near(got, 0.625) {
		t.Errorf("NormalisedAIQ = %v, want 0.625", got)
	}
	// Flat extension beyond the ends: over [0,4] the ends add 0.5 and 0.9.
	if got := AIQ(curve, 0, 4); !near(got, (0.5+1.5+0.9)/4) {
		t.Errorf("AIQ over [0,4] = %v, want %v", got, (0.5+1.5+0.9)/4)
	}
	if c, ok := CostToReach(curve, 0.85); !ok || !near(c, 2.5) {
		t.Errorf("CostToReach(0.85) = %v, %v; want 2.5, true", c, ok)
	}
	if c, ok := CostToReach(curve, 0.4); !ok || !near(c, 1) {
		t.Errorf("CostToReach(0.4) = %v, %v; want 1, true", c, ok)
	}
	if _, ok := CostToReach(curve, 0.95); ok {
		t.Error("CostToReach(0.95): ok = true, want false")
	}
}

func TestCostToReachOnHull(t *testing.T) {
	// A raw curve with a dent: 0.7 is first reached at cost 3 on the raw
	// curve, but mixing (1, 0.5) and (4, 0.9) reaches it at 2.5.
	curve := []Point{{1, 0.5}, {2, 0.55}, {3, 0.7}, {4, 0.9}}
	if c, ok := CostToReach(curve, 0.7); !ok || !near(c, 3) {
		t.Errorf("raw CostToReach(0.7) = %v, %v; want 3, true", c, ok)
	}
	if c, ok := CostToReach(Envelope(curve), 0.7); !ok || !near(c, 2.5) {
		t.Errorf("hull CostToReach(0.7) = %v, %v; want 2.5, true", c, ok)
	}
}

func TestEnvelope(t *testing.T) {
	got := Envelope([]Point{{3, 0.9}, {1, 0.5}, {2, 0.6}, {4, 0.8}, {2, 0.8}, {1, 0.4}})
	want := []Point{{1, 0.5}, {2, 0.8}, {3, 0.9}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Envelope (-want +got):\n%s", diff)
	}
}
