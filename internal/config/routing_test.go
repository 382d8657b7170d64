package config

import (
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
)

func TestRoutingValidation(t *testing.T) {
	tests := []struct {
		name string
		mut  func(*Config)
		want string
	}{
		{"objective", func(c *Config) { c.Routing.Defaults.Objective = "smartest" }, "routing.defaults.objective"},
		{"floor", func(c *Config) { c.Routing.Defaults.QualityFloor = 1.5 }, "routing.defaults.quality_floor"},
		{"attempts", func(c *Config) { c.Routing.MaxAttempts = 50 }, "routing.max_attempts"},
		{"retry ratio", func(c *Config) { c.Routing.RetryBudget.Ratio = 2 }, "routing.retry_budget.ratio"},
		{"negative timeout", func(c *Config) { c.Routing.Timeouts.Idle = -time.Second }, "routing.timeouts.idle"},
		{"group name", func(c *Config) { c.Routing.Groups = []Group{{}} }, "routing.groups[0].name"},
		{"group dup", func(c *Config) { c.Routing.Groups = []Group{{Name: "g"}, {Name: "g"}} }, "routing.groups[1].name"},
		{"strategy", func(c *Config) { c.Routing.Groups = []Group{{Name: "g", Strategy: "random"}} }, "routing.groups[0].strategy"},
		{"prior", func(c *Config) { c.Routing.QualityPriors = map[string]float64{"m": 2} }, "routing.quality_priors.m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mut(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want+":") {
				t.Errorf("Validate() = %v, want a problem at %s", err, tt.want)
			}
		})
	}
	def := Default()
	if err := def.Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

func TestModelDataPolicy(t *testing.T) {
	cfg, err := Parse([]byte(`
providers: [{name: p, type: openai, api_key: k}]
models:
  - provider: p
    upstream_model: m
    context_window: 1000
    price: {input: "1", output: "1"}
    data_policy: {retains_prompts: "no", trains_on_data: "no"}
    groups: [fast]
    weight: 3
  - provider: p
    upstream_model: bad
    context_window: 1000
    price: {input: "1", output: "1"}
    data_policy: {retains_prompts: "maybe"}
`), func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "models[1].data_policy.retains_prompts") {
		t.Fatalf("err = %v, want a problem at models[1].data_policy.retains_prompts", err)
	}
	cfg, err = Parse([]byte(`
providers: [{name: p, type: openai, api_key: k}]
models:
  - provider: p
    upstream_model: m
    context_window: 1000
    price: {input: "1", output: "1"}
    data_policy: {retains_prompts: "no", trains_on_data: "no"}
    groups: [fast]
    weight: 3
`), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	d, err := cfg.Models[0].Deployment()
	if err != nil {
		t.Fatal(err)
	}
	if d.DataPolicy.RetainsPrompts != octomesh.No || d.DataPolicy.TrainsOnData != octomesh.No || d.Weight != 3 || len(d.Groups) != 1 {
		t.Errorf("deployment = %+v", d)
	}
}
