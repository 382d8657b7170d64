package router

import (
	"testing"
	"time"

	"github.com/octomesh/octomesh"
)

func TestRetryBudgetUnderLoad(t *testing.T) {
	tests := []struct {
		name     string
		step     time.Duration // clock advance per request
		min, max int
	}{
		// 10k requests at one instant, every one failing and asking to
		// retry: 20% of them, plus the 5 always-allowed of that second.
		{"one instant", 0, 2005, 2005},
		// Over 10 seconds the minimum adds about 5 a second.
		{"ten seconds", time.Millisecond, 2050, 2056},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, clk := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a")}})
			allowed := 0
			for range 10_000 {
				r.Admit()
				if r.AllowRetry() {
					allowed++
				}
				clk.Advance(tt.step)
			}
			if allowed < tt.min || allowed > tt.max {
				t.Errorf("retries allowed for 10000 requests = %d, want %d..%d", allowed, tt.min, tt.max)
			}
		})
	}
}

func TestRetryBudgetMinimum(t *testing.T) {
	r, clk := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a")}})
	count := func(n int) int {
		c := 0
		for range n {
			if r.AllowRetry() {
				c++
			}
		}
		return c
	}
	if got := count(10); got != 5 {
		t.Errorf("retries with no traffic = %d, want the minimum 5", got)
	}
	clk.Advance(time.Second)
	if got := count(10); got != 5 {
		t.Errorf("retries a second later = %d, want 5", got)
	}
	clk.Advance(200 * time.Millisecond)
	if got := count(10); got != 1 {
		t.Errorf("retries 200ms later = %d, want 1", got)
	}
}

func TestRetryBudgetBurstCap(t *testing.T) {
	r, _ := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a")}})
	for range 1000 {
		r.Admit() // 200 tokens earned, 100 banked
	}
	allowed := 0
	for range 1000 {
		if r.AllowRetry() {
			allowed++
		}
	}
	if allowed != 105 {
		t.Errorf("retries after a quiet spell = %d, want 100 banked + 5 minimum", allowed)
	}
}

func TestHedgeBudget(t *testing.T) {
	r, _ := newRouter(t, Config{Deployments: []octomesh.Deployment{dep("a")}})
	if r.AllowHedge() {
		t.Fatal("hedge allowed with no traffic; the default hedge budget has no minimum")
	}
	for range 100 {
		r.Admit()
	}
	allowed := 0
	for range 100 {
		if r.AllowHedge() {
			allowed++
		}
	}
	if allowed != 10 {
		t.Errorf("hedges for 100 requests = %d, want 10", allowed)
	}
}
