package router

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
)

// TestExclusions checks every exclusion reason twice: in a group with a
// compliant member (the bad one is excluded and recorded, the good one
// planned) and alone (the request fails with the right code, naming the
// constraint, and the decision still records why).
func TestExclusions(t *testing.T) {
	withTools := func(r *octomesh.ChatRequest) {
		r.Tools = []octomesh.Tool{{Type: "function", Function: octomesh.FunctionDef{Name: "f"}}}
	}
	tests := []struct {
		name       string
		bad        func(*octomesh.Deployment)
		req        func(*octomesh.ChatRequest)
		opts       octomesh.RouteOptions
		key        KeyScope
		setup      func(r *Router, clk *fakeClock)
		health     HealthConfig
		constraint string
		reason     string
		code       octomesh.ErrorCode
		param      string
		retryAfter time.Duration
		message    string
	}{
		{
			name:       "embedding model",
			bad:        func(d *octomesh.Deployment) { d.Capabilities = octomesh.Capabilities{Embeddings: true} },
			constraint: "capability:chat", reason: "it is an embedding model and cannot serve chat completions",
			code: octomesh.EINVALID, param: "model",
		},
		{
			name:       "streaming",
			bad:        func(d *octomesh.Deployment) { d.Capabilities.Streaming = false },
			req:        func(r *octomesh.ChatRequest) { r.Stream = true },
			constraint: "capability:streaming", reason: "it does not support streaming",
			code: octomesh.EINVALID, param: "stream",
		},
		{
			name:       "tools",
			bad:        func(d *octomesh.Deployment) { d.Capabilities.Tools = false },
			req:        withTools,
			constraint: "capability:tools", reason: "it does not support tools",
			code: octomesh.EINVALID, param: "tools",
		},
		{
			name: "json schema",
			bad:  func(d *octomesh.Deployment) { d.Capabilities.JSONSchema = false },
			req: func(r *octomesh.ChatRequest) {
				r.ResponseFormat = &octomesh.ResponseFormat{Type: octomesh.FormatJSONSchema, JSONSchema: &octomesh.JSONSchema{Name: "x"}}
			},
			constraint: "capability:json_schema", reason: "it does not support json_schema response formats",
			code: octomesh.EINVALID, param: "response_format",
		},
		{
			name: "vision",
			bad:  func(d *octomesh.Deployment) { d.Capabilities.Vision = false },
			req: func(r *octomesh.ChatRequest) {
				r.Messages[0].Content = octomesh.Content{Array: true, Parts: []octomesh.Part{{Type: octomesh.PartImageURL, ImageURL: &octomesh.ImageURL{URL: "https://x/y.png"}}}}
			},
			constraint: "capability:vision", reason: "it does not accept images",
			code: octomesh.EINVALID, param: "messages",
		},
		{
			name:       "max output tokens",
			bad:        func(d *octomesh.Deployment) { d.MaxOutputTokens = 100 },
			req:        func(r *octomesh.ChatRequest) { r.MaxTokens = ptr(200) },
			constraint: "max_output_tokens", reason: "max tokens 200 exceed its output limit of 100",
			code: octomesh.EINVALID, param: "max_tokens",
		},
		{
			// "hello there" estimates at 10 tokens; plus max_tokens 100.
			name:       "context window",
			bad:        func(d *octomesh.Deployment) { d.ContextWindow = 50 },
			req:        func(r *octomesh.ChatRequest) { r.MaxTokens = ptr(100) },
			constraint: "context_window", reason: "the request needs about 110 tokens (prompt estimate plus max tokens); its context window is 50",
			code: octomesh.ECONTEXTLENGTH, param: "messages",
		},
		{
			name:       "zero retention, retains",
			bad:        func(d *octomesh.Deployment) { d.DataPolicy.RetainsPrompts = octomesh.Yes },
			opts:       octomesh.RouteOptions{ZeroRetention: true},
			constraint: "policy:zero_retention", reason: "zero retention is required and it retains prompts",
			code: octomesh.EINVALID, param: "octomesh.zero_retention",
		},
		{
			name:       "zero retention, unknown fails closed",
			bad:        func(d *octomesh.Deployment) { d.DataPolicy.RetainsPrompts = octomesh.Unknown },
			opts:       octomesh.RouteOptions{ZeroRetention: true},
			constraint: "policy:zero_retention", reason: "zero retention is required and its retention policy is unknown (unknown fails closed)",
			code: octomesh.EINVALID, param: "octomesh.zero_retention",
		},
		{
			name:       "zero retention, unset fails closed",
			bad:        func(d *octomesh.Deployment) { d.DataPolicy = octomesh.DataPolicy{} },
			opts:       octomesh.RouteOptions{ZeroRetention: true},
			constraint: "policy:zero_retention", reason: "zero retention is required and its retention policy is unknown (unknown fails closed)",
			code: octomesh.EINVALID, param: "octomesh.zero_retention",
		},
		{
			name:       "no training, trains",
			bad:        func(d *octomesh.Deployment) { d.DataPolicy.TrainsOnData = octomesh.Yes },
			opts:       octomesh.RouteOptions{NoTraining: true},
			constraint: "policy:no_training", reason: "no training is required and it trains on data",
			code: octomesh.EINVALID, param: "octomesh.no_training",
		},
		{
			name:       "no training, unknown fails closed",
			bad:        func(d *octomesh.Deployment) { d.DataPolicy.TrainsOnData = octomesh.Unknown },
			opts:       octomesh.RouteOptions{NoTraining: true},
			constraint: "policy:no_training", reason: "no training is required and its training policy is unknown (unknown fails closed)",
			code: octomesh.EINVALID, param: "octomesh.no_training",
		},
		{
			name:       "region",
			bad:        func(d *octomesh.Deployment) { d.Region = "eu-west-1" },
			opts:       octomesh.RouteOptions{Regions: []string{"US"}},
			constraint: "policy:region", reason: `its region "eu-west-1" is not among the allowed regions`,
			code: octomesh.EINVALID, param: "octomesh.regions",
		},
		{
			name:       "region unknown",
			bad:        func(d *octomesh.Deployment) { d.Region = "" },
			opts:       octomesh.RouteOptions{Regions: []string{"us"}},
			constraint: "policy:region", reason: "regions are restricted and its region is unknown",
			code: octomesh.EINVALID, param: "octomesh.regions",
		},
		{
			// 10 prompt tokens and 256 expected output tokens at $100/$200
			// per Mtok: $0.0522. The good one costs $0.000522.
			name:       "cost cap",
			bad:        price("100", "200"),
			opts:       octomesh.RouteOptions{MaxCostUSD: "0.01"},
			constraint: "cost_cap", reason: "its expected cost $0.0522 exceeds the cost cap of $0.01",
			code: octomesh.EINVALID, param: "octomesh.max_cost_usd",
		},
		{
			name:       "key allow-list",
			key:        KeyScope{Allowed: []string{"ok"}},
			constraint: "key:allowlist", reason: "the API key is not allowed to use this model",
			code: octomesh.EFORBIDDEN, param: "model",
			message: `this API key is not allowed to use model "bad"`,
		},
		{
			name:       "cooling down",
			setup:      func(r *Router, clk *fakeClock) { r.CoolDown("bad", clk.Now().Add(5*time.Second)) },
			constraint: "cooling_down", reason: "it asked us to retry after 2025-01-01T12:00:05Z (Retry-After)",
			code: octomesh.EUNAVAILABLE, param: "", retryAfter: 5 * time.Second,
			message: `no deployment of model "bad" can take requests now (cooling_down); retry after 5s`,
		},
		{
			// Alone, an open circuit is kept by the panic floor
			// (TestPanicFloor); with the floor off it is excluded.
			name:       "circuit open",
			setup:      func(r *Router, clk *fakeClock) { fail(r, "bad", 5) },
			health:     HealthConfig{MaxEjectedFraction: 1},
			constraint: "circuit_open", reason: "its circuit is open after failures until 2025-01-01T12:00:10Z",
			code: octomesh.EUNAVAILABLE, param: "", retryAfter: 10 * time.Second,
			message: `no deployment of model "bad" can take requests now (circuit_open); retry after 10s`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := dep("bad", groups("g"))
			if tt.bad != nil {
				tt.bad(&bad)
			}
			r, clk := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("ok", groups("g")), bad}, Health: tt.health})
			if tt.setup != nil {
				tt.setup(r, clk)
			}
			key := tt.key
			wantExcl := []octomesh.Exclusion{{Deployment: "bad", Constraint: tt.constraint, Reason: tt.reason}}

			req := chat("g")
			if tt.req != nil {
				tt.req(req)
			}
			p, err := r.Decide(req, tt.opts, key)
			if err != nil {
				t.Fatalf("Decide(g): %v", err)
			}
			if got := planNames(p); !cmp.Equal(got, []string{"ok"}) {
				t.Errorf("plan = %v, want [ok]", got)
			}
			if diff := cmp.Diff(wantExcl, p.Decision.Excluded); diff != "" {
				t.Errorf("excluded (-want +got):\n%s", diff)
			}

			req.Model = "bad"
			p, err = r.Decide(req, tt.opts, key)
			if err == nil {
				t.Fatalf("Decide(bad) succeeded with plan %v; want an error", planNames(p))
			}
			e := asError(t, err)
			msg := tt.message
			if msg == "" {
				msg = `no deployment of model "bad" satisfies this request: ` + tt.constraint
			}
			if e.Code != tt.code || e.Param != tt.param || e.RetryAfter != tt.retryAfter || e.Message != msg {
				t.Errorf("error = {%s %q %q %v}, want {%s %q %q %v}", e.Code, e.Param, e.Message, e.RetryAfter, tt.code, tt.param, msg, tt.retryAfter)
			}
			if p == nil || len(p.Attempts) != 0 {
				t.Fatalf("plan on error = %+v; want a plan with the decision and no attempts", p)
			}
			if diff := cmp.Diff(wantExcl, p.Decision.Excluded); diff != "" {
				t.Errorf("excluded on error (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFailClosedNeverFallsBack: under zero retention, non-compliant
// deployments are never planned, even as explicit fallbacks, and the error
// names every constraint that stood in the way.
func TestFailClosedNeverFallsBack(t *testing.T) {
	r, _ := newRouter(t, Config{Deployments: []octomesh.Deployment{
		dep("unknown", func(d *octomesh.Deployment) { d.DataPolicy.RetainsPrompts = octomesh.Unknown }),
		dep("retains", func(d *octomesh.Deployment) { d.DataPolicy.RetainsPrompts = octomesh.Yes }),
		dep("notools", func(d *octomesh.Deployment) { d.Capabilities.Tools = false }),
	}})
	req := chat("unknown")
	req.Tools = []octomesh.Tool{{Type: "function", Function: octomesh.FunctionDef{Name: "f"}}}
	p, err := r.Decide(req, octomesh.RouteOptions{ZeroRetention: true, Fallbacks: []string{"retains", "notools"}}, KeyScope{})
	e := asError(t, err)
	want := `no deployment of model "unknown" satisfies this request: capability:tools, policy:zero_retention`
	if e.Code != octomesh.EINVALID || e.Message != want || e.Param != "tools" {
		t.Errorf("error = %s %q (param %q), want invalid_request %q (param tools)", e.Code, e.Message, e.Param, want)
	}
	got := []string{}
	for _, x := range p.Decision.Excluded {
		got = append(got, x.Deployment+"="+x.Constraint)
	}
	if want := []string{"unknown=policy:zero_retention", "retains=policy:zero_retention", "notools=capability:tools"}; !cmp.Equal(got, want) {
		t.Errorf("exclusions = %v, want %v", got, want)
	}
}

func TestAllowList(t *testing.T) {
	r, _ := newRouter(t, Config{
		Deployments: []octomesh.Deployment{dep("a", groups("g")), dep("b", groups("g")), dep("c")},
		Aliases:     map[string]string{"alias-c": "c"},
	})
	tests := []struct {
		allowed []string
		model   string
		want    []string
		code    octomesh.ErrorCode
	}{
		{nil, "g", []string{"a", "b"}, ""},
		{[]string{"g"}, "g", []string{"a", "b"}, ""},
		{[]string{"a"}, "g", []string{"a"}, ""},
		{[]string{"g"}, "c", nil, octomesh.EFORBIDDEN},
		{[]string{"alias-c"}, "c", []string{"c"}, ""},
		{[]string{"auto"}, "c", []string{"c"}, ""},
		{[]string{"c"}, "auto", []string{"c"}, ""},
		{[]string{"no-such-model"}, "a", nil, octomesh.EFORBIDDEN},
	}
	for _, tt := range tests {
		p, err := r.Decide(chat(tt.model), octomesh.RouteOptions{Objective: octomesh.ObjectiveCheapest}, KeyScope{Allowed: tt.allowed})
		if tt.code != "" {
			if e := asError(t, err); e.Code != tt.code {
				t.Errorf("allowed %v, model %s: code %s, want %s", tt.allowed, tt.model, e.Code, tt.code)
			}
			continue
		}
		if err != nil {
			t.Errorf("allowed %v, model %s: %v", tt.allowed, tt.model, err)
			continue
		}
		got := planNames(p)
		if len(tt.want) == 2 { // group order is load-balanced; compare as a set
			got = sorted(got)
		}
		if !cmp.Equal(got, tt.want) {
			t.Errorf("allowed %v, model %s: plan %v, want %v", tt.allowed, tt.model, got, tt.want)
		}
	}
}

func TestDecideInputErrors(t *testing.T) {
	r, _ := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a")}})
	tests := []struct {
		name  string
		model string
		opts  octomesh.RouteOptions
		code  octomesh.ErrorCode
		param string
		msg   string
	}{
		{"no model", "", octomesh.RouteOptions{}, octomesh.EINVALID, "model", "you must provide a model parameter"},
		{"unknown model", "gpt-9", octomesh.RouteOptions{}, octomesh.ENOTFOUND, "model", `The model "gpt-9" does not exist or you do not have access to it.`},
		{"unknown fallback", "a", octomesh.RouteOptions{Fallbacks: []string{"zzz"}}, octomesh.EINVALID, "octomesh.fallbacks", `fallback model "zzz" does not exist`},
		{"invalid options", "a", octomesh.RouteOptions{Objective: "best"}, octomesh.EINVALID, "octomesh.objective", "objective must be cheapest, fastest, quality or weighted"},
	}
	for _, tt := range tests {
		p, err := r.Decide(chat(tt.model), tt.opts, KeyScope{})
		e := asError(t, err)
		if p != nil || e.Code != tt.code || e.Param != tt.param || e.Message != tt.msg {
			t.Errorf("%s: plan %v, error {%s %q %q}; want nil plan, {%s %q %q}", tt.name, p, e.Code, e.Param, e.Message, tt.code, tt.param, tt.msg)
		}
	}
}

// TestHealthBeatsStaticInErrors: when one candidate is only cooling down
// and another is non-compliant, the caller gets 503 with Retry-After (the
// request can succeed later), not a 400.
func TestHealthBeatsStaticInErrors(t *testing.T) {
	r, clk := newRouter(t, Config{Deployments: []octomesh.Deployment{
		dep("a", groups("g")),
		dep("b", groups("g"), func(d *octomesh.Deployment) { d.Capabilities.Streaming = false }),
	}})
	r.CoolDown("a", clk.Now().Add(3*time.Second))
	req := chat("g")
	req.Stream = true
	_, err := r.Decide(req, octomesh.RouteOptions{}, KeyScope{})
	if e := asError(t, err); e.Code != octomesh.EUNAVAILABLE || e.RetryAfter != 3*time.Second {
		t.Errorf("error = %s retry %v, want unavailable retry 3s", e.Code, e.RetryAfter)
	}
}

func TestDecisionRecord(t *testing.T) {
	r, clk := newRouter(t, Config{Deployments: []octomesh.Deployment{
		dep("cheap", price("0.1", "0.2"), groups("g")),
		dep("dear", price("10", "20"), groups("g")),
	}, Groups: []GroupConfig{{Name: "g", Strategy: StrategyObjective}}})
	p, err := r.Decide(chat("g"), octomesh.RouteOptions{Objective: octomesh.ObjectiveCheapest}, KeyScope{})
	if err != nil {
		t.Fatal(err)
	}
	want := &octomesh.Decision{
		Time:          clk.Now(),
		Requested:     "g",
		Objective:     octomesh.ObjectiveCheapest,
		PolicyVersion: r.PolicyVersion(),
		Candidates: []octomesh.CandidateScore{
			// 10 prompt + 256 output tokens; latency = 1s prior TTFB + 256 tokens at 50/s.
			{Deployment: "cheap", Quality: 0.5, ExpectedCost: 52_200, ExpectedLatency: 6120, Score: -0.0000522},
			{Deployment: "dear", Quality: 0.5, ExpectedCost: 5_220_000, ExpectedLatency: 6120, Score: -0.00522},
		},
		Excluded: []octomesh.Exclusion{},
		Plan:     []string{"cheap", "dear"},
	}
	if diff := cmp.Diff(want, p.Decision, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("decision (-want +got):\n%s", diff)
	}
	if p.MaxAttempts != 3 || p.Hedge.Enabled {
		t.Errorf("max attempts %d, hedge %+v; want 3 and no hedging", p.MaxAttempts, p.Hedge)
	}
	if a := p.Attempts[1]; a.Probe || a.Panic || a.Fallback {
		t.Errorf("attempt flags %+v; want none", a)
	}
}

// A small plan's slices share one allocation with the plan: each is
// exactly as long as its capacity, so that appending to one (an executor
// recording more) cannot write into another, and plans never share them.
func TestSmallPlanSlicesAreSeparate(t *testing.T) {
	r, _ := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a", groups("g")), dep("b", groups("g")), dep("c")}})
	for _, model := range []string{"a", "g"} {
		p1, err := r.Decide(chat(model), octomesh.RouteOptions{}, KeyScope{})
		if err != nil {
			t.Fatal(err)
		}
		p2, err := r.Decide(chat(model), octomesh.RouteOptions{}, KeyScope{})
		if err != nil {
			t.Fatal(err)
		}
		n := len(p1.Attempts)
		d := p1.Decision
		if cap(p1.Attempts) != n || len(d.Candidates) != n || cap(d.Candidates) != n || len(d.Plan) != n || cap(d.Plan) != n {
			t.Fatalf("%s: attempts %d/%d, candidates %d/%d, plan %d/%d; want all %d/%d",
				model, n, cap(p1.Attempts), len(d.Candidates), cap(d.Candidates), len(d.Plan), cap(d.Plan), n, n)
		}
		if &p1.Attempts[0] == &p2.Attempts[0] || &d.Plan[0] == &p2.Decision.Plan[0] || d == p2.Decision {
			t.Fatalf("%s: two plans share memory", model)
		}
		d.Plan = append(d.Plan, "x")
		if p2.Decision.Plan[0] == "x" || d.Candidates[0].Deployment == "x" {
			t.Fatalf("%s: appending to one plan's names changed another slice", model)
		}
	}
}

// DecideIn makes a small plan in the caller's space, starting afresh: a
// space used before carries nothing of the plan made in it then (the
// executor's records, the outcome, a longer plan's attempts). A plan too
// large for it is allocated.
func TestDecideInSpace(t *testing.T) {
	r, _ := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a", groups("g", "big")), dep("b", groups("g", "big")), dep("c", groups("big"))}})
	var space PlanSpace
	p, err := r.DecideIn(&space, chat("g"), octomesh.RouteOptions{}, KeyScope{})
	if err != nil {
		t.Fatal(err)
	}
	if p != &space.box.plan || len(p.Attempts) != 2 {
		t.Fatalf("plan for g: in space %v, %d attempts; want in space, 2", p == &space.box.plan, len(p.Attempts))
	}
	p.Decision.Attempts = append(p.Decision.Attempts, octomesh.AttemptRecord{Deployment: "a", Outcome: "ok"})
	p.Decision.Outcome, p.Decision.RequestID = "ok", "req_1"
	want, err := r.Decide(chat("a"), octomesh.RouteOptions{}, KeyScope{})
	if err != nil {
		t.Fatal(err)
	}
	p, err = r.DecideIn(&space, chat("a"), octomesh.RouteOptions{}, KeyScope{})
	if err != nil {
		t.Fatal(err)
	}
	p.Decision.Time = want.Decision.Time // the clock is the test's; all else must match
	if diff := cmp.Diff(want, p, cmp.AllowUnexported(PlannedAttempt{})); diff != "" {
		t.Errorf("plan made in a used space differs from a new one (-want +got):\n%s", diff)
	}
	big, err := r.DecideIn(&space, chat("big"), octomesh.RouteOptions{}, KeyScope{})
	if err != nil {
		t.Fatal(err)
	}
	if big == &space.box.plan || len(big.Attempts) != 3 {
		t.Errorf("plan of 3 attempts: in space %v, %d attempts; want allocated, 3", big == &space.box.plan, len(big.Attempts))
	}
	if space.box.plan.Decision.Requested != "a" {
		t.Errorf("a plan too large for the space changed it: requested %q", space.box.plan.Decision.Requested)
	}
}
