package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// RouterScenario names the scenario that measures the routing decision
// alone: no HTTP, no upstream, no ledger, only what the router does for
// each request, in process (`octomesh bench router`).
const RouterScenario = "router"

// RouterCase is one kind of request's routing decisions, as measured by
// `octomesh bench router` (whose JSON output is a RouterRun). A decision
// is what the gateway asks of the router for each request: the plan
// (DecideIn, with the per-request room the gateway gives it), starting its
// first attempt (AcquireInto) and reporting that attempt's outcome (End).
type RouterCase struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	// Workers decide at once, each in a closed loop: one per P.
	Workers   int     `json:"workers"`
	Decisions uint64  `json:"decisions"` // in the window
	Errors    uint64  `json:"errors"`    // decisions that failed or planned the wrong deployment
	Seconds   float64 `json:"seconds"`   // the window
	PerSecond float64 `json:"decisions_per_sec"`
	// CPUPerDecision is the process's CPU time (user and system, from
	// /proc) over the window per decision, in µs; 0 when unknown.
	CPUPerDecision    float64 `json:"cpu_us_per_decision"`
	AllocsPerDecision float64 `json:"allocs_per_decision"`
	BytesPerDecision  float64 `json:"bytes_per_decision"`
	Attempts          float64 `json:"attempts_per_plan"` // planned attempts, mean
	Latency           Micros  `json:"latency_us"`        // one decision's wall time
}

// Micros are latencies in microseconds.
type Micros struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
}

// RouterRun is the output of `octomesh bench router`.
type RouterRun struct {
	Models int          `json:"models"` // deployments the router chooses among
	Cases  []RouterCase `json:"cases"`
}

// routerScenario runs `octomesh bench router` for the scenario's window;
// it measures OctoMesh's code only, so it runs when octomesh is a target.
func (h *run) routerScenario(ctx context.Context, sc Scenario, res *ScenarioResult, warmup, dur time.Duration) {
	if !contains(h.o.Targets, TargetOctoMesh) {
		fmt.Fprintf(h.o.Log, "   skipped: it measures OctoMesh's router, and octomesh is not a target\n")
		return
	}
	dir, err := h.dir(sc.Name)
	if err != nil {
		res.Err = err.Error()
		return
	}
	// Three cases, each a warm-up and a window, and the router's start.
	ctx, cancel := context.WithTimeout(ctx, 3*(warmup+dur)+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.o.Binary, "bench", "router", "--warmup", warmup.String(), "--duration", dur.String())
	cmd.Env = childEnv()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	runErr := cmd.Run()
	if err := os.WriteFile(filepath.Join(dir, "router.log"), errOut.Bytes(), 0o600); err != nil {
		fmt.Fprintf(h.o.Log, "   (the helper's log was not kept: %v)\n", err)
	}
	fail := func(msg string) {
		res.Err = "octomesh bench router: " + msg
		fmt.Fprintf(h.o.Log, "   %s\n", res.Err)
	}
	if runErr != nil {
		if ctx.Err() != nil {
			runErr = fmt.Errorf("timed out after %v", 3*(warmup+dur)+time.Minute)
		}
		// The command's own error is its last line: keep the tail.
		fail(fmt.Sprintf("%v: %s", runErr, tail(errOut.String(), 300)))
		return
	}
	var rr RouterRun
	if err := json.Unmarshal(out.Bytes(), &rr); err != nil {
		fail(fmt.Sprintf("unreadable output (%v): %s", err, clipString(out.String(), 300)))
		return
	}
	if len(rr.Cases) == 0 {
		fail("no case measured")
		return
	}
	res.RouterRun = &rr
	for _, c := range rr.Cases {
		fmt.Fprintf(h.o.Log, "   %-9s %9.0f decisions/s  p50 %6.2fµs  p99 %6.2fµs  errors %d  cpu %.2f µs/decision  allocs %.1f\n",
			c.Name, c.PerSecond, c.Latency.P50, c.Latency.P99, c.Errors, c.CPUPerDecision, c.AllocsPerDecision)
		if c.Errors > 0 && res.Err == "" {
			res.Err = fmt.Sprintf("%s: %d of %d decisions failed", c.Name, c.Errors, c.Decisions+c.Errors)
		}
	}
}

// render writes the router's note, its table, and the scenario's error
// if there was one (failed decisions).
func (r *RouterRun) render(b *bytes.Buffer, err string) {
	b.WriteString(r.note() + "\n\n")
	r.table(b)
	if err != "" {
		fmt.Fprintf(b, "Failed: %s\n\n", oneLine(err))
	}
}

// table renders the router's cases.
func (r *RouterRun) table(b *bytes.Buffer) {
	b.WriteString("| request | decisions/s | CPU µs/decision | p50 µs | p99 µs | p99.9 µs | allocs/decision (B) | attempts planned | errors |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range r.Cases {
		fmt.Fprintf(b, "| %s | %.0f | %.2f | %.2f | %.2f | %.2f | %.1f (%.0f) | %.1f | %d |\n", c.Title, c.PerSecond, c.CPUPerDecision,
			c.Latency.P50, c.Latency.P99, c.Latency.P999, c.AllocsPerDecision, c.BytesPerDecision, c.Attempts, c.Errors)
	}
	b.WriteString("\n")
}

// note says what the router scenario measures, above its table.
func (r *RouterRun) note() string {
	workers := 0
	if len(r.Cases) > 0 {
		workers = r.Cases[0].Workers
	}
	return fmt.Sprintf("The router alone, in process (`octomesh bench router`): the default configuration's router choosing among its %d models, "+
		"%d workers deciding at once in closed loops, each for the same request (so they contend for the same deployments' counters more than real traffic would). "+
		"A decision is the plan, starting its first attempt and reporting that attempt's outcome; `auto` runs the learned quality router on the prompt. "+
		"One decision in %d is timed for the latencies; throughput, CPU and allocations are over all of them.", r.Models, workers, TimeEvery)
}

// TimeEvery is how often `octomesh bench router` times a decision: one in
// TimeEvery, so that the two clock reads and the histogram's update (tens
// of nanoseconds, a tenth of a named model's decision) stay out of the
// throughput, CPU and allocation figures.
const TimeEvery = 16
