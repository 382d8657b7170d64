package router

import (
	"math"

	"github.com/octomesh/octomesh"
)

// QualityPredictor predicts, for a prompt, the quality in [0,1] each named
// deployment's answer would have. It writes deployments[i]'s into out[i]
// (out has one element per deployment, each NaN before the call: the
// router's room, so that a decision allocates nothing for them).
// Implementations (the learned router) must be safe for concurrent use,
// fast (Decide calls them inline) and must not retain the deployments or
// out slices (they are reused) nor retain or log the prompt.
//
// The router calls it only for the quality and weighted objectives; otherwise,
// and when Config.Quality is nil, the static priors (Config.QualityPriors,
// Config.DefaultQuality) stand in. Values left NaN fall back to the prior
// (an adapter blending in online feedback should leave them NaN, so the
// fallback is the prior, not a blend with NaN); values outside [0,1] are
// clamped.
type QualityPredictor interface {
	Predict(prompt string, deployments []string, out []float64)
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
	qs := sc.qs[:0]
	for range names {
		qs = append(qs, math.NaN())
	}
	sc.qs = qs
	r.quality.Predict(promptText(req), names, qs)
	for k, ci := range sc.elig {
		c := &sc.cands[ci]
		q := r.deps[c.dep].prior
		if !math.IsNaN(qs[k]) {
			q = min(max(qs[k], 0), 1)
		}
		c.quality = q
	}
}
