package quality

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Each predictor must learn the synthetic signal: on fresh prompts, the
// model that is good at a topic is predicted better than the one that is
// bad at it, and predicted scores track the true skill.
func TestPredictorsLearnSyntheticSignal(t *testing.T) {
	for _, kind := range []string{"lr", "lowrank", "knn", "ensemble"} {
		t.Run(kind, func(t *testing.T) {
			r := trainSynth(t, kind, 600)
			rng := rand.New(rand.NewPCG(7, 7))
			models := []string{"cheap", "smart", "coder"}
			var sqErr float64
			right, n := 0, 0
			for i := 0; i < 90; i++ {
				topic := synthTopicNames[i%3]
				q := r.Predict(synthPrompt(rng, topic), models)
				for j, m := range synthModels {
					d := q[j] - m.skills[topic]
					sqErr += d * d
				}
				// The ordering that matters: good vs bad model on the topic.
				switch topic {
				case "alpha":
					right += b2i(q[0] > q[2])
				case "beta":
					right += b2i(q[1] > q[0] && q[1] > q[2])
				case "gamma":
					right += b2i(q[2] > q[0])
				}
				n++
			}
			if got := float64(right) / float64(n); got < 0.9 {
				t.Errorf("ranked the topic's good model above the bad one on %.0f%% of prompts, want ≥ 90%%", 100*got)
			}
			if rmse := math.Sqrt(sqErr / float64(3*n)); rmse > 0.25 {
				t.Errorf("RMSE of predicted vs true skill = %.3f, want ≤ 0.25", rmse)
			}
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// The cost model recovers prices from (tokens, cost) pairs and learns that
// code prompts produce longer answers.
func TestCostModelLearnsPricesAndLengths(t *testing.T) {
	r := trainSynth(t, "lr", 600)
	for _, m := range synthModels {
		c := r.cost[r.index[m.name]]
		if d := math.Abs(c.PriceIn-m.price) / m.price; d > 0.05 {
			t.Errorf("%s: price in = %g, want %g (±5%%)", m.name, c.PriceIn, m.price)
		}
		if d := math.Abs(c.PriceOut-m.price) / m.price; d > 0.05 {
			t.Errorf("%s: price out = %g, want %g (±5%%)", m.name, c.PriceOut, m.price)
		}
	}
	rng := rand.New(rand.NewPCG(3, 3))
	var codeCost, otherCost float64
	for i := 0; i < 40; i++ {
		c, ok := r.ExpectedCost(synthPrompt(rng, "gamma")+" def f(): return x; { }", "smart")
		if !ok {
			t.Fatal("ExpectedCost(smart): not ok")
		}
		codeCost += c
		c, _ = r.ExpectedCost(synthPrompt(rng, "alpha"), "smart")
		otherCost += c
	}
	if codeCost <= otherCost {
		t.Errorf("expected cost of code prompts %g ≤ other prompts %g; want more (longer answers)", codeCost, otherCost)
	}
	if _, ok := r.ExpectedCost("hello", "no-such-model"); ok {
		t.Error("ExpectedCost of an unknown model: ok = true, want false")
	}
}

// A new model can be fitted on the frozen low-rank embeddings from a few
// hundred labelled prompts.
func TestFitModelAddsAModel(t *testing.T) {
	r := trainSynth(t, "lowrank", 600)
	rng := rand.New(rand.NewPCG(9, 9))
	var prompts []string
	var scores []float64
	for i := 0; i < 300; i++ {
		topic := synthTopicNames[i%3]
		prompts = append(prompts, synthPrompt(rng, topic))
		s := 0.0
		if topic == "beta" && rng.Float64() < 0.9 || topic != "beta" && rng.Float64() < 0.1 {
			s = 1
		}
		scores = append(scores, s)
	}
	r2, err := r.WithModel("mathy", prompts, scores, ModelPrice{InPerToken: 1e-7, OutPerToken: 1e-7, MeanOutTokens: 20})
	if err != nil {
		t.Fatal(err)
	}
	if !r2.Known("mathy") || r.Known("mathy") {
		t.Fatalf("Known(mathy): new router %v, old router %v; want true, false", r2.Known("mathy"), r.Known("mathy"))
	}
	var beta, other float64
	for i := 0; i < 30; i++ {
		beta += r2.Predict(synthPrompt(rng, "beta"), []string{"mathy"})[0]
		other += r2.Predict(synthPrompt(rng, "alpha"), []string{"mathy"})[0]
	}
	if beta/30 < 0.7 || other/30 > 0.3 {
		t.Errorf("mathy predicted %.2f on beta and %.2f on alpha prompts; want ≥ 0.7 and ≤ 0.3", beta/30, other/30)
	}
	if c, ok := r2.ExpectedCost("a prompt of some length", "mathy"); !ok || c <= 0 {
		t.Errorf("ExpectedCost(mathy) = %g, %v; want > 0, true", c, ok)
	}
}
