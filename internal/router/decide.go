package router

import (
	"time"

	"github.com/octomesh/octomesh"
)

// DefaultQualityFloor is the quality objective's floor (a fraction of the
// best candidate's predicted quality) when no layer of the options sets one.
const DefaultQualityFloor = 0.9

// candidate is the working state of one deployment during a decision.
type candidate struct {
	dep        int   // index in Router.deps
	seg        int   // 0: the requested name; k: the k-th fallback
	rule       rule  // the first constraint it fails; ruleOK when eligible
	retryAfter int64 // ns, for health exclusions
	detail     int64 // a number for the exclusion reason (tokens, cost …)
	panic      bool
	probe      bool

	quality     float64
	cost        octomesh.Money
	latency     float64 // ms
	score       float64
	key         float64 // weighted-random priority: larger first
	load        float64 // outstanding per weight
	outstanding int64
	samples     int64 // TTFB samples in the window
}

// scratch is per-decision working memory, pooled so that a decision
// allocates only what it returns.
type scratch struct {
	cands   []candidate
	pos     []int32 // per deployment: index in cands, or -1
	allowed []bool  // per deployment: the key allows it
	elig    []int   // indexes in cands of eligible candidates
	order   []int   // plan order, indexes in cands
	tmp     []int
	names   []string
	qs      []float64 // predicted qualities, in names' order
	targets []*target
}

func newScratch(n int) *scratch {
	sc := &scratch{
		cands:   make([]candidate, 0, n),
		pos:     make([]int32, n),
		allowed: make([]bool, n),
		elig:    make([]int, 0, n),
		order:   make([]int, 0, n),
		tmp:     make([]int, 0, n),
		names:   make([]string, 0, n),
		qs:      make([]float64, 0, n),
		targets: make([]*target, 0, MaxFallbacks+1),
	}
	for i := range sc.pos {
		sc.pos[i] = -1
	}
	return sc
}

func (sc *scratch) reset() {
	for i := range sc.cands {
		sc.pos[sc.cands[i].dep] = -1
	}
	clear(sc.allowed)
	clear(sc.names)
	clear(sc.targets)
	sc.cands, sc.elig, sc.order, sc.tmp, sc.names, sc.targets = sc.cands[:0], sc.elig[:0], sc.order[:0], sc.tmp[:0], sc.names[:0], sc.targets[:0]
}

// facts are what a request needs from a deployment, computed once.
type facts struct {
	estimate  int // prompt tokens, estimated
	maxOut    int // the request's output cap; 0 if none
	tools     bool
	schema    bool
	vision    bool
	stream    bool
	costCap   octomesh.Money
	hasCap    bool
	objective octomesh.Objective
	now       int64
}

// Decide routes one chat request. opts are the merged route options (see
// Merge); key restricts which deployments the caller may use.
//
// It resolves req.Model (a deployment, group, alias, unique bare upstream
// name, or "auto") and opts.Fallbacks to candidates, excludes the ineligible
// recording why, ranks the rest by the objective (load-balancing within
// groups), and returns the plan. Decide does not change live state; Acquire
// and End do.
//
// Errors are *octomesh.Error: EINVALID for a missing model or invalid
// options (Param names the field), ENOTFOUND for an unknown model, and when
// no candidate is eligible, a 4xx naming the constraints — EINVALID for
// capabilities, data policy, regions and the cost cap (ECONTEXTLENGTH when
// only the context window fails), EFORBIDDEN when the key's allow-list
// excludes everything — or EUNAVAILABLE with RetryAfter when only open
// circuits or cool-downs stand in the way. It never falls back to a
// deployment that breaks a constraint. On that last kind of error (no
// eligible candidate) the returned Plan is non-nil, with no attempts, and
// holds the Decision so it can be recorded and explained.
//
// Decide is safe for concurrent use. It allocates only the Plan (and the
// reason texts of excluded candidates).
func (r *Router) Decide(req *octomesh.ChatRequest, opts octomesh.RouteOptions, key KeyScope) (*Plan, error) {
	return r.decide(nil, req, opts, key)
}

// PlanSpace is room for a small plan (up to two attempts) with its
// Decision, which DecideIn makes its plan in instead of allocating one.
// Its zero value is ready to use.
type PlanSpace struct{ box smallPlanBox }

// DecideIn is Decide making the plan in *space when it is small enough
// (a plan of more attempts is allocated as Decide does). The caller owns
// the space: the plan and its Decision live in it, so it must not be
// reused while either is in use.
func (r *Router) DecideIn(space *PlanSpace, req *octomesh.ChatRequest, opts octomesh.RouteOptions, key KeyScope) (*Plan, error) {
	return r.decide(space, req, opts, key)
}

func (r *Router) decide(space *PlanSpace, req *octomesh.ChatRequest, opts octomesh.RouteOptions, key KeyScope) (*Plan, error) {
	if req == nil || req.Model == "" {
		return nil, octomesh.Errorf(octomesh.EINVALID, "you must provide a model parameter").WithParam("model")
	}
	costCap, hasCap, oerr := checkOptions(&opts)
	if oerr != nil {
		return nil, oerr
	}
	t := r.resolve(req.Model)
	if t == nil {
		return nil, octomesh.Errorf(octomesh.ENOTFOUND, "The model %q does not exist or you do not have access to it.", clip(req.Model)).WithParam("model")
	}
	sc := r.scratch.Get().(*scratch)
	defer func() {
		sc.reset()
		r.scratch.Put(sc)
	}()
	sc.targets = append(sc.targets, t)
	for _, name := range opts.Fallbacks {
		ft := r.resolve(name)
		if ft == nil {
			return nil, octomesh.Errorf(octomesh.EINVALID, "fallback model %q does not exist", clip(name)).WithParam("octomesh.fallbacks")
		}
		sc.targets = append(sc.targets, ft)
	}
	f := facts{
		estimate: req.EstimateTokens(),
		maxOut:   req.MaxOutputTokens(),
		tools:    len(req.Tools) > 0,
		schema:   req.ResponseFormat != nil && req.ResponseFormat.Type == octomesh.FormatJSONSchema,
		vision:   req.HasImages(),
		stream:   req.Stream,
		costCap:  costCap,
		hasCap:   hasCap,
		now:      r.now().UnixNano(),
	}
	f.objective = opts.Objective
	if f.objective == "" {
		f.objective = r.cfg.Defaults.Objective
	}
	if f.objective == "" {
		f.objective = octomesh.ObjectiveCheapest
	}

	if len(key.Allowed) > 0 {
		for _, name := range key.Allowed {
			if at := r.resolve(name); at != nil {
				for _, m := range at.members {
					sc.allowed[m] = true
				}
			}
		}
	}
	for seg, tg := range sc.targets {
		for _, m := range tg.members {
			if sc.pos[m] >= 0 {
				continue
			}
			sc.pos[m] = int32(len(sc.cands))
			sc.cands = append(sc.cands, candidate{dep: m, seg: seg})
		}
	}
	restricted := len(key.Allowed) > 0
	for i := range sc.cands {
		c := &sc.cands[i]
		r.check(c, &f, &opts, restricted && !sc.allowed[c.dep])
	}
	r.panicFloor(sc)
	for i := range sc.cands {
		if sc.cands[i].rule == ruleOK {
			sc.elig = append(sc.elig, i)
		}
	}
	if len(sc.elig) == 0 {
		p := r.newPlan(space, req, sc, &f, 0)
		return p, r.noCandidate(req.Model, sc)
	}

	r.predictQuality(req, sc, f.objective == octomesh.ObjectiveQuality || f.objective == octomesh.ObjectiveWeighted)
	r.score(sc, &f, &opts)
	r.order(sc)

	p := r.newPlan(space, req, sc, &f, len(sc.order))
	total := r.cfg.Timeouts.Total
	if opts.TimeoutMS > 0 {
		total = min(total, time.Duration(opts.TimeoutMS)*time.Millisecond)
	}
	for k, ci := range sc.order {
		c := &sc.cands[ci]
		d := r.deps[c.dep]
		p.Attempts[k] = PlannedAttempt{
			Deployment: &d.d,
			Timeouts:   r.timeouts(d, c.samples, total, f.estimate),
			Probe:      c.probe,
			Panic:      c.panic,
			Fallback:   c.seg > 0,
			idx:        c.dep,
		}
		p.Decision.Candidates[k] = octomesh.CandidateScore{
			Deployment:      d.d.Name,
			Quality:         c.quality,
			ExpectedCost:    c.cost,
			ExpectedLatency: c.latency,
			Score:           c.score,
			Outstanding:     int(c.outstanding),
			Probe:           c.probe,
			PanicFloor:      c.panic,
		}
		p.Decision.Plan[k] = d.d.Name
	}
	if len(p.Attempts) == 1 && r.cfg.Health.MaxEjectedFraction < 1 {
		p.Attempts[0].LastResort = true
	}
	p.Hedge = r.hedgeSpec(t, &opts, p, sc)
	return p, nil
}

// planBox holds a Plan and its Decision in one allocation.
type planBox struct {
	plan Plan
	dec  octomesh.Decision
}

// smallPlan is the most attempts a smallPlanBox has room for: a request
// naming one deployment, or a group or fallback list of two.
const smallPlan = 2

// smallPlanBox is a planBox with room for the plan's per-attempt slices,
// so that a small plan is one allocation instead of four.
type smallPlanBox struct {
	planBox
	attempts [smallPlan]PlannedAttempt
	cands    [smallPlan]octomesh.CandidateScore
	names    [smallPlan]string
}

// requested is the model name the decision records: the resolved
// target's own string when it is the name asked for, so that a decision,
// which lives as long as its stream, does not keep the decoded request's
// strings (its prompt's text, often in the same allocation) alive.
func requested(model string, targets []*target) string {
	if len(targets) > 0 && targets[0].name == model {
		return targets[0].name
	}
	return model
}

// newPlan allocates the plan for n attempts (in space, if it is small
// enough and space is not nil) and records the exclusions.
func (r *Router) newPlan(space *PlanSpace, req *octomesh.ChatRequest, sc *scratch, f *facts, n int) *Plan {
	var b *planBox
	var attempts []PlannedAttempt
	var cands []octomesh.CandidateScore
	var names []string
	if n <= smallPlan {
		var sb *smallPlanBox
		if space != nil {
			sb = &space.box
			*sb = smallPlanBox{}
		} else {
			sb = &smallPlanBox{}
		}
		b = &sb.planBox
		attempts, cands, names = sb.attempts[:n:n], sb.cands[:n:n], sb.names[:n:n]
	} else {
		b = &planBox{}
		attempts, cands, names = make([]PlannedAttempt, n), make([]octomesh.CandidateScore, n), make([]string, n)
	}
	p := &b.plan
	p.Decision = &b.dec
	p.MaxAttempts = r.cfg.MaxAttempts
	p.Attempts = attempts
	b.dec = octomesh.Decision{
		Time:          time.Unix(0, f.now),
		Requested:     requested(req.Model, sc.targets),
		Objective:     f.objective,
		PolicyVersion: r.version,
		Candidates:    cands,
		Plan:          names,
	}
	excluded := len(sc.cands) - len(sc.elig)
	b.dec.Excluded = make([]octomesh.Exclusion, 0, excluded)
	for i := range sc.cands {
		c := &sc.cands[i]
		if c.rule != ruleOK {
			b.dec.Excluded = append(b.dec.Excluded, octomesh.Exclusion{
				Deployment: r.deps[c.dep].d.Name,
				Constraint: c.rule.String(),
				Reason:     r.reason(c, f),
			})
		}
	}
	return p
}

// timeouts returns the per-attempt timeouts for d: the configured ones,
// with the first-byte bound tightened to FirstByteFactor × p99(TTFB) (no
// lower than FirstByteFloor), plus PrefillPer1k per 1,000 of the request's
// promptTokens, once d has enough samples; all within total.
func (r *Router) timeouts(d *deployment, samples int64, total time.Duration, promptTokens int) Timeouts {
	tc := &r.cfg.Timeouts
	fb := tc.FirstByte
	if samples >= int64(r.cfg.Stats.MinSamples) {
		p99 := d.quantiles[r.q99].Load()
		adaptive := max(time.Duration(p99*tc.FirstByteFactor*float64(time.Millisecond)), tc.FirstByteFloor)
		adaptive += tc.PrefillPer1k * time.Duration(max(promptTokens, 0)) / 1000
		fb = min(fb, adaptive)
	}
	return Timeouts{
		Connect:   min(tc.Connect, total),
		FirstByte: min(fb, total),
		Idle:      min(tc.Idle, total),
		Total:     total,
	}
}

// hedgeSpec enables hedging for requests naming a group that allows it,
// unless the options turn it off or the plan has no second attempt. The
// delay is the group's percentile of the primary's live TTFB, or the
// group's HedgeDelay while the primary has too few samples.
func (r *Router) hedgeSpec(t *target, opts *octomesh.RouteOptions, p *Plan, sc *scratch) HedgeSpec {
	if t.kind != kindGroup || !t.group.Hedge || (opts.Hedge != nil && !*opts.Hedge) || len(p.Attempts) < 2 || p.MaxAttempts < 2 {
		return HedgeSpec{}
	}
	primary := &sc.cands[sc.order[0]]
	if primary.samples >= int64(r.cfg.Stats.MinSamples) {
		ms := r.deps[primary.dep].quantiles[t.hedgeQ].Load()
		return HedgeSpec{Enabled: true, After: time.Duration(ms * float64(time.Millisecond))}
	}
	if t.group.HedgeDelay > 0 {
		return HedgeSpec{Enabled: true, After: t.group.HedgeDelay}
	}
	return HedgeSpec{}
}

// clip shortens caller-supplied names echoed in error messages.
func clip(s string) string {
	if len(s) <= 128 {
		return s
	}
	return s[:128] + "…"
}
