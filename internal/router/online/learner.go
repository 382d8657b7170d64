// Package online is the router's online learning: outcome statistics per
// (prompt cluster, model) built from callers' feedback, which adjust the
// offline quality predictions, and a bounded exploration budget so models
// with little feedback in a cluster still get tried.
//
// # Lifecycle
//
// Build one Learner at start with New, for the fixed set of models
// (deployment names) and clusters; memory is fixed there (clusters × models
// cells plus at most MaxLabels label counters). Then, per routing decision,
// the router's quality hook calls Blend to turn offline predictions into
// posterior means, and the gateway calls Explore once per auto decision;
// per feedback, the gateway calls Observe (and Retract when feedback on the
// same request is replaced).
//
// # Statistics
//
// A cell holds the exponentially decayed count n and score sum s of the
// feedback its model got in its cluster (half-life Config.HalfLife). For a
// prompt whose offline predicted quality is q, the posterior mean is
//
//	(k·q + s) / (k + n)
//
// with k = Config.PriorWeight: the offline prediction counts as k
// pseudo-observations, so a little feedback nudges it and a lot overrides
// it. n is capped at Config.MaxWeight (both n and s are scaled down, which
// keeps the mean), so very busy cells still adapt.
//
// # Privacy
//
// A Learner holds cluster ids, model names, decayed counts and sums of
// scores, and counts of labels (short tags; see octomesh.ValidFeedbackLabel).
// It never sees request ids, orgs or prompt text: Cluster turns the prompt
// into an id and forgets it.
//
// A Learner does no I/O, starts no goroutines and is safe for concurrent
// use. Decisions read cells without locks (a sequence counter per cell);
// feedback updates one cell under that cell's own mutex.
package online

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/octomesh/octomesh"
)

// Config configures a Learner. Zero fields take the defaults documented on
// each field.
type Config struct {
	// Clusters is the number of cluster ids: ids are 0 … Clusters-1.
	// Required, at most 4096.
	Clusters int
	// Models are the models (deployment names) the Learner keeps
	// statistics for; feedback for other models is refused, and they are
	// never explored. Required, unique, at most 4096.
	Models []string
	// Cluster maps a prompt to its cluster id. Out-of-range ids count as
	// cluster 0. Default: every prompt is in cluster 0.
	Cluster func(prompt string) int

	// PriorWeight is k, the weight of the offline prediction in
	// pseudo-observations. Default 10.
	PriorWeight float64
	// HalfLife is the age at which an observation weighs half. Default 72h.
	HalfLife time.Duration
	// MaxWeight caps a cell's observation weight n. Default 10,000.
	MaxWeight float64

	// ExploreRate is the largest fraction of auto decisions that explore:
	// each decision explores with this probability, and a budget refilled
	// by ExploreRate per decision (holding at most ExploreBurst) must have
	// a whole exploration left. Default 0.02; negative disables exploration.
	ExploreRate float64
	// ExploreBurst is how many explorations the budget banks. Default 5.
	ExploreBurst float64
	// MinObservations: a candidate whose weight in the cluster is below it
	// may be explored. Default 10.
	MinObservations float64
	// MinClusterWeight: only clusters whose total weight (all models'
	// feedback, decayed) reaches it are explored, so a gateway whose
	// callers send no feedback for a kind of prompt does not misroute
	// those prompts for nothing. Default 1; negative: explore everywhere.
	MinClusterWeight float64
	// MaxCostRatio bounds an explored candidate's expected cost to this
	// multiple of the router's choice's. Default 4; negative: no bound
	// (beyond the request's own cost cap, which always holds).
	MaxCostRatio float64

	// MaxLabels caps the distinct (model, label) counters; feedback with a
	// new label beyond it counts under OtherLabel. Default 1024.
	MaxLabels int

	// Now is the clock. Default time.Now.
	Now octomesh.Clock
	// Rand returns uniform numbers in [0,1) and must be safe for
	// concurrent use. Default math/rand/v2.Float64.
	Rand func() float64
}

// OtherLabel counts labels beyond Config.MaxLabels.
const OtherLabel = "_other"

// Limits of a configuration.
const (
	maxClusters = 4096
	maxModels   = 4096
)

func (c *Config) setDefaults() {
	deff := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	deff(&c.PriorWeight, 10)
	if c.HalfLife == 0 {
		c.HalfLife = 72 * time.Hour
	}
	deff(&c.MaxWeight, 10_000)
	deff(&c.ExploreRate, 0.02)
	deff(&c.ExploreBurst, 5)
	deff(&c.MinObservations, 10)
	deff(&c.MinClusterWeight, 1)
	deff(&c.MaxCostRatio, 4)
	if c.MaxLabels == 0 {
		c.MaxLabels = 1024
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
}

func (c *Config) validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("online learning config: %s %s", field, fmt.Sprintf(format, args...))
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case c.Clusters < 1 || c.Clusters > maxClusters:
		return bad("clusters", "must be between 1 and %d", maxClusters)
	case len(c.Models) == 0 || len(c.Models) > maxModels:
		return bad("models", "must list between 1 and %d models", maxModels)
	case !(c.PriorWeight > 0) || !finite(c.PriorWeight):
		return bad("prior_weight", "must be positive")
	case c.HalfLife <= 0:
		return bad("half_life", "must be positive")
	case !(c.MaxWeight >= 1) || !finite(c.MaxWeight):
		return bad("max_weight", "must be at least 1")
	case !(c.ExploreRate <= 1) || !finite(c.ExploreRate):
		return bad("explore_rate", "must be at most 1 (negative disables exploration)")
	case !(c.ExploreBurst >= 1) || !finite(c.ExploreBurst):
		return bad("explore_burst", "must be at least 1")
	case !(c.MinObservations > 0) || !finite(c.MinObservations):
		return bad("min_observations", "must be positive")
	case !finite(c.MinClusterWeight):
		return bad("min_cluster_weight", "must be a number")
	case !finite(c.MaxCostRatio):
		return bad("max_cost_ratio", "must be a number")
	case c.MaxLabels < 1:
		return bad("max_labels", "must be at least 1")
	}
	seen := make(map[string]bool, len(c.Models))
	for _, m := range c.Models {
		if m == "" {
			return bad("models", "has an empty name")
		}
		if seen[m] {
			return bad("models", "lists %q twice", m)
		}
		seen[m] = true
	}
	return nil
}

// Learner holds the online statistics and the exploration budget. Build it
// with New; it is safe for concurrent use.
type Learner struct {
	cfg      Config
	halfLife float64 // ns
	models   []string
	index    map[string]int // read-only after New
	cells    []cell         // cluster-major: cells[cluster*len(models)+model]

	credit    atomicFloat // exploration budget, in explorations
	decisions atomic.Int64
	explored  atomic.Int64

	labelMu sync.Mutex
	labels  map[labelKey]int64
}

// labelKey is one label counter.
type labelKey struct {
	model int
	label string
}

// New validates cfg and returns a Learner with empty statistics and a full
// exploration budget. It returns an error naming the field for an invalid
// configuration.
func New(cfg Config) (*Learner, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	l := &Learner{
		cfg:      cfg,
		halfLife: float64(cfg.HalfLife),
		models:   append([]string(nil), cfg.Models...),
		index:    make(map[string]int, len(cfg.Models)),
		cells:    make([]cell, cfg.Clusters*len(cfg.Models)),
		labels:   map[labelKey]int64{},
	}
	for i, m := range l.models {
		l.index[m] = i
	}
	l.credit.store(cfg.ExploreBurst)
	return l, nil
}

// Clusters returns the number of cluster ids.
func (l *Learner) Clusters() int { return l.cfg.Clusters }

// Cluster returns prompt's cluster id, in [0, Clusters). The prompt is not
// kept.
func (l *Learner) Cluster(prompt string) int {
	if l.cfg.Cluster == nil {
		return 0
	}
	return l.clamp(l.cfg.Cluster(prompt))
}

func (l *Learner) clamp(cluster int) int {
	if cluster < 0 || cluster >= l.cfg.Clusters {
		return 0
	}
	return cluster
}

// cell returns the cell of (cluster, model index), or nil for an unknown
// cluster.
func (l *Learner) cell(cluster, model int) *cell {
	if cluster < 0 || cluster >= l.cfg.Clusters {
		return nil
	}
	return &l.cells[cluster*len(l.models)+model]
}

// decay is the weight now of an observation made at t (unix ns): 1 for t
// in the future.
func (l *Learner) decay(now, t int64) float64 {
	if now <= t {
		return 1
	}
	return math.Exp2(-float64(now-t) / l.halfLife)
}

// stats returns the decayed weight and score sum of (cluster, model) now.
func (l *Learner) stats(c *cell, now int64) (n, s float64) {
	n, s, t := c.load()
	if n == 0 {
		return 0, 0
	}
	f := l.decay(now, t)
	return n * f, s * f
}

// Blend replaces each q[i], the offline predicted quality of models[i] in
// [0,1], by its posterior mean given the feedback on models[i] in cluster:
// (k·q + s) / (k + n). Models without statistics, and an out-of-range
// cluster, leave q unchanged. It allocates nothing.
func (l *Learner) Blend(cluster int, models []string, q []float64) {
	if cluster < 0 || cluster >= l.cfg.Clusters {
		return
	}
	now := l.cfg.Now().UnixNano()
	k := l.cfg.PriorWeight
	for i, m := range models {
		if i >= len(q) {
			return
		}
		j, ok := l.index[m]
		if !ok {
			continue
		}
		n, s := l.stats(l.cell(cluster, j), now)
		if n > 0 {
			q[i] = (k*q[i] + s) / (k + n)
		}
	}
}

// Observation is one applied feedback, for Retract.
type Observation struct {
	cluster, model int
	score          float64
	label          string // as counted ("" for none)
	at             int64  // unix ns
}

// Observe records score in [0,1] for model in cluster, and counts label
// when it is not "". It returns the observation for a later Retract.
// Errors are *octomesh.Error: EINVALID for a score outside [0,1], an
// invalid label (octomesh.ValidFeedbackLabel) or cluster, ENOTFOUND for an
// unknown model.
func (l *Learner) Observe(cluster int, model string, score float64, label string) (Observation, error) {
	j, ok := l.index[model]
	switch {
	case !ok:
		return Observation{}, octomesh.Errorf(octomesh.ENOTFOUND, "no online statistics for model %q", clip(model))
	case cluster < 0 || cluster >= l.cfg.Clusters:
		return Observation{}, octomesh.Errorf(octomesh.EINVALID, "cluster %d out of range [0,%d)", cluster, l.cfg.Clusters)
	case math.IsNaN(score) || score < 0 || score > 1:
		return Observation{}, octomesh.Errorf(octomesh.EINVALID, "score must be between 0 and 1").WithParam("score")
	case label != "" && !octomesh.ValidFeedbackLabel(label):
		return Observation{}, octomesh.Errorf(octomesh.EINVALID, "invalid feedback label").WithParam("label")
	}
	now := l.cfg.Now().UnixNano()
	c := l.cell(cluster, j)
	c.mu.Lock()
	n, s := l.stats(c, now)
	n, s = n+1, s+score
	if n > l.cfg.MaxWeight {
		r := l.cfg.MaxWeight / n
		n, s = l.cfg.MaxWeight, s*r
	}
	c.store(n, s, now)
	c.mu.Unlock()
	o := Observation{cluster: cluster, model: j, score: score, at: now}
	if label != "" {
		o.label = l.countLabel(j, label, 1)
	}
	return o, nil
}

// Retract removes an earlier observation, as decayed since it was made
// (approximately, if the cell was capped at MaxWeight since). The zero
// Observation is ignored.
func (l *Learner) Retract(o Observation) {
	if o.at == 0 {
		return
	}
	now := l.cfg.Now().UnixNano()
	c := l.cell(o.cluster, o.model)
	c.mu.Lock()
	n, s := l.stats(c, now)
	w := l.decay(now, o.at)
	n, s = max(n-w, 0), max(s-w*o.score, 0)
	if n < 1e-9 {
		n, s = 0, 0
	}
	c.store(n, min(s, n), now)
	c.mu.Unlock()
	if o.label != "" {
		l.countLabel(o.model, o.label, -1)
	}
}

// countLabel adds d to (model, label), or to (model, OtherLabel) when the
// label is new and the counters are full, and returns the label counted.
func (l *Learner) countLabel(model int, label string, d int64) string {
	l.labelMu.Lock()
	defer l.labelMu.Unlock()
	k := labelKey{model, label}
	if _, ok := l.labels[k]; !ok && d > 0 && len(l.labels) >= l.cfg.MaxLabels {
		k.label = OtherLabel
	}
	l.labels[k] += d
	if l.labels[k] <= 0 {
		delete(l.labels, k)
	}
	return k.label
}

// clip shortens names echoed in error messages.
func clip(s string) string {
	if len(s) <= 128 {
		return s
	}
	return s[:128] + "…"
}

// cell is one (cluster, model) pair's statistics: decayed weight n and
// score sum s as of time t. Writers hold mu; readers take no lock and retry
// while seq is odd or changed under them (a sequence lock), so decisions
// never wait for feedback.
type cell struct {
	mu  sync.Mutex
	seq atomic.Uint64
	n   atomicFloat
	s   atomicFloat
	t   atomic.Int64
}

func (c *cell) load() (n, s float64, t int64) {
	for {
		q := c.seq.Load()
		if q&1 == 0 {
			n, s, t = c.n.load(), c.s.load(), c.t.Load()
			if c.seq.Load() == q {
				return n, s, t
			}
		}
		runtime.Gosched()
	}
}

// store publishes new values; the caller holds c.mu.
func (c *cell) store(n, s float64, t int64) {
	c.seq.Add(1)
	c.n.store(n)
	c.s.store(s)
	c.t.Store(t)
	c.seq.Add(1)
}

// atomicFloat is a float64 read and written atomically.
type atomicFloat struct{ bits atomic.Uint64 }

func (f *atomicFloat) load() float64   { return math.Float64frombits(f.bits.Load()) }
func (f *atomicFloat) store(v float64) { f.bits.Store(math.Float64bits(v)) }
func (f *atomicFloat) cas(old, v float64) bool {
	return f.bits.CompareAndSwap(math.Float64bits(old), math.Float64bits(v))
}
