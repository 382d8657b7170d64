package quality

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPredictorComponents(t *testing.T) {
	for _, tc := range []struct {
		predictor string
		want      []int // nil: invalid
	}{
		{"lr", []int{compLR}},
		{"lowrank", []int{compLowRank}},
		{"knn", []int{compKNN}},
		{"lr+lowrank", []int{compLR, compLowRank}},
		{"knn+lr", []int{compLR, compKNN}},
		{"ensemble", []int{compLR, compLowRank, compKNN}},
		{"lr+lr", nil},
		{"svm", nil},
		{"", nil},
	} {
		cfg := DefaultTrainConfig()
		cfg.Predictor = tc.predictor
		if diff := cmp.Diff(tc.want, cfg.components()); diff != "" {
			t.Errorf("components(%q) (-want +got):\n%s", tc.predictor, diff)
		}
		if err := cfg.Validate(); (err == nil) != (tc.want != nil) {
			t.Errorf("Validate(%q) = %v", tc.predictor, err)
		}
	}
}

func TestSetOptions(t *testing.T) {
	cfg := DefaultTrainConfig()
	if err := cfg.SetOptions("lr.epochs=3, features.bits=12,features.bigrams=false,knn.alpha=1.5,predictor=lr+lowrank"); err != nil {
		t.Fatal(err)
	}
	if cfg.LR.Epochs != 3 || cfg.Features.Bits != 12 || cfg.Features.Bigrams || cfg.KNN.Alpha != 1.5 || cfg.Predictor != "lr+lowrank" {
		t.Errorf("options not applied: %+v", cfg)
	}
	for _, bad := range []struct{ in, want string }{
		{"lr.epochs", "want key=value"},
		{"no.such=1", `unknown option "no.such"`},
		{"lr.epochs=x", "option lr.epochs"},
		{"features.bits=40", "bits 40 out of range"},
	} {
		c := DefaultTrainConfig()
		if err := c.SetOptions(bad.in); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("SetOptions(%q) = %v, want an error containing %q", bad.in, err, bad.want)
		}
	}
	if len(SettableKeys()) < 20 {
		t.Errorf("SettableKeys lists %d keys", len(SettableKeys()))
	}
}
