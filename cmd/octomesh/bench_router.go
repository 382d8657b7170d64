package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/bench/harness"
	"github.com/octomesh/octomesh/bench/loadgen"
	"github.com/octomesh/octomesh/bench/procstat"
	"github.com/octomesh/octomesh/internal/config"
	"github.com/octomesh/octomesh/internal/router"
)

// routerCaseSpec is one kind of request whose routing decisions
// `octomesh bench router` measures.
type routerCaseSpec struct {
	name, title string
	req         *octomesh.ChatRequest
	opts        octomesh.RouteOptions // the request's own (the defaults are merged in)
	want        string                // the deployment the plan must start with; "" for any
}

// Prompts of the router benchmark: the harness's short chat turn, and a
// long one (2,285 words) for the learned router, whose features
// grow with the prompt.
const (
	benchRouterSystem = "You are a concise assistant."
	benchRouterShort  = "Explain in one sentence why a reverse proxy adds latency."
	benchRouterPara   = "The migration plan moves the billing service from the old cluster to the new one in three stages. " +
		"First, the read replicas are promoted in the standby region and the write traffic is mirrored for a week, " +
		"while the reconciliation job compares the two ledgers every hour and reports any difference in totals. " +
		"Second, the API gateway shifts a tenth of the write traffic to the new cluster, then half, then all of it, " +
		"and each step waits for a full day of clean reconciliation reports before the next one starts. "
)

// routerCases are the requests measured: a named model, and "auto" (the
// learned quality router, as the gateway asks it: the quality objective)
// with a short and a long prompt.
func routerCases() []routerCaseSpec {
	chat := func(model, prompt string) *octomesh.ChatRequest {
		return &octomesh.ChatRequest{Model: model, MaxTokens: new(256), Messages: []octomesh.Message{
			{Role: octomesh.RoleSystem, Content: octomesh.TextContent(benchRouterSystem)},
			{Role: octomesh.RoleUser, Content: octomesh.TextContent(prompt)},
		}}
	}
	long := strings.Repeat(benchRouterPara, 25) + "Summarise the risks of this plan in five bullet points."
	quality := octomesh.RouteOptions{Objective: octomesh.ObjectiveQuality}
	return []routerCaseSpec{
		{name: "named", title: "a named model (`sim/gpt-4o-mini`)", req: chat("sim/gpt-4o-mini", benchRouterShort), want: "sim/gpt-4o-mini"},
		{name: "auto", title: "`auto`, a one-sentence prompt", req: chat(router.AutoModel, benchRouterShort), opts: quality},
		{name: "auto-long", title: fmt.Sprintf("`auto`, a long prompt (%d words)", len(strings.Fields(long))), req: chat(router.AutoModel, long), opts: quality},
	}
}

// benchRouter is `octomesh bench router`: the routing decision alone, in
// process, with the router `octomesh serve` builds from its default
// configuration (the built-in sim fleet, the learned quality router). It
// prints a harness.RouterRun as JSON.
func benchRouter(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench router", stderr)
	warmup := fs.Duration("warmup", time.Second, "warm-up before each case's window")
	dur := fs.Duration("duration", 5*time.Second, "each case's measurement window")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "goroutines deciding at once")
	if help, err := parseBenchFlags(fs, args); help || err != nil {
		return err
	}
	if *dur <= 0 || *warmup < 0 || *workers < 1 {
		return usageError{"--duration must be positive, --warmup not negative and --workers at least 1"}
	}
	rt, defaults, err := defaultRouter()
	if err != nil {
		return err
	}
	out := harness.RouterRun{Models: len(rt.Deployments())}
	for _, c := range routerCases() {
		opts, err := router.Merge(defaults, octomesh.RouteOptions{}, c.opts)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		res, err := measureRouter(ctx, rt, c, opts, *workers, *warmup, *dur, stderr)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		out.Cases = append(out.Cases, res)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// defaultRouter is the router `octomesh serve` builds from its default
// configuration, and its default route options.
func defaultRouter() (*router.Router, octomesh.RouteOptions, error) {
	cfg := config.Default()
	w, err := buildProviders(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, octomesh.RouteOptions{}, err
	}
	rt, defaults, _, err := newRouter(cfg.Routing, w.deployments, w.aliases)
	return rt, defaults, err
}

// routerWorker is one goroutine's share of a case.
type routerWorker struct {
	space    router.PlanSpace // the request's room for its plan, as the gateway's call has
	inflight router.Inflight  // the attempt's, as the gateway's executor has

	decisions, errors, attempts uint64 // in the window
	hist                        *loadgen.Histogram
	firstErr                    error
}

// decide makes one decision as the gateway does for a request: the plan
// in the request's room, its first attempt started, and that attempt's
// outcome reported. It returns the plan's attempts, and an error when the
// router failed or planned another deployment first than c wants.
func (w *routerWorker) decide(rt *router.Router, c *routerCaseSpec, opts octomesh.RouteOptions) (int, error) {
	p, err := rt.DecideIn(&w.space, c.req, opts, router.KeyScope{})
	if err != nil {
		return 0, err
	}
	if len(p.Attempts) == 0 {
		return 0, fmt.Errorf("a plan without attempts")
	}
	first := p.Attempts[0]
	if c.want != "" && first.Deployment.Name != c.want {
		return 0, fmt.Errorf("planned %s first, want %s", first.Deployment.Name, c.want)
	}
	if err := rt.AcquireInto(&w.inflight, first); err != nil {
		return 0, err
	}
	w.inflight.End(router.Outcome{TTFB: 300 * time.Millisecond, Duration: 2 * time.Second, OutputTokens: 150})
	return len(p.Attempts), nil
}

// measureRouter runs workers goroutines deciding c in closed loops through
// the warm-up and the window, and returns the window's figures. The
// window is a flag the workers read before each decision: it is set after
// the first reading of CPU and allocations and cleared before the second,
// so that the decisions counted are the ones those readings span.
func measureRouter(ctx context.Context, rt *router.Router, c routerCaseSpec, opts octomesh.RouteOptions, workers int, warmup, dur time.Duration, log io.Writer) (harness.RouterCase, error) {
	var measuring, stop atomic.Bool
	ws := make([]*routerWorker, workers)
	var wg sync.WaitGroup
	for i := range ws {
		w := &routerWorker{hist: loadgen.NewHistogram()}
		ws[i] = w
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				on := measuring.Load()
				var t0 time.Time
				timed := on && i%harness.TimeEvery == 0
				if timed {
					t0 = time.Now()
				}
				attempts, err := w.decide(rt, &c, opts)
				switch {
				case !on:
				case err != nil:
					w.errors++
					if w.firstErr == nil {
						w.firstErr = err
					}
				default:
					if timed {
						w.hist.Record(time.Since(t0))
					}
					w.decisions++
					w.attempts += uint64(attempts)
				}
			}
		})
	}
	defer func() { stop.Store(true); wg.Wait() }()
	var cpu [2]time.Duration
	var cpuOK [2]bool
	var mem [2]runtime.MemStats
	read := func(i int) {
		if s, err := procstat.ReadTree(os.Getpid()); err == nil {
			cpu[i], cpuOK[i] = s.CPU, true
		}
		runtime.ReadMemStats(&mem[i])
	}
	if err := sleepCtx(ctx, warmup); err != nil {
		return harness.RouterCase{}, err
	}
	read(0)
	measuring.Store(true)
	start := time.Now()
	err := sleepCtx(ctx, dur)
	measuring.Store(false)
	elapsed := time.Since(start)
	read(1)
	if err != nil {
		return harness.RouterCase{}, err
	}
	stop.Store(true)
	wg.Wait()
	res := harness.RouterCase{Name: c.name, Title: c.title, Workers: workers, Seconds: elapsed.Seconds()}
	hist := loadgen.NewHistogram()
	var firstErr error
	for _, w := range ws {
		hist.Merge(w.hist)
		res.Decisions += w.decisions
		res.Errors += w.errors
		res.Attempts += float64(w.attempts)
		if firstErr == nil {
			firstErr = w.firstErr
		}
	}
	if res.Decisions == 0 {
		if firstErr != nil {
			return res, firstErr
		}
		return res, fmt.Errorf("no decision in the window")
	}
	// Failed decisions cost CPU and allocations too: the figures are per
	// decision made, failed or not (a case with failures fails the run).
	made := float64(res.Decisions + res.Errors)
	res.PerSecond = float64(res.Decisions) / elapsed.Seconds()
	if cpuOK[0] && cpuOK[1] {
		res.CPUPerDecision = float64(cpu[1]-cpu[0]) / float64(time.Microsecond) / made
	}
	res.AllocsPerDecision = float64(mem[1].Mallocs-mem[0].Mallocs) / made
	res.BytesPerDecision = float64(mem[1].TotalAlloc-mem[0].TotalAlloc) / made
	res.Attempts /= float64(res.Decisions)
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	res.Latency = harness.Micros{P50: us(hist.Percentile(50)), P90: us(hist.Percentile(90)), P99: us(hist.Percentile(99)),
		P999: us(hist.Percentile(99.9)), Max: us(hist.Max())}
	if firstErr != nil {
		fmt.Fprintf(log, "bench router: %s: %d decisions failed, the first: %v\n", c.name, res.Errors, firstErr)
	}
	return res, nil
}

// sleepCtx sleeps for d, or until ctx is done (and returns its error).
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
