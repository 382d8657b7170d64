package router

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/octomesh/octomesh"
)

func TestNewRejectsBadCatalogues(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error
	}{
		{"reserved deployment", Config{Deployments: []octomesh.Deployment{dep("auto")}}, `deployment name "auto" is reserved`},
		{"reserved group", Config{Deployments: []octomesh.Deployment{dep("a", groups("auto"))}}, `group name "auto" is reserved`},
		{"reserved alias", Config{Deployments: []octomesh.Deployment{dep("a")}, Aliases: map[string]string{"auto": "a"}}, `alias name "auto" is reserved`},
		{"empty name", Config{Deployments: []octomesh.Deployment{dep("")}}, "deployment 0 has no name"},
		{"duplicate", Config{Deployments: []octomesh.Deployment{dep("a"), dep("a")}}, `duplicate deployment name "a"`},
		{"negative weight", Config{Deployments: []octomesh.Deployment{dep("a", weight(-1))}}, "negative weight"},
		{"empty group", Config{Deployments: []octomesh.Deployment{dep("a", groups(""))}}, "empty group name"},
		{"group named like deployment", Config{Deployments: []octomesh.Deployment{dep("a"), dep("b", groups("a"))}}, `group "a" has the name of a deployment`},
		{"alias to nowhere", Config{Deployments: []octomesh.Deployment{dep("a")}, Aliases: map[string]string{"x": "nope"}}, `alias "x" points to unknown deployment or group "nope"`},
		{"alias clashes", Config{Deployments: []octomesh.Deployment{dep("a"), dep("b")}, Aliases: map[string]string{"a": "b"}}, `alias "a" has the name of a deployment or group`},
		{"settings for unserved group", Config{Deployments: []octomesh.Deployment{dep("a")}, Groups: []GroupConfig{{Name: "fast"}}}, `group "fast" has settings but no deployment serves it`},
		{"group twice", Config{Deployments: []octomesh.Deployment{dep("a", groups("g"))}, Groups: []GroupConfig{{Name: "g"}, {Name: "g"}}}, `group "g" is configured twice`},
		{"bad strategy", Config{Deployments: []octomesh.Deployment{dep("a", groups("g"))}, Groups: []GroupConfig{{Name: "g", Strategy: "round_robin"}}}, `unknown strategy "round_robin"`},
		{"bad percentile", Config{Deployments: []octomesh.Deployment{dep("a", groups("g"))}, Groups: []GroupConfig{{Name: "g", HedgePercentile: 1}}}, "hedge percentile must be in (0,1)"},
		{"prior for unknown", Config{Deployments: []octomesh.Deployment{dep("a")}, QualityPriors: map[string]float64{"b": 0.5}}, `quality prior for unknown deployment "b"`},
		{"prior out of range", Config{Deployments: []octomesh.Deployment{dep("a")}, QualityPriors: map[string]float64{"a": 1.5}}, "quality_priors"},
		{"bad error rate", Config{Health: HealthConfig{ErrorRate: 1.5}}, "health.error_rate"},
		{"bad attempts", Config{MaxAttempts: 11}, "max_attempts"},
		{"bad budget", Config{RetryBudget: BudgetConfig{Ratio: -1}}, "retry_budget"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestResolveNames(t *testing.T) {
	emb := dep("sim/embed", func(d *octomesh.Deployment) { d.Capabilities = octomesh.Capabilities{Embeddings: true} })
	twin1 := dep("p1/llama", func(d *octomesh.Deployment) { d.UpstreamModel = "llama" })
	twin2 := dep("p2/llama", func(d *octomesh.Deployment) { d.UpstreamModel = "llama" })
	r, _ := newRouter(t, Config{
		Deployments: []octomesh.Deployment{
			dep("sim/gpt-4o", groups("smart"), func(d *octomesh.Deployment) { d.UpstreamModel = "gpt-4o" }),
			dep("sim/mini", groups("fast", "cheap")),
			dep("sim/haiku", groups("fast")),
			emb, twin1, twin2,
		},
		Aliases: map[string]string{"quick": "fast", "best": "sim/gpt-4o"},
	})
	tests := []struct {
		name string
		want []string
		ok   bool
	}{
		{"sim/gpt-4o", []string{"sim/gpt-4o"}, true},
		{"fast", []string{"sim/mini", "sim/haiku"}, true},
		{"cheap", []string{"sim/mini"}, true},
		{"quick", []string{"sim/mini", "sim/haiku"}, true},
		{"best", []string{"sim/gpt-4o"}, true},
		{"gpt-4o", []string{"sim/gpt-4o"}, true},                                                // unique bare upstream name
		{"llama", nil, false},                                                                   // ambiguous bare name
		{"auto", []string{"sim/gpt-4o", "sim/mini", "sim/haiku", "p1/llama", "p2/llama"}, true}, // chat deployments only
		{"nope", nil, false},
	}
	for _, tt := range tests {
		got, ok := r.Members(tt.name)
		if ok != tt.ok || !cmp.Equal(got, tt.want) {
			t.Errorf("Members(%q) = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
	if d, ok := r.Deployment("best"); !ok || d.Name != "sim/gpt-4o" {
		t.Errorf("Deployment(best) = %v, %v; want sim/gpt-4o", d, ok)
	}
	if _, ok := r.Deployment("fast"); ok {
		t.Errorf("Deployment(fast) found a group; want only deployments")
	}
	if got := len(r.Deployments()); got != 6 {
		t.Errorf("len(Deployments()) = %d, want 6", got)
	}
}

func TestPolicyVersion(t *testing.T) {
	cfg := Config{Deployments: []octomesh.Deployment{dep("a"), dep("b")}}
	r1, _ := newRouter(t, cfg)
	r2, _ := newRouter(t, cfg)
	if r1.PolicyVersion() != r2.PolicyVersion() || len(r1.PolicyVersion()) != 16 {
		t.Fatalf("versions %q and %q: want equal 16-hex hashes for equal configs", r1.PolicyVersion(), r2.PolicyVersion())
	}
	cfg.Health.ConsecutiveFailures = 7
	r3, _ := newRouter(t, cfg)
	if r3.PolicyVersion() == r1.PolicyVersion() {
		t.Fatalf("version unchanged after a config change")
	}
	p, err := r1.Decide(chat("a"), octomesh.RouteOptions{}, KeyScope{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Decision.PolicyVersion != r1.PolicyVersion() {
		t.Errorf("decision policy version = %q, want %q", p.Decision.PolicyVersion, r1.PolicyVersion())
	}
}
