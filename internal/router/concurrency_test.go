package router

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
)

// TestConcurrentUse drives Decide, Acquire/Begin/End, CoolDown, the budgets
// and Stats from many goroutines (run with -race), then checks that the
// bookkeeping balances: nothing outstanding, no probe slot leaked.
func TestConcurrentUse(t *testing.T) {
	var deps []octomesh.Deployment
	for i := range 6 {
		deps = append(deps, dep(fmt.Sprintf("d%d", i), groups("g"), weight(i+1)))
	}
	r, clk := newRouter(t, Config{
		Deployments: deps,
		Groups:      []GroupConfig{{Name: "g", Strategy: StrategyLeastOutstanding, Hedge: true}},
		Rand:        rand.Float64,
	})
	const workers, iters = 16, 1500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			models := []string{"g", "auto", "d0", "d5"}
			objectives := []octomesh.Objective{octomesh.ObjectiveCheapest, octomesh.ObjectiveFastest, octomesh.ObjectiveQuality, octomesh.ObjectiveWeighted}
			for i := range iters {
				clk.Advance(time.Millisecond)
				r.Admit()
				p, err := r.Decide(chat(models[i%len(models)]), octomesh.RouteOptions{Objective: objectives[i%len(objectives)]}, KeyScope{})
				if err != nil {
					if octomesh.ErrorCodeOf(err) != octomesh.EUNAVAILABLE {
						t.Errorf("Decide: %v", err)
						return
					}
					continue
				}
				for k, a := range p.Attempts {
					if k > 0 && !r.AllowRetry() {
						break
					}
					in, err := r.Acquire(a)
					if err != nil {
						continue
					}
					var o Outcome
					switch x := rng.IntN(10); {
					case x < 3:
						o.Err = octomesh.Errorf(octomesh.EUPSTREAM, "x")
					case x < 4:
						o.Canceled = true
					default:
						o.TTFB = time.Duration(rng.IntN(500)+1) * time.Millisecond
						o.OutputTokens = rng.IntN(300) + 1
					}
					in.End(o)
					if o.Err == nil {
						break
					}
				}
				switch i % 100 {
				case 0:
					r.CoolDown(models[2], clk.Now().Add(50*time.Millisecond))
				case 1:
					_ = r.Stats("d1")
				case 2:
					r.AllowHedge()
				}
			}
		}()
	}
	wg.Wait()
	for _, d := range deps {
		s := r.Stats(d.Name)
		if s.Outstanding != 0 || s.ProbesInFlight != 0 {
			t.Errorf("%s: outstanding %d, probes %d; want 0 and 0", d.Name, s.Outstanding, s.ProbesInFlight)
		}
	}
}
