package quality

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Synthetic routing data with a learnable signal: prompts are about one of
// three topics; "cheap" answers "alpha" prompts well, "smart" answers
// everything well but costs 20×, "coder" answers "gamma" (code) prompts
// well. Outcomes are noisy (10% flipped).

var synthVocab = strings.Fields(`the a of to in is was for on that with as by at from this be are or an
which one all were when there can more if out so what about up into some them other than then
time only its over also after use two how our work first well way even new want because any these`)

var synthTopics = map[string][]string{
	"alpha": strings.Fields("river mountain forest valley ocean island desert glacier canyon meadow"),
	"beta":  strings.Fields("theorem integral matrix vector eigenvalue derivative lemma proof tensor manifold"),
	"gamma": strings.Fields("function return loop array pointer compile variable string python golang"),
}

var synthTopicNames = []string{"alpha", "beta", "gamma"}

// synthModels are the synthetic models with their price per token.
var synthModels = []struct {
	name   string
	price  float64
	skills map[string]float64 // P(correct) per topic
}{
	{"cheap", 1e-7, map[string]float64{"alpha": 0.9, "beta": 0.1, "gamma": 0.2}},
	{"smart", 2e-6, map[string]float64{"alpha": 0.95, "beta": 0.9, "gamma": 0.9}},
	{"coder", 3e-7, map[string]float64{"alpha": 0.3, "beta": 0.2, "gamma": 0.95}},
}

// synthPrompt returns a prompt about topic.
func synthPrompt(rng *rand.Rand, topic string) string {
	var b strings.Builder
	n := 12 + rng.IntN(30)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		if rng.IntN(3) == 0 {
			ws := synthTopics[topic]
			b.WriteString(ws[rng.IntN(len(ws))])
		} else {
			b.WriteString(synthVocab[rng.IntN(len(synthVocab))])
		}
	}
	b.WriteString("?")
	return b.String()
}

// synthExamples returns n synthetic examples.
func synthExamples(n int, seed uint64) []Example {
	rng := rand.New(rand.NewPCG(seed, 42))
	out := make([]Example, n)
	for i := range out {
		topic := synthTopicNames[rng.IntN(len(synthTopicNames))]
		p := synthPrompt(rng, topic)
		e := Example{ID: fmt.Sprintf("synth.%d.%d", seed, i), Dataset: topic, Prompt: p}
		tin := float64(len(p)) / 4
		for _, m := range synthModels {
			score := 0.0
			if rng.Float64() < m.skills[topic] {
				score = 1
			}
			tout := 10 + float64(rng.IntN(20))
			if topic == "gamma" {
				tout *= 5 // code answers are long
			}
			e.Outcomes = append(e.Outcomes, Outcome{
				Model: m.name, Score: score, Cost: m.price * (tin + tout),
				TokensIn: tin, TokensOut: tout, PriceIn: nan(), PriceOut: nan(),
			})
		}
		out[i] = e
	}
	return out
}

func nan() float64 { var z float64; return z / z }

// writeSynthFile writes examples as a gzipped JSONL data file in dir.
func writeSynthFile(t testing.TB, dir, name string, examples []Example) string {
	t.Helper()
	path := filepath.Join(dir, name+".jsonl.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	enc := json.NewEncoder(zw)
	for _, e := range examples {
		models := map[string]map[string]any{}
		for _, o := range e.Outcomes {
			models[o.Model] = map[string]any{"score": o.Score, "cost_usd": o.Cost, "tokens_in": o.TokensIn, "tokens_out": o.TokensOut}
		}
		row := map[string]any{"id": e.ID, "dataset": e.Dataset, "split": "test", "prompt": e.Prompt, "source": "synthetic", "models": models}
		if err := enc.Encode(row); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// fastConfig is a small, quick training configuration for tests.
func fastConfig(predictor string) TrainConfig {
	cfg := DefaultTrainConfig()
	cfg.Predictor = predictor
	cfg.Features.Bits = 14
	cfg.LR = LogisticConfig{Epochs: 8, Rate: 0.1, L2: 1e-6}
	cfg.LowRank = LowRankConfig{Dim: 8, Epochs: 10, Rate: 0.05, L2: 1e-6}
	cfg.KNN = KNNConfig{K: 20, Power: 1, Alpha: 2, MaxDF: 0.3}
	cfg.InnerFolds = 2
	cfg.Workers = 2
	return cfg
}

// trainSynth trains a router of the given kind on synthetic data; routers
// are cached per test binary run by the caller if needed.
func trainSynth(t testing.TB, predictor string, n int) *Router {
	t.Helper()
	r, err := Train(t.Context(), synthExamples(n, 1), fastConfig(predictor), nil)
	if err != nil {
		t.Fatalf("Train(%s): %v", predictor, err)
	}
	return r
}
