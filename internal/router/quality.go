package router

import (
	"math"

	"github.com/octomesh/octomesh"
)

// QualityPredictor predicts, for a prompt, the quality in [0,1] each named
// deployment's answer would have. It returns one value per deployment, in
// order. Implementations (the learned router) must be safe for concurrent
// use, fast (Decide calls them inline) and must not retain the deployments
// slice (it is reused) nor retain or log the prompt.
//
// The router calls it only for the quality and weighted objectives; otherwise,
// and when Config.Quality is nil, the static priors (Config.QualityPriors,
// Config.DefaultQuality) stand in. Values that are missing, NaN or outside
// [0,1] fall back to (or are clamped to) the prior.
type QualityPredictor interface {
	Predict(prompt string, deployments []string) []float64
}

// promptText returns the text a quality predictor sees: the content of the
// last user message. It allocates only for multi-part content.
func promptText(req *octomesh.ChatRequest) string {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == octomesh.RoleUser {
			return req.Messages[i].Content.Text()
		}
	}
	return ""
}

// predictQuality fills sc.cands[*].quality for the eligible candidates.
func (r *Router) predictQuality(req *octomesh.ChatRequest, sc *scratch, useModel bool) {
	if r.quality == nil || !useModel {
		for _, ci := range sc.elig {
			c := &sc.cands[ci]
			c.quality = r.deps[c.dep].prior
		}
		return
	}
	names := sc.names[:0]
	for _, ci := range sc.elig {
		names = append(names, r.deps[sc.cands[ci].dep].d.Name)
	}
	sc.names = names
	qs := r.quality.Predict(promptText(req), names)
	for k, ci := range sc.elig {
		c := &sc.cands[ci]
		q := r.deps[c.dep].prior
		if k < len(qs) && !math.IsNaN(qs[k]) {
			q = min(max(qs[k], 0), 1)
		}
		c.quality = q
	}
}
