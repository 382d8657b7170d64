package router

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/octomesh/octomesh"
)

// Router is the catalogue plus live routing state. Build it with New; it is
// safe for concurrent use.
type Router struct {
	cfg      Config
	now      octomesh.Clock
	rand     func() float64
	quality  QualityPredictor // nil when the static priors are used
	deps     []*deployment    // in config order
	byName   map[string]*deployment
	targets  map[string]*target // every requestable name except "auto"
	auto     *target
	version  string
	quantile []float64 // TTFB percentiles published per deployment, ascending
	q90, q99 int       // indexes of p90 and p99 in quantile
	retry    budget
	hedge    budget
	scratch  sync.Pool // *scratch
}

var _ octomesh.Catalog = (*Router)(nil)

// targetKind says what a requested name resolved to.
type targetKind uint8

const (
	kindDeployment targetKind = iota
	kindGroup
	kindAuto
)

// target is a requestable name resolved to its members.
type target struct {
	name    string
	kind    targetKind
	members []int // deployment indexes, in config order
	group   GroupConfig
	hedgeQ  int // index of group.HedgePercentile in Router.quantile
}

// New validates cfg and builds a Router. It returns an error naming the
// problem for empty, duplicate or reserved names, aliases to unknown names,
// group settings for groups no deployment serves, and out-of-range tuning.
func New(cfg Config) (*Router, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &Router{cfg: cfg, now: cfg.Now, rand: cfg.Rand, byName: map[string]*deployment{}, targets: map[string]*target{}}
	if r.now == nil {
		r.now = time.Now
	}
	if r.rand == nil {
		r.rand = rand.Float64
	}
	if cfg.Quality != nil {
		r.quality = cfg.Quality
	}
	if err := r.buildCatalogue(); err != nil {
		return nil, err
	}
	r.buildQuantiles()
	for _, d := range r.deps {
		d.quantiles = make([]atomicFloat, len(r.quantile))
	}
	r.retry.init(cfg.RetryBudget)
	r.hedge.init(cfg.HedgeBudget)
	n := len(r.deps)
	r.scratch.New = func() any { return newScratch(n) }
	v, err := policyVersion(&cfg)
	if err != nil {
		return nil, err
	}
	r.version = v
	return r, nil
}

func (r *Router) buildCatalogue() error {
	cfg := &r.cfg
	groups := map[string]*target{}
	var groupOrder []string
	for i := range cfg.Deployments {
		src := cfg.Deployments[i]
		switch {
		case src.Name == "":
			return fmt.Errorf("router config: deployment %d has no name", i)
		case src.Name == AutoModel:
			return fmt.Errorf("router config: deployment name %q is reserved", AutoModel)
		case src.Weight < 0:
			return fmt.Errorf("router config: deployment %q has a negative weight", src.Name)
		}
		if _, dup := r.byName[src.Name]; dup {
			return fmt.Errorf("router config: duplicate deployment name %q", src.Name)
		}
		src.Groups = slices.Clone(src.Groups)
		d := newDeployment(src, i, cfg)
		r.deps = append(r.deps, d)
		r.byName[src.Name] = d
		r.targets[src.Name] = &target{name: src.Name, kind: kindDeployment, members: []int{i}}
		for _, g := range src.Groups {
			if g == "" {
				return fmt.Errorf("router config: deployment %q lists an empty group name", src.Name)
			}
			t := groups[g]
			if t == nil {
				t = &target{name: g, kind: kindGroup, group: GroupConfig{Name: g}}
				groups[g] = t
				groupOrder = append(groupOrder, g)
			}
			if !slices.Contains(t.members, i) {
				t.members = append(t.members, i)
			}
		}
	}
	for _, gc := range cfg.Groups {
		t := groups[gc.Name]
		if t == nil {
			return fmt.Errorf("router config: group %q has settings but no deployment serves it", gc.Name)
		}
		if gc.HedgePercentile == 0 {
			gc.HedgePercentile = 0.9
		}
		if !(gc.HedgePercentile > 0 && gc.HedgePercentile < 1) {
			return fmt.Errorf("router config: group %q: hedge percentile must be in (0,1)", gc.Name)
		}
		if gc.HedgeDelay < 0 {
			return fmt.Errorf("router config: group %q: hedge delay must not be negative", gc.Name)
		}
		switch gc.Strategy {
		case "":
			gc.Strategy = StrategyWeighted
		case StrategyWeighted, StrategyLeastOutstanding, StrategyObjective:
		default:
			return fmt.Errorf("router config: group %q: unknown strategy %q (want weighted, least_outstanding or objective)", gc.Name, gc.Strategy)
		}
		if t.group.Strategy != "" {
			return fmt.Errorf("router config: group %q is configured twice", gc.Name)
		}
		t.group = gc
	}
	for _, g := range groupOrder {
		t := groups[g]
		if g == AutoModel {
			return fmt.Errorf("router config: group name %q is reserved", AutoModel)
		}
		if _, clash := r.targets[g]; clash {
			return fmt.Errorf("router config: group %q has the name of a deployment", g)
		}
		if t.group.Strategy == "" {
			t.group.Strategy = StrategyWeighted
			t.group.HedgePercentile = 0.9
		}
		r.targets[g] = t
	}
	aliases := make([]string, 0, len(cfg.Aliases))
	for a := range cfg.Aliases {
		aliases = append(aliases, a)
	}
	sort.Strings(aliases)
	resolved := map[string]*target{}
	for _, a := range aliases {
		to := cfg.Aliases[a]
		switch {
		case a == "":
			return fmt.Errorf("router config: empty alias name")
		case a == AutoModel:
			return fmt.Errorf("router config: alias name %q is reserved", AutoModel)
		}
		if _, clash := r.targets[a]; clash {
			return fmt.Errorf("router config: alias %q has the name of a deployment or group", a)
		}
		t, ok := r.targets[to]
		if !ok {
			return fmt.Errorf("router config: alias %q points to unknown deployment or group %q", a, to)
		}
		resolved[a] = t
	}
	for a, t := range resolved {
		r.targets[a] = t
	}
	// A deployment's bare upstream model name is an alias when it is unique
	// and not otherwise taken, so SDK defaults like "gpt-4o-mini" work.
	bare := map[string][]int{}
	for i, d := range r.deps {
		if b := d.d.UpstreamModel; b != "" && b != d.d.Name {
			bare[b] = append(bare[b], i)
		}
	}
	for b, idx := range bare {
		if _, taken := r.targets[b]; len(idx) == 1 && !taken && b != AutoModel {
			r.targets[b] = r.targets[r.deps[idx[0]].d.Name]
		}
	}
	for name := range cfg.QualityPriors {
		if _, ok := r.byName[name]; !ok {
			return fmt.Errorf("router config: quality prior for unknown deployment %q", name)
		}
	}
	r.auto = &target{name: AutoModel, kind: kindAuto, group: GroupConfig{Name: AutoModel, Strategy: StrategyObjective}}
	for i, d := range r.deps {
		if d.chat {
			r.auto.members = append(r.auto.members, i)
		}
	}
	return nil
}

// buildQuantiles collects the TTFB percentiles every deployment publishes:
// p50, p90 (latency tail), p99 (first-byte timeouts) and each group's hedge
// percentile.
func (r *Router) buildQuantiles() {
	qs := []float64{0.5, 0.9, 0.99}
	for _, t := range r.targets {
		if t.kind == kindGroup {
			qs = append(qs, t.group.HedgePercentile)
		}
	}
	slices.Sort(qs)
	r.quantile = slices.Compact(qs)
	r.q90, _ = slices.BinarySearch(r.quantile, 0.9)
	r.q99, _ = slices.BinarySearch(r.quantile, 0.99)
	for _, t := range r.targets {
		if t.kind == kindGroup {
			t.hedgeQ, _ = slices.BinarySearch(r.quantile, t.group.HedgePercentile)
		}
	}
}

// resolve returns the target a requested name denotes, or nil.
func (r *Router) resolve(name string) *target {
	if name == AutoModel {
		return r.auto
	}
	return r.targets[name]
}

// Deployment returns the deployment with the given name, alias or unique
// bare upstream model name; ok is false for unknown names and for names of
// groups. The deployment must not be modified.
func (r *Router) Deployment(name string) (*octomesh.Deployment, bool) {
	t := r.resolve(name)
	if t == nil || t.kind != kindDeployment {
		return nil, false
	}
	return &r.deps[t.members[0]].d, true
}

// Deployments lists every deployment in config order. The slice is new; the
// deployments must not be modified.
func (r *Router) Deployments() []*octomesh.Deployment {
	out := make([]*octomesh.Deployment, len(r.deps))
	for i, d := range r.deps {
		out[i] = &d.d
	}
	return out
}

// Members returns the names of the deployments a requestable name (a
// deployment, group, alias, bare upstream name or "auto") resolves to, in
// config order; ok is false for unknown names.
func (r *Router) Members(name string) (names []string, ok bool) {
	t := r.resolve(name)
	if t == nil {
		return nil, false
	}
	for _, i := range t.members {
		names = append(names, r.deps[i].d.Name)
	}
	return names, true
}

// PolicyVersion is a hash of the configuration, recorded in every Decision
// so that decisions made under different configs can be told apart.
func (r *Router) PolicyVersion() string { return r.version }

// policyVersion hashes the configuration's data (not its functions).
func policyVersion(c *Config) (string, error) {
	type hashed struct {
		Deployments   []octomesh.Deployment
		Aliases       map[string]string
		Groups        []GroupConfig
		Defaults      octomesh.RouteOptions
		MaxAttempts   int
		Retry, Hedge  BudgetConfig
		Health        HealthConfig
		Timeouts      TimeoutConfig
		Stats         StatsConfig
		QualityPriors map[string]float64
		Default       float64
		Predictor     string
	}
	h := hashed{c.Deployments, c.Aliases, c.Groups, c.Defaults, c.MaxAttempts, c.RetryBudget, c.HedgeBudget,
		c.Health, c.Timeouts, c.Stats, c.QualityPriors, c.DefaultQuality, ""}
	if c.Quality != nil {
		h.Predictor = fmt.Sprintf("%T", c.Quality)
	}
	b, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("router config: hash: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8]), nil
}
