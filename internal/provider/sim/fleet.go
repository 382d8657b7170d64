package sim

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/internal/provider"
)

// Options configure a Fleet. The zero value is the test configuration: no
// delays, no random faults, no fault hints, seed 0, the default models.
type Options struct {
	// ID is the provider instance's ID; "" means "sim". Deployments are
	// named "<ID>/<model>".
	ID string
	// Seed makes the fleet deterministic: the same seed and request always
	// give the same answer.
	Seed int64
	// Speed multiplies every simulated delay: 1 is realistic, 0.01 is 100x
	// faster, 0 (or negative) means no delay at all.
	Speed float64
	// FailureScale multiplies every model's fault rates: 1 is realistic,
	// 0 (or negative) disables random faults. Fault hints work regardless.
	FailureScale float64
	// VaryRetries makes each repeat of the same request on the same model
	// roll its faults and latencies afresh (see the package doc), so that a
	// retry after a transient fault can succeed.
	VaryRetries bool
	// AllowFaultHints honours request metadata "sim_fault" (tests only; see
	// ParseFaultHint). When false the metadata is ignored.
	AllowFaultHints bool
	// Now is the clock used for response timestamps; nil means time.Now.
	Now octomesh.Clock
	// Models is the fleet; nil means DefaultModels().
	Models []Model
}

// DefaultOptions returns the options `octomesh serve` uses for the embedded
// default: real-time latencies, realistic fault rates (so failover is
// visible), retries that can succeed, and no fault hints.
func DefaultOptions() Options {
	return Options{ID: "sim", Speed: 1, FailureScale: 1, VaryRetries: true}
}

// attemptBuckets is the number of attempt counters VaryRetries spreads
// requests over (by request hash). Two requests sharing a bucket only share
// their retry sequence, which is harmless.
const attemptBuckets = 1024

// Fleet is a set of simulated models served as one provider. It implements
// octomesh.Provider and octomesh.Embedder, and is safe for concurrent use.
type Fleet struct {
	id        string
	seed      int64
	speed     float64
	failScale float64
	vary      bool
	hints     bool
	now       octomesh.Clock
	models    []Model
	byName    map[string]*Model
	attempts  [attemptBuckets]atomic.Uint64
}

var (
	_ octomesh.Provider = (*Fleet)(nil)
	_ octomesh.Embedder = (*Fleet)(nil)
)

// New returns a fleet configured by o. It copies o.Models, so later changes
// to them do not affect the fleet. It returns an error naming the offending
// field when a model is invalid or two models share a name.
func New(o Options) (*Fleet, error) {
	f := &Fleet{
		id:        o.ID,
		seed:      o.Seed,
		speed:     max(o.Speed, 0),
		failScale: max(o.FailureScale, 0),
		vary:      o.VaryRetries,
		hints:     o.AllowFaultHints,
		now:       o.Now,
	}
	if f.id == "" {
		f.id = "sim"
	}
	if f.now == nil {
		f.now = time.Now
	}
	models := o.Models
	if models == nil {
		models = DefaultModels()
	}
	f.models = make([]Model, len(models))
	f.byName = make(map[string]*Model, len(models))
	for i := range models {
		m := models[i].clone()
		if err := m.validate(fmt.Sprintf("models[%d]", i)); err != nil {
			return nil, fmt.Errorf("sim: %w", err)
		}
		if _, dup := f.byName[m.Name]; dup {
			return nil, fmt.Errorf("sim: models[%d].name: duplicate model %q", i, m.Name)
		}
		f.models[i] = m
		f.byName[m.Name] = &f.models[i]
	}
	return f, nil
}

// ID returns the provider instance's ID.
func (f *Fleet) ID() string { return f.id }

// Deployments returns one deployment per model, in fleet order, named
// "<ID>/<model>" with the model's limits, capabilities and prices.
func (f *Fleet) Deployments() []octomesh.Deployment {
	out := make([]octomesh.Deployment, len(f.models))
	for i := range f.models {
		m := &f.models[i]
		out[i] = octomesh.Deployment{
			Name:            f.id + "/" + m.Name,
			Provider:        f.id,
			UpstreamModel:   m.Name,
			ContextWindow:   m.ContextWindow,
			MaxOutputTokens: m.MaxOutputTokens,
			Capabilities:    simCaps(m.Caps),
			Price:           m.Price,
			OwnedBy:         m.OwnedBy,
			Created:         m.Created.Unix(),
			DataPolicy:      simPolicy(m.OwnedBy),
			Groups:          simGroups[m.Name],
			Region:          simRegion(m.OwnedBy),
		}
	}
	return out
}

// simPolicy gives each simulated vendor a plausible data policy, so data
// constraints (zero retention, no training) are visible on the embedded
// setup: API vendors keep prompts for abuse monitoring and do not train on
// API data; the open-weight models are "self-hosted" and keep nothing.
func simPolicy(vendor string) octomesh.DataPolicy {
	switch vendor {
	case "openai", "anthropic":
		return octomesh.DataPolicy{RetainsPrompts: octomesh.Yes, Retention: 30 * 24 * time.Hour, TrainsOnData: octomesh.No}
	case "google":
		return octomesh.DataPolicy{RetainsPrompts: octomesh.Yes, Retention: 55 * 24 * time.Hour, TrainsOnData: octomesh.Unknown}
	case "meta", "mistralai":
		return octomesh.DataPolicy{RetainsPrompts: octomesh.No, TrainsOnData: octomesh.No}
	}
	return octomesh.DataPolicy{RetainsPrompts: octomesh.Unknown, TrainsOnData: octomesh.Unknown}
}

// simRegion places the simulated vendors, for region constraints.
func simRegion(vendor string) string {
	switch vendor {
	case "meta", "mistralai":
		return "eu"
	}
	return "us"
}

// simGroups puts the default fleet's chat models into the "fast" and
// "smart" groups.
var simGroups = map[string][]string{
	"gpt-4o-mini": {"fast"}, "claude-3-haiku": {"fast"}, "gemini-1.5-flash-002": {"fast"}, "llama-3.1-8b-instruct": {"fast"},
	"gpt-4o": {"smart"}, "claude-3-5-sonnet": {"smart"}, "gemini-1.5-pro-002": {"smart"}, "llama-3.1-70b-instruct": {"smart"},
}

// Quality returns the probability that model (a bare model name, as in
// Deployment.UpstreamModel) answers prompt well: the
// model's quality for the prompt's task category (TaskOf). It returns 0 for
// an unknown model and 0.5 when the model has no figure for the category.
func (f *Fleet) Quality(model, prompt string) float64 {
	m, ok := f.byName[model]
	if !ok {
		return 0
	}
	return m.quality(TaskOf(prompt))
}

func (m *Model) quality(task string) float64 {
	if q, ok := m.Quality[task]; ok {
		return q
	}
	return 0.5
}

// model returns the named model or the error a real upstream's 404 becomes.
func (f *Fleet) model(name string) (*Model, error) {
	m, ok := f.byName[name]
	if !ok {
		e := provider.Upstream(f.id, octomesh.EUPSTREAM, "the provider does not know the configured upstream model", 404)
		return nil, e.WithParam("model")
	}
	return m, nil
}

// scale multiplies a simulated duration by the fleet's speed.
func (f *Fleet) scale(d time.Duration) time.Duration {
	return time.Duration(float64(d) * f.speed)
}

// simCaps adds what every simulated chat model can do: continue a partial
// assistant message (the sim answers a prefilled turn like any other).
func simCaps(c octomesh.Capabilities) octomesh.Capabilities {
	if !c.Embeddings {
		c.Continuation = true
	}
	return c
}
