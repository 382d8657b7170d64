package quality

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// settable lists TrainConfig's tunable fields by dotted name.
func (c *TrainConfig) settable() map[string]any {
	return map[string]any{
		"predictor":           &c.Predictor,
		"seed":                &c.Seed,
		"workers":             &c.Workers,
		"inner_folds":         &c.InnerFolds,
		"cost_ridge":          &c.CostRidge,
		"calibrate":           &c.Calibrate,
		"features.bits":       &c.Features.Bits,
		"features.bigrams":    &c.Features.Bigrams,
		"features.char_min":   &c.Features.CharMin,
		"features.char_max":   &c.Features.CharMax,
		"features.tail":       &c.Features.TailBytes,
		"features.char_bytes": &c.Features.CharBytes,
		"features.word_bytes": &c.Features.WordBytes,
		"features.w_words":    &c.Features.WWords,
		"features.w_chars":    &c.Features.WChars,
		"features.w_tail":     &c.Features.WTail,
		"features.w_shape":    &c.Features.WShape,
		"features.max_bytes":  &c.Features.MaxBytes,
		"features.w_conj":     &c.Features.WConj,
		"lr.epochs":           &c.LR.Epochs,
		"lr.rate":             &c.LR.Rate,
		"lr.l2":               &c.LR.L2,
		"lr.bags":             &c.LR.Bags,
		"lowrank.dim":         &c.LowRank.Dim,
		"lowrank.epochs":      &c.LowRank.Epochs,
		"lowrank.rate":        &c.LowRank.Rate,
		"lowrank.l2":          &c.LowRank.L2,
		"knn.k":               &c.KNN.K,
		"knn.power":           &c.KNN.Power,
		"knn.alpha":           &c.KNN.Alpha,
		"knn.max_df":          &c.KNN.MaxDF,
	}
}

// SetOptions applies comma-separated key=value settings, e.g.
// "lr.epochs=8,features.bits=16", naming fields as SettableKeys lists them.
func (c *TrainConfig) SetOptions(s string) error {
	fields := c.settable()
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("option %q: want key=value", kv)
		}
		p, ok := fields[k]
		if !ok {
			return fmt.Errorf("unknown option %q (known: %s)", k, strings.Join(SettableKeys(), ", "))
		}
		var err error
		switch p := p.(type) {
		case *string:
			*p = v
		case *int:
			*p, err = strconv.Atoi(v)
		case *uint64:
			*p, err = strconv.ParseUint(v, 10, 64)
		case *bool:
			*p, err = strconv.ParseBool(v)
		case *float64:
			*p, err = strconv.ParseFloat(v, 64)
		case *float32:
			var f float64
			f, err = strconv.ParseFloat(v, 32)
			*p = float32(f)
		}
		if err != nil {
			return fmt.Errorf("option %s: %w", k, err)
		}
	}
	return c.Validate()
}

// SettableKeys lists the option names SetOptions accepts, sorted.
func SettableKeys() []string {
	var c TrainConfig
	var ks []string
	for k := range c.settable() {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
