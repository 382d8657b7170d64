package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/octomesh/octomesh/bench/loadgen"
	"github.com/octomesh/octomesh/bench/procstat"
)

// Report is the result of one harness run; its JSON form is what
// `octomesh bench` writes, and what the README section is generated from.
type Report struct {
	Started   time.Time        `json:"started"`
	Finished  time.Time        `json:"finished"`
	Mode      string           `json:"mode"`    // "full" or "quick"
	Command   string           `json:"command"` // the command line that produced it
	Binary    Revision         `json:"binary"`  // the source the measured binary was built from
	Duration  string           `json:"duration"`
	Warmup    string           `json:"warmup"`
	Targets   []string         `json:"targets"`
	Machine   Machine          `json:"machine"`
	Scenarios []ScenarioResult `json:"scenarios"`
}

// Machine describes where a run happened.
type Machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model,omitempty"`
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	Kernel    string `json:"kernel,omitempty"`
	GoVersion string `json:"go_version"`
	Nginx     string `json:"nginx,omitempty"`
}

// ScenarioResult is one scenario's measurements, one per target.
type ScenarioResult struct {
	Scenario
	Warmup  string         `json:"warmup"`
	Window  string         `json:"window"`
	Err     string         `json:"error,omitempty"`
	Targets []TargetResult `json:"targets"`
	// RouterRun is the router scenario's measurement.
	RouterRun *RouterRun `json:"router_run,omitempty"`
}

// Percentiles are latencies in milliseconds.
type Percentiles struct {
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p99_9_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

func percentiles(h *loadgen.Histogram) Percentiles {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return Percentiles{P50: ms(h.Percentile(50)), P90: ms(h.Percentile(90)), P99: ms(h.Percentile(99)),
		P999: ms(h.Percentile(99.9)), Max: ms(h.Max()), Mean: ms(h.Mean())}
}

// TargetResult is one target's measurement in one scenario.
type TargetResult struct {
	Target     string            `json:"target"`
	Err        string            `json:"error,omitempty"`
	Skipped    bool              `json:"skipped,omitempty"` // could not run here (e.g. no nginx)
	Requests   uint64            `json:"requests"`
	Errors     uint64            `json:"errors"`
	ErrorKinds map[string]uint64 `json:"error_kinds,omitempty"`
	Dropped    uint64            `json:"dropped,omitempty"`
	Throughput float64           `json:"throughput_rps"`
	Latency    Percentiles       `json:"latency"`
	TTFB       *Percentiles      `json:"ttfb,omitempty"` // streams: time to first body byte
	// CPU of the target's process tree over the window.
	CPUSeconds float64 `json:"cpu_seconds"`
	CPUCores   float64 `json:"cpu_cores"`          // CPU seconds per second of window
	CPUPerReq  float64 `json:"cpu_us_per_request"` // µs of CPU per measured request
	// Memory of the target's process tree (sum of its processes).
	IdleRSSMB   float64 `json:"idle_rss_mb"` // before the load
	PeakRSSMB   float64 `json:"peak_rss_mb"` // VmHWM during the load
	PerStreamKB float64 `json:"per_stream_kb,omitempty"`
	// Memory is where OctoMesh's memory went in a memory scenario.
	Memory *MemoryBreakdown `json:"memory,omitempty"`
	// Heap allocations per measured request, from OctoMesh's /metrics
	// (go_heap_allocs_*) at the window's edges; 0 for other targets.
	AllocsPerReq  float64 `json:"allocs_per_request,omitempty"`
	AllocKBPerReq float64 `json:"alloc_kb_per_request,omitempty"`
	Soak          *Soak   `json:"soak,omitempty"`
	// Rounds holds each round's figures when the scenario measured the
	// targets in turn more than once (Scenario.Rounds).
	Rounds []Round  `json:"rounds,omitempty"`
	Notes  []string `json:"notes,omitempty"`
}

// fill records a load result and the process readings around it.
func (tr *TargetResult) fill(res *loadgen.Result, cpu time.Duration, base, after procstat.Sample, sc Scenario) {
	tr.Requests, tr.Errors, tr.Dropped = res.Requests, res.Errors, res.Dropped
	if len(res.ErrorKinds) > 0 {
		tr.ErrorKinds = res.ErrorKinds
	}
	tr.Throughput = res.Throughput
	tr.Latency = percentiles(res.Latency)
	if sc.Stream {
		p := percentiles(res.FirstByte)
		tr.TTFB = &p
	}
	tr.CPUSeconds = cpu.Seconds()
	if res.Elapsed > 0 {
		tr.CPUCores = cpu.Seconds() / res.Elapsed.Seconds()
	}
	if res.Requests > 0 {
		tr.CPUPerReq = float64(cpu.Microseconds()) / float64(res.Requests)
	}
	tr.IdleRSSMB = mb(base.RSS)
	tr.PeakRSSMB = mb(max(after.HWM, after.RSS))
	if sc.Memory && sc.Connections > 0 {
		tr.PerStreamKB = float64(max(after.HWM, after.RSS)-base.RSS) / 1024 / float64(sc.Connections)
	}
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// Result returns the named target's result, or nil.
func (s *ScenarioResult) Result(target string) *TargetResult {
	for i := range s.Targets {
		if s.Targets[i].Target == target && s.Targets[i].Err == "" {
			return &s.Targets[i]
		}
	}
	return nil
}

// Scenario returns the named scenario's result, or nil.
func (r *Report) Scenario(name string) *ScenarioResult {
	for i := range r.Scenarios {
		if r.Scenarios[i].Name == name {
			return &r.Scenarios[i]
		}
	}
	return nil
}

// WriteJSON writes the report to path, indented.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadReport reads a report written by WriteJSON.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// Check is one of issue 6's targets, evaluated on a report.
type Check struct {
	Name   string `json:"name"`
	Target string `json:"target"` // what is required
	Got    string `json:"got"`    // what was measured
	Pass   bool   `json:"pass"`
	Known  bool   `json:"known"` // false when the run lacks the figures
	// Reference marks a figure shown beside the targets but not one of
	// them (Pass is then meaningless): the first byte under saturation.
	Reference bool `json:"reference,omitempty"`
}

// Checks evaluates OctoMesh against the performance targets of issue 6.
// The first-token target is read from the ttfb scenario (below
// saturation); the saturation scenarios' first-byte figures follow it as
// Reference rows, since queueing for CPU dominates their tail.
// PairSameAsNonstream is the pair scenario whose request is nonstream's.
const PairSameAsNonstream = "pair-openai-openai"

func (r *Report) Checks() []Check {
	var out []Check
	get := func(scenario, target string) *TargetResult {
		if s := r.Scenario(scenario); s != nil {
			return s.Result(target)
		}
		return nil
	}
	ratio := func(name, scenario, floor string, want float64) {
		c := Check{Name: name, Target: fmt.Sprintf("≥ %.0f%% of %s's throughput", want*100, floor)}
		o, f := get(scenario, TargetOctoMesh), get(scenario, floor)
		if o != nil && f != nil && f.Throughput > 0 {
			// One decimal: a whole percent could print "97%" beside a
			// miss of 97%.
			v, how := throughputRatio(o, f)
			c.Got, c.Pass, c.Known = fmt.Sprintf("%.1f%%", v*100)+how, v >= want, true
		}
		out = append(out, c)
	}
	ratio("Non-streaming saturation", "nonstream", TargetNginx, 0.50)
	{
		// pair-openai-openai sends the same request through the same
		// configuration: a second sample of the non-streaming ratio in the
		// same run. On a shared machine the two have differed by more than
		// twenty points, so the target counts as met only when both meet
		// it, and the check shows both.
		c := &out[len(out)-1]
		o, f := get(PairSameAsNonstream, TargetOctoMesh), get(PairSameAsNonstream, TargetNginx)
		if c.Known && o != nil && f != nil && f.Throughput > 0 {
			v := o.Throughput / f.Throughput
			c.Got += fmt.Sprintf(" (%.1f%% in %s, the same request)", v*100, PairSameAsNonstream)
			c.Pass = c.Pass && v >= 0.50
		}
	}
	ratio("50 ms upstream, 200 connections: throughput", "upstream50ms", TargetDirect, 0.97)
	{
		c := Check{Name: "50 ms upstream, 200 connections: p99", Target: "≤ direct p99 + 5 ms"}
		o, d := get("upstream50ms", TargetOctoMesh), get("upstream50ms", TargetDirect)
		if o != nil && d != nil {
			add, how := p99Added(o, d)
			c.Got, c.Pass, c.Known = fmt.Sprintf("%+.2f ms", add)+how, add <= 5, true
		}
		out = append(out, c)
	}
	ratio("Streaming saturation", "stream", TargetNginx, 0.60)
	// p99 first byte over direct's in the same scenario, when both ran.
	ttfbAdded := func(sc string) (float64, string, bool) {
		o, d := get(sc, TargetOctoMesh), get(sc, TargetDirect)
		if o == nil || d == nil {
			return 0, "", false
		}
		return ttfbP99Added(o, d)
	}
	{
		// The target is measured below saturation (TTFBScenario): under a
		// saturating load the first byte's tail is queueing for CPU.
		c := Check{Name: "Time to first token added at p99 (" + TTFBScenario + ": open loop, below saturation)", Target: "≤ 1 ms over direct"}
		if add, how, ok := ttfbAdded(TTFBScenario); ok {
			c.Got, c.Pass, c.Known = fmt.Sprintf("%+.2f ms", add)+how, add <= 1, true
		}
		out = append(out, c)
	}
	for _, sc := range []string{"stream", "streams2000"} {
		c := Check{Name: "Time to first byte added at p99 under saturation (" + sc + "; includes queueing)",
			Target: "none: for reference", Reference: true}
		if add, how, ok := ttfbAdded(sc); ok {
			c.Got, c.Known = fmt.Sprintf("%+.2f ms", add)+how, true
		}
		out = append(out, c)
	}
	{
		c := Check{Name: "Memory at 200 connections", Target: "≤ 64 MB peak RSS"}
		if o := get("upstream50ms", TargetOctoMesh); o != nil {
			c.Got, c.Pass, c.Known = fmt.Sprintf("%.1f MB", o.PeakRSSMB), o.PeakRSSMB <= 64, true
		}
		out = append(out, c)
	}
	{
		// Flat: after the first half of the soak (warm-up of pools and heap),
		// RSS may not trend upwards by more than 0.5 MB a minute nor end
		// more than 5% above where that half started.
		c := Check{Name: "Memory over a 10-minute soak", Target: "flat after warm-up"}
		if o := get("soak", TargetOctoMesh); o != nil && o.Soak != nil && len(o.Soak.RSSMB) >= 4 {
			k := o.Soak
			mid := k.RSSMB[len(k.RSSMB)/2]
			growth := (k.EndMB - mid) / mid
			c.Got = fmt.Sprintf("%.1f → %.1f MB over the second half (slope %+.2f MB/min; max %.1f MB)", mid, k.EndMB, k.SlopeMBPerMin, k.MaxMB)
			c.Pass, c.Known = k.SlopeMBPerMin <= 0.5 && growth <= 0.05, true
		}
		out = append(out, c)
	}
	{
		c := Check{Name: "Memory per stream at 2,000 streams", Target: "≤ 30 KB"}
		if o := get("streams2000", TargetOctoMesh); o != nil {
			c.Got, c.Pass, c.Known = fmt.Sprintf("%.1f KB", o.PerStreamKB), o.PerStreamKB <= 30, true
		}
		out = append(out, c)
	}
	return out
}

// sortedKinds renders error kinds as "kind=n" in name order.
func sortedKinds(m map[string]uint64) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(out)
	return out
}
