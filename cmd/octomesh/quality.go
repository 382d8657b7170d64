package main

import (
	"fmt"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/router"
	"github.com/octomesh/octomesh/internal/router/online"
	"github.com/octomesh/octomesh/internal/router/quality"
	"github.com/octomesh/octomesh/internal/router/quality/builtin"
)

// simTrainedNames maps simulated models to the names the built-in quality
// router was trained on, where the shared data has the same model under
// another spelling. Models with no counterpart get the router's neutral prior.
var simTrainedNames = map[string]string{
	"llama-3.1-70b-instruct": "Meta-Llama-3_1-70B-Instruct",
	"mixtral-8x7b-instruct":  "Mixtral-8x7B-Instruct-v0.1",
	"mistral-7b-instruct":    "Mistral-7B-Instruct-v0.2",
}

// qualityPredictor adapts the learned quality router to the router's
// QualityPredictor: it translates deployment names into the model names the
// artifact knows, and blends each prediction with the feedback the
// deployment got in the prompt's cluster (online learning). It is safe for
// concurrent use.
type qualityPredictor struct {
	q      *quality.Router
	names  map[string]string // deployment name → trained model name
	online *online.Learner   // nil: offline predictions only
}

var _ router.QualityPredictor = (*qualityPredictor)(nil)

// newQualityPredictor loads the built-in artifact and maps every deployment
// to a trained model by its upstream name (or its known alias). With a
// learner, predictions are blended with its statistics.
func newQualityPredictor(deployments []octomesh.Deployment, learner *online.Learner) (*qualityPredictor, error) {
	q, err := builtin.Router()
	if err != nil {
		return nil, fmt.Errorf("load the built-in quality router: %w", err)
	}
	p := &qualityPredictor{q: q, names: map[string]string{}, online: learner}
	for _, d := range deployments {
		name := d.UpstreamModel
		if alt, ok := simTrainedNames[name]; ok && !q.Known(name) {
			name = alt
		}
		p.names[d.Name] = name
	}
	return p, nil
}

// Predict writes each deployment's predicted quality for the prompt into
// out: the offline prediction, shrunk towards the mean feedback score the
// deployment got in the prompt's cluster (see online.Learner.Blend).
func (p *qualityPredictor) Predict(prompt string, deployments []string, out []float64) {
	// The trained names: up to 32 deployments' stay on the stack, more
	// spill to the heap.
	var room [32]string
	models := room[:0]
	for _, d := range deployments {
		models = append(models, p.names[d])
	}
	p.q.PredictInto(prompt, models, out)
	if p.online != nil {
		p.online.Blend(p.online.Cluster(prompt), deployments, out)
	}
}

// newOnlineLearner returns the online learner for the deployments: the
// learned router's prompt clusters (ids 1…quality.NumClusters), the
// learner's default prior weight, half-life and exploration budget.
func newOnlineLearner(deployments []octomesh.Deployment) (*online.Learner, error) {
	names := make([]string, len(deployments))
	for i, d := range deployments {
		names[i] = d.Name
	}
	l, err := online.New(online.Config{Clusters: quality.NumClusters + 1, Models: names, Cluster: quality.Cluster})
	if err != nil {
		return nil, fmt.Errorf("online learning: %w", err)
	}
	return l, nil
}
