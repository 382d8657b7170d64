// Package harness runs OctoMesh's benchmark: each scenario starts the mock
// upstream (`octomesh bench mock`), then measures each target in turn — the
// upstream directly, nginx as a bare reverse proxy, a minimal Go reverse
// proxy (`octomesh bench goproxy`), and `octomesh serve` in its default
// configuration — with the load generator, reading each target's CPU time
// and peak RSS from /proc. Every process is started fresh for its
// measurement and stopped after it; everything listens on loopback only.
//
// Results are ratios within one run on one machine (the machine is shared
// and noisy; absolute numbers move, ratios much less): Report renders them
// as markdown and JSON.
package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/octomesh/octomesh/bench/loadgen"
	"github.com/octomesh/octomesh/bench/procstat"
)

// Options configure a run.
type Options struct {
	// Binary is an octomesh binary: the target (`serve`) and the helper
	// roles (`bench mock`, `bench goproxy`). Required.
	Binary string
	// Duration is each target's measurement window per scenario (pair
	// scenarios use half). Default 10s.
	Duration time.Duration
	// Warmup precedes each window. Default Duration/5, at most 2s.
	Warmup time.Duration
	// Targets to measure; default AllTargets.
	Targets []string
	// Scenarios to run, by name; default all.
	Scenarios []string
	// InstallNginx lets the harness install nginx with apt-get when missing.
	InstallNginx bool
	// WorkDir holds configs, data and logs; default a new temp directory,
	// removed afterwards unless KeepWorkDir.
	WorkDir     string
	KeepWorkDir bool
	// Mode and Command are recorded in the report ("full"/"quick", and the
	// command line that produced it).
	Mode, Command string
	// Log receives progress lines; default io.Discard.
	Log io.Writer
	// ProfileDir, when set, receives OctoMesh's CPU profile of each
	// scenario's window and its allocation and heap profiles, named
	// <scenario>.{cpu,allocs,heap}.pprof (the target runs with --pprof).
	// Profiling costs the target a few percent: a profiled run's figures
	// are for finding costs, not for the README.
	ProfileDir string
}

// Run measures every selected scenario and target and returns the report.
// A target that cannot run (nginx missing and not installable) is recorded
// with its reason rather than failing the run.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Binary == "" {
		return nil, errors.New("harness: Options.Binary is required")
	}
	// The binary serves the mock upstream too: without it every scenario
	// would fail to start, so say so once, before any work.
	if fi, err := os.Stat(o.Binary); err != nil {
		return nil, fmt.Errorf("harness: octomesh binary: %w", err)
	} else if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("harness: octomesh binary %s is not an executable file", o.Binary)
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Warmup <= 0 {
		o.Warmup = min(o.Duration/5, 2*time.Second)
	}
	if len(o.Targets) == 0 {
		o.Targets = AllTargets
	}
	for _, t := range o.Targets {
		if !contains(AllTargets, t) {
			return nil, fmt.Errorf("harness: unknown target %q (want %s)", t, strings.Join(AllTargets, ", "))
		}
	}
	scenarios, err := selectScenarios(o.Scenarios)
	if err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.ProfileDir != "" {
		if err := os.MkdirAll(o.ProfileDir, 0o755); err != nil {
			return nil, err
		}
	}
	if o.WorkDir == "" {
		dir, err := os.MkdirTemp("", "octomesh-bench-")
		if err != nil {
			return nil, err
		}
		o.WorkDir = dir
		if !o.KeepWorkDir {
			defer os.RemoveAll(dir)
		}
	}
	h := &run{o: o, key: newKey()}
	h.rep = &Report{
		Started: time.Now().UTC(), Mode: o.Mode, Command: o.Command,
		Duration: o.Duration.String(), Warmup: o.Warmup.String(), Targets: o.Targets,
		Machine: machine(), Binary: binaryRevision(o.Binary),
	}
	if contains(o.Targets, TargetNginx) {
		h.nginx, h.nginxErr = findNginx(ctx, o.InstallNginx, o.Log)
		if h.nginx != "" {
			h.rep.Machine.Nginx = nginxVersion(h.nginx)
		}
	}
	var failed []error
	for _, sc := range scenarios {
		if err := ctx.Err(); err != nil {
			return h.rep, err
		}
		res := h.scenario(ctx, sc)
		if res.Err != "" {
			failed = append(failed, fmt.Errorf("scenario %s: %s", sc.Name, res.Err))
		}
		h.rep.Scenarios = append(h.rep.Scenarios, res)
	}
	h.rep.Finished = time.Now().UTC()
	if err := ctx.Err(); err != nil {
		return h.rep, err
	}
	return h.rep, errors.Join(failed...) // the report is written either way

}

func selectScenarios(names []string) ([]Scenario, error) {
	all := Scenarios()
	if len(names) == 0 {
		var def []Scenario
		for _, s := range all {
			if s.Group != "soak" { // ten minutes: only when asked for
				def = append(def, s)
			}
		}
		return def, nil
	}
	var out []Scenario
	for _, n := range names {
		found := false
		for _, s := range all {
			if s.Name == n || s.Group == n {
				out = append(out, s)
				found = true
			}
		}
		if !found {
			var known []string
			for _, s := range all {
				known = append(known, s.Name)
			}
			return nil, fmt.Errorf("harness: unknown scenario %q (want one of %s, or the groups main, pairs)", n, strings.Join(known, ", "))
		}
	}
	return out, nil
}

// run is the state of one harness run.
type run struct {
	o        Options
	key      string // OctoMesh's admin key, sent by every target's requests
	nginx    string
	nginxErr error
	rep      *Report
	seq      int
}

// newKey returns a random API key in OctoMesh's om_ style (any string of 20
// or more characters is accepted as OCTOMESH_ADMIN_KEY).
func newKey() string {
	var b [16]byte
	rand.Read(b[:])
	return "om_bench" + hex.EncodeToString(b[:])
}

// dir returns a fresh subdirectory of the work dir.
func (h *run) dir(name string) (string, error) {
	h.seq++
	d := filepath.Join(h.o.WorkDir, fmt.Sprintf("%02d-%s", h.seq, name))
	return d, os.MkdirAll(d, 0o700)
}

// scenario starts the mock, measures each target against it, stops it.
func (h *run) scenario(ctx context.Context, sc Scenario) ScenarioResult {
	res := ScenarioResult{Scenario: sc}
	warmup, dur := sc.window(h.o.Duration, h.o.Warmup)
	res.Warmup, res.Window = warmup.String(), dur.String()
	fmt.Fprintf(h.o.Log, "== %s: %s (warm-up %v, window %v)\n", sc.Name, sc.Title, warmup, dur)
	if sc.Router {
		h.routerScenario(ctx, sc, &res, warmup, dur)
		return res
	}
	dir, err := h.dir(sc.Name + "-mock")
	if err != nil {
		res.Err = err.Error()
		return res
	}
	argv := append([]string{h.o.Binary, "bench", "mock", "--listen", "127.0.0.1:0"}, sc.mockArgs()...)
	mock, err := startProc(ctx, "mock upstream", filepath.Join(dir, "mock.log"), argv, childEnv(), "", 30*time.Second)
	if err != nil {
		res.Err = err.Error()
		fmt.Fprintf(h.o.Log, "   the scenario did not run: %s\n", res.Err)
		return res
	}
	defer mock.stop()
	rounds := make(map[string][]measured, len(h.o.Targets))
	for r := 1; r <= sc.rounds(); r++ {
		if sc.rounds() > 1 {
			fmt.Fprintf(h.o.Log, "   round %d of %d\n", r, sc.rounds())
		}
		for _, t := range roundOrder(h.o.Targets, r) {
			if ctx.Err() != nil {
				break
			}
			if sc.Soak && t != TargetOctoMesh {
				continue // the soak asks about OctoMesh's memory only
			}
			if prev := rounds[t]; len(prev) > 0 && prev[0].tr.Err != "" {
				continue // failed or skipped in the first round
			}
			m := h.measure(ctx, sc, t, mock, warmup, dur)
			rounds[t] = append(rounds[t], m)
			h.logResult(t, m.tr)
			time.Sleep(300 * time.Millisecond) // let closed connections drain
		}
	}
	for _, t := range h.o.Targets {
		if ms := rounds[t]; len(ms) > 0 {
			res.Targets = append(res.Targets, mergeRounds(sc, ms))
		}
	}
	return res
}

// roundOrder is the order of the targets in round r (from 1): as given in
// odd rounds, reversed in even ones, so that no target is always measured
// right after another (or first, after the mock's start), and a paired
// comparison does not carry an effect of the position.
func roundOrder(targets []string, r int) []string {
	if r%2 == 1 {
		return targets
	}
	rev := slices.Clone(targets)
	slices.Reverse(rev)
	return rev
}

// logResult prints one target's line of a scenario.
func (h *run) logResult(t string, tr TargetResult) {
	if tr.Err != "" {
		fmt.Fprintf(h.o.Log, "   %-9s %s\n", t, tr.Err)
		return
	}
	allocs := ""
	if tr.AllocsPerReq > 0 {
		allocs = fmt.Sprintf("  allocs/req %.0f (%.1f KB)", tr.AllocsPerReq, tr.AllocKBPerReq)
	}
	fmt.Fprintf(h.o.Log, "   %-9s %9.0f req/s  p50 %7.2fms  p99 %7.2fms  errors %d  cpu %.2f cores  peak RSS %.1f MB%s\n",
		t, tr.Throughput, tr.Latency.P50, tr.Latency.P99, tr.Errors, tr.CPUCores, tr.PeakRSSMB, allocs)
}

// startTarget starts the target's process in front of mock; the direct
// target is the mock itself (started per scenario, not stopped here).
func (h *run) startTarget(ctx context.Context, sc Scenario, target string, mock *proc) (p *proc, owned bool, err error) {
	if target == TargetDirect {
		return mock, false, nil
	}
	dir, err := h.dir(sc.Name + "-" + target)
	if err != nil {
		return nil, false, err
	}
	logPath := filepath.Join(dir, target+".log")
	switch target {
	case TargetNginx:
		if h.nginx == "" {
			return nil, false, h.nginxErr
		}
		addr, err := freeAddr()
		if err != nil {
			return nil, false, err
		}
		conf, err := writeNginxConf(dir, addr, mock.addr)
		if err != nil {
			return nil, false, err
		}
		p, err = startProc(ctx, "nginx", logPath, []string{h.nginx, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", conf}, childEnv(), addr, 30*time.Second)
		return p, true, err
	case TargetGoProxy:
		argv := []string{h.o.Binary, "bench", "goproxy", "--listen", "127.0.0.1:0", "--upstream", "http://" + mock.addr}
		p, err = startProc(ctx, "go proxy", logPath, argv, childEnv(), "", 30*time.Second)
		return p, true, err
	case TargetOctoMesh:
		conf := filepath.Join(dir, "octomesh.yaml")
		if err := os.WriteFile(conf, []byte(octomeshConfig(dir, mock.addr)), 0o600); err != nil {
			return nil, false, err
		}
		argv := []string{h.o.Binary, "serve", "--config", conf, "--listen", "127.0.0.1:0"}
		var pprofAddr string
		if h.o.ProfileDir != "" {
			if pprofAddr, err = freeAddr(); err != nil {
				return nil, false, err
			}
			argv = append(argv, "--pprof", pprofAddr)
		}
		p, err = startProc(ctx, "octomesh", logPath, argv, childEnv("OCTOMESH_ADMIN_KEY="+h.key), "", 60*time.Second)
		if p != nil {
			p.pprofAddr = pprofAddr
		}
		return p, true, err
	}
	return nil, false, fmt.Errorf("unknown target %q", target)
}

// octomeshConfig is OctoMesh's config for the benchmark: the defaults,
// plus one provider of each wire format on the mock and a model for each.
// Authentication, metrics and logging keep their defaults (on, info).
func octomeshConfig(dir, mockAddr string) string {
	return fmt.Sprintf(`# Generated by the OctoMesh benchmark harness: the default configuration
# plus the mock upstream as an OpenAI and an Anthropic provider.
data_dir: %q
providers:
  - name: mock
    type: openai
    base_url: http://%s/v1
    api_key: x
  - name: mock-anthropic
    type: anthropic
    base_url: http://%s
    api_key: x
models:
  - name: %s
    provider: mock
    upstream_model: gpt-4o-mini
    context_window: 128000
    max_output_tokens: 16384
    capabilities: [tools, json_schema, streaming]
    price: {input: "0.15", output: "0.60"}
  - name: %s
    provider: mock-anthropic
    upstream_model: claude-haiku-4-5
    context_window: 200000
    max_output_tokens: 64000
    capabilities: [tools, json_schema, streaming]
    price: {input: "1.00", output: "5.00"}
`, filepath.Join(dir, "data"), mockAddr, mockAddr, ModelOpenAI, ModelAnthropic)
}

// measure runs the scenario's load against one target.
func (h *run) measure(ctx context.Context, sc Scenario, target string, mock *proc, warmup, dur time.Duration) (m measured) {
	tr := &m.tr
	tr.Target = target
	p, owned, err := h.startTarget(ctx, sc, target, mock)
	if err != nil {
		tr.Err = err.Error()
		tr.Skipped = errors.Is(err, errSkipped)
		return m
	}
	if owned {
		defer p.stop()
	}
	req := sc.request(h.key)
	if err := probe(ctx, p.addr, req); err != nil {
		tr.Err = "probe: " + err.Error()
		return m
	}
	if err := procstat.ResetPeak(p.pid()); err != nil {
		tr.Notes = append(tr.Notes, "peak RSS not reset: "+err.Error())
	}
	base, err := procstat.ReadTree(p.pid())
	if err != nil {
		tr.Err = "read /proc: " + err.Error()
		return m
	}
	var mem *memSampler
	if sc.Memory && target == TargetOctoMesh {
		mem = sampleMemory(ctx, p.pid(), p.addr)
		defer mem.end()
	}
	var prof *profiler
	var profWait func() error
	if p.pprofAddr != "" {
		prof = &profiler{addr: p.pprofAddr, dir: h.o.ProfileDir, name: sc.Name}
		profWait = prof.cpu(ctx, warmup, dur)
		tr.Notes = append(tr.Notes, "profiled (CPU profiler on): figures not for comparison")
	}
	// CPU is read at the window's edges, from a goroutine that sleeps
	// through the warm-up and the window.
	var rss *rssSampler
	if sc.Soak {
		rss = sampleRSS(p.pid(), warmup, dur)
	}
	cpu := make(chan [2]time.Duration, 1)
	allocs := make(chan [2]heapAllocs, 1)
	var window [2]time.Time // when the two allocation scrapes began
	go func() {
		var s [2]time.Duration
		var m [2]heapAllocs
		time.Sleep(warmup)
		a, _ := procstat.ReadTree(p.pid())
		window[0] = time.Now()
		if target == TargetOctoMesh {
			m[0] = scrapeAllocs(ctx, p.addr)
		}
		time.Sleep(dur)
		b, _ := procstat.ReadTree(p.pid())
		window[1] = time.Now()
		if target == TargetOctoMesh {
			m[1] = scrapeAllocs(ctx, p.addr)
		}
		s[0], s[1] = a.CPU, b.CPU
		cpu <- s
		allocs <- m
	}()
	res, err := loadgen.Run(ctx, loadgen.Options{
		Addr: p.addr, Request: req, Connections: sc.Connections, Rate: sc.Rate,
		Duration: dur, Warmup: warmup, Timeout: 30 * time.Second,
	})
	if err != nil {
		tr.Err = err.Error()
		return m
	}
	after, err := procstat.ReadTree(p.pid())
	if err != nil {
		tr.Err = "read /proc: " + err.Error()
		return m
	}
	if mem != nil {
		if tr.Memory = mem.result(sc.Connections); tr.Memory == nil {
			tr.Notes = append(tr.Notes, "no memory split: /metrics lacks the go_* or process_resident_* gauges (an older binary?)")
		}
	}
	c := <-cpu
	tr.fill(res, c[1]-c[0], base, after, sc)
	m.res = res
	if m := <-allocs; m[0].ok && m[1].ok && res.Requests > 0 {
		objects, bytes := m[1].objects-m[0].objects, m[1].bytes-m[0].bytes
		if mem != nil {
			// The memory sampler's scrapes in the window are the
			// harness's, not the requests'.
			o, b := mem.scrapeCost(window[0], window[1])
			objects, bytes = objects-min(o, objects), bytes-min(b, bytes)
		}
		tr.AllocsPerReq = float64(objects) / float64(res.Requests)
		tr.AllocKBPerReq = float64(bytes) / 1024 / float64(res.Requests)
	}
	if rss != nil {
		tr.Soak = rss.result()
	}
	if prof != nil {
		if err := profWait(); err != nil {
			tr.Notes = append(tr.Notes, "CPU profile: "+err.Error())
		}
		if err := prof.memory(ctx); err != nil {
			tr.Notes = append(tr.Notes, err.Error())
		}
	}
	return m
}

// probe sends one request with net/http and checks the answer: status 200,
// the mock's token text in the body, and for streams the expected ending.
// It catches a misconfigured target before its numbers are trusted.
func probe(ctx context.Context, addr string, r loadgen.Request) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.Method, "http://"+addr+r.Path, strings.NewReader(string(r.Body)))
	if err != nil {
		return err
	}
	for _, kv := range r.Header {
		req.Header.Set(kv[0], kv[1])
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d: %s", resp.StatusCode, clipString(string(body), 300))
	}
	if !strings.Contains(string(body), " bcd") {
		return fmt.Errorf("the answer lacks the mock's tokens: %s", clipString(string(body), 300))
	}
	if len(r.Expect) > 0 && !strings.HasSuffix(string(body), string(r.Expect)) {
		return fmt.Errorf("the stream does not end with %q", r.Expect)
	}
	return nil
}

func clipString(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// tail returns s's last n bytes or fewer, whole lines if it can.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
		s = s[i+1:]
	}
	return "…" + s
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// machine describes where the run happened.
func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}
