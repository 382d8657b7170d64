package harness

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh/bench/mockupstream"
)

// buildOctomesh builds ./cmd/octomesh of this module into a temp dir.
func buildOctomesh(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go toolchain to build the octomesh binary")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "octomesh")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/octomesh")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/octomesh: %v\n%s", err, out)
	}
	return bin
}

// TestSmoke runs the real harness for a fraction of a second per target:
// the mock, the Go proxy and `octomesh serve` as child processes (nginx
// too when it is installed; the smoke test never installs it), one
// non-streaming, two streaming (closed and open loop), one translating
// scenario, one measured in rounds, and the router alone.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs octomesh; skipped with -short")
	}
	bin := buildOctomesh(t)
	var log bytes.Buffer
	rep, err := Run(context.Background(), Options{
		Binary: bin, Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond,
		Scenarios: []string{"nonstream", "stream", TTFBScenario, "pair-anthropic-openai", "upstream50ms", RouterScenario},
		Mode:      "smoke", Command: "go test", Log: &log, WorkDir: t.TempDir(),
	})
	t.Logf("harness output:\n%s", log.String())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(rep.Scenarios), 6; got != want {
		t.Fatalf("%d scenarios, want %d", got, want)
	}
	for _, s := range rep.Scenarios {
		if s.Err != "" {
			t.Fatalf("%s: %s", s.Name, s.Err)
		}
		if s.Router {
			checkRouterRun(t, s)
			continue
		}
		if got, want := len(s.Targets), len(AllTargets); got != want {
			t.Errorf("%s: %d targets, want %d", s.Name, got, want)
		}
		for _, tr := range s.Targets {
			if tr.Target == TargetNginx && tr.Skipped {
				t.Logf("%s: nginx not measured (not installed; the smoke test does not install it): %s", s.Name, tr.Err)
				continue
			}
			if tr.Err != "" {
				t.Errorf("%s/%s: %s", s.Name, tr.Target, tr.Err)
				continue
			}
			// The floors are third-party proxies: the httputil.ReverseProxy
			// floor fails one or two streamed requests with an I/O error in
			// about one smoke run in five on this machine: its Transport
			// closes the upstream connection during the body copy, about
			// once in 400 streams (see TestGoProxyStreams). A rare error
			// there is logged; OctoMesh and direct get none.
			allowed := uint64(0)
			if tr.Target == TargetGoProxy || tr.Target == TargetNginx {
				allowed = tr.Requests / 200
			}
			if tr.Errors > 0 && tr.Errors <= allowed {
				t.Logf("%s/%s: %d errors (%v) in %d requests, within the floor's allowance", s.Name, tr.Target, tr.Errors, tr.ErrorKinds, tr.Requests)
			}
			if tr.Requests == 0 || tr.Errors > allowed || tr.Throughput <= 0 {
				t.Errorf("%s/%s: requests %d errors %d (%v) throughput %.0f", s.Name, tr.Target, tr.Requests, tr.Errors, tr.ErrorKinds, tr.Throughput)
			}
			if tr.Latency.P50 <= 0 || tr.Latency.P99 < tr.Latency.P50 {
				t.Errorf("%s/%s: latency %+v", s.Name, tr.Target, tr.Latency)
			}
			// upstream50ms and ttfb measure the targets in turn five times,
			// nonstream and stream three times.
			if got, want := len(tr.Rounds), map[string]int{"upstream50ms": tailRounds, TTFBScenario: tailRounds, "nonstream": ratioRounds, "stream": ratioRounds}[s.Name]; got != want {
				t.Errorf("%s/%s: %d rounds, want %d", s.Name, tr.Target, got, want)
			}
			if s.Stream && (tr.TTFB == nil || tr.TTFB.P50 <= 0) {
				t.Errorf("%s/%s: no time to first byte", s.Name, tr.Target)
			}
			if tr.PeakRSSMB <= 0 || tr.CPUSeconds < 0 {
				t.Errorf("%s/%s: peak RSS %.1f MB, CPU %.2fs", s.Name, tr.Target, tr.PeakRSSMB, tr.CPUSeconds)
			}
			// OctoMesh's allocations come from its /metrics: a request
			// allocates dozens of objects, not none and not thousands.
			if hasAllocs := tr.AllocsPerReq > 0; hasAllocs != (tr.Target == TargetOctoMesh) ||
				hasAllocs && (tr.AllocsPerReq < 10 || tr.AllocsPerReq > 2000 || tr.AllocKBPerReq <= 0) {
				t.Errorf("%s/%s: %.1f allocs (%.1f KB) per request", s.Name, tr.Target, tr.AllocsPerReq, tr.AllocKBPerReq)
			}
		}
	}
	md := rep.Markdown()
	for _, want := range []string{"## Targets from issue 6", "Non-streaming saturation", "Anthropic in → OpenAI upstream", "| OctoMesh |",
		"### The router alone", "| a named model (`sim/gpt-4o-mini`) |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	if readme := rep.ReadmeSection(); !strings.Contains(readme, "The router alone, in process") || !strings.Contains(readme, "| `auto`, a one-sentence prompt |") {
		t.Errorf("the README section lacks the router's table:\n%s", readme)
	}
}

// checkRouterRun checks the router scenario's cases: decisions made, none
// failed, and the figures consistent with one another.
func checkRouterRun(t *testing.T, s ScenarioResult) {
	t.Helper()
	rr := s.RouterRun
	if rr == nil || len(rr.Cases) != 3 || rr.Models < 12 {
		t.Fatalf("router: %+v", rr)
	}
	if len(s.Targets) != 0 {
		t.Errorf("router: %d targets, want none", len(s.Targets))
	}
	for _, c := range rr.Cases {
		if c.Decisions == 0 || c.Errors != 0 || c.PerSecond <= 0 || c.Workers < 1 {
			t.Errorf("router/%s: %d decisions, %d errors, %.0f/s, %d workers", c.Name, c.Decisions, c.Errors, c.PerSecond, c.Workers)
		}
		if l := c.Latency; l.P50 <= 0 || l.P99 < l.P50 || l.P999 < l.P99 {
			t.Errorf("router/%s: latency %+v", c.Name, l)
		}
		// A decision costs microseconds and allocates a few objects at
		// most: seconds or thousands would be a unit mistake.
		if c.CPUPerDecision <= 0 || c.CPUPerDecision > 1000 || c.AllocsPerDecision < 0 || c.AllocsPerDecision > 100 {
			t.Errorf("router/%s: %.2f µs of CPU, %.1f allocations a decision", c.Name, c.CPUPerDecision, c.AllocsPerDecision)
		}
	}
	// The named model has one deployment; auto plans fallbacks.
	if named, auto := rr.Cases[0], rr.Cases[1]; named.Attempts != 1 || auto.Attempts < 2 {
		t.Errorf("attempts planned: named %.1f, auto %.1f", named.Attempts, auto.Attempts)
	}
}

func TestUpdateReadme(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	orig := "# X\n\n## Performance\n\n" + ReadmeStart + "\nold table\n" + ReadmeEnd + "\n\n## After\n"
	if err := os.WriteFile(path, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := UpdateReadme(path, "\nnew table\n"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := "# X\n\n## Performance\n\n" + ReadmeStart + "\nnew table\n" + ReadmeEnd + "\n\n## After\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	os.WriteFile(path, []byte("no markers\n"), 0o644)
	if err := UpdateReadme(path, "x"); err == nil {
		t.Error("no markers: no error")
	}
	if got, _ := os.ReadFile(path); string(got) != "no markers\n" {
		t.Errorf("file changed without markers: %q", got)
	}
}

func TestChecks(t *testing.T) {
	res := func(target string, tp, p99 float64) TargetResult {
		return TargetResult{Target: target, Throughput: tp, Latency: Percentiles{P99: p99}}
	}
	rep := &Report{Scenarios: []ScenarioResult{
		{Scenario: Scenario{Name: "nonstream"}, Targets: []TargetResult{res(TargetNginx, 1000, 1), res(TargetOctoMesh, 600, 2)}},
		{Scenario: Scenario{Name: "upstream50ms"}, Targets: []TargetResult{res(TargetDirect, 1000, 60), res(TargetOctoMesh, 960, 66)}},
	}}
	got := map[string]Check{}
	for _, c := range rep.Checks() {
		got[c.Name] = c
	}
	tests := []checkWant{
		{"Non-streaming saturation", true, true, "60.0%"},
		{"50 ms upstream, 200 connections: throughput", true, false, "96.0%"},
		{"50 ms upstream, 200 connections: p99", true, false, "+6.00 ms"},
		{"Streaming saturation", false, false, ""},
		{"Memory at 200 connections", true, true, "0.0 MB"},
	}
	check(t, got, tests)

	// With the same request measured again in its pair scenario, the
	// target is met only when both samples meet it.
	for _, pair := range []struct {
		octomesh float64
		pass     bool
		value    string
	}{{550, true, "60.0% (55.0% in pair-openai-openai, the same request)"}, {330, false, "60.0% (33.0% in pair-openai-openai, the same request)"}} {
		rep.Scenarios = append(rep.Scenarios[:2], ScenarioResult{Scenario: Scenario{Name: PairSameAsNonstream},
			Targets: []TargetResult{res(TargetNginx, 1000, 1), res(TargetOctoMesh, pair.octomesh, 2)}})
		got := map[string]Check{}
		for _, c := range rep.Checks() {
			got[c.Name] = c
		}
		check(t, got, []checkWant{{"Non-streaming saturation", true, pair.pass, pair.value}})
	}
}

type checkWant struct {
	name        string
	known, pass bool
	value       string
}

func check(t *testing.T, got map[string]Check, tests []checkWant) {
	t.Helper()
	for _, tt := range tests {
		c, ok := got[tt.name]
		if !ok {
			t.Errorf("no check %q", tt.name)
			continue
		}
		if c.Known != tt.known || c.Pass != tt.pass || c.Got != tt.value {
			t.Errorf("%s: known %v pass %v got %q; want %v %v %q", tt.name, c.Known, c.Pass, c.Got, tt.known, tt.pass, tt.value)
		}
	}
}

// The first-token target is read from the ttfb scenario (below
// saturation), never from the saturation scenarios, whose first-byte
// figures are shown for reference only.
func TestFirstTokenCheckUsesTTFBScenario(t *testing.T) {
	streamRes := func(target string, ttfbP99 float64) TargetResult {
		return TargetResult{Target: target, Throughput: 500, TTFB: &Percentiles{P99: ttfbP99}}
	}
	scenario := func(name string, direct, octomesh float64) ScenarioResult {
		return ScenarioResult{Scenario: Scenario{Name: name, Stream: true},
			Targets: []TargetResult{streamRes(TargetDirect, direct), streamRes(TargetOctoMesh, octomesh)}}
	}
	const target = "Time to first token added at p99 (ttfb: open loop, below saturation)"
	const stream = "Time to first byte added at p99 under saturation (stream; includes queueing)"
	const streams2000 = "Time to first byte added at p99 under saturation (streams2000; includes queueing)"
	type want struct {
		known, pass, reference bool
		got                    string
	}
	tests := []struct {
		name      string
		scenarios []ScenarioResult
		want      map[string]want
	}{
		{"below saturation met, saturated not", []ScenarioResult{
			scenario("stream", 10, 22), scenario(TTFBScenario, 21.2, 21.8), scenario("streams2000", 1000, 2000)},
			map[string]want{
				target:      {true, true, false, "+0.60 ms"},
				stream:      {true, false, true, "+12.00 ms"},
				streams2000: {true, false, true, "+1000.00 ms"},
			}},
		{"below saturation not met, saturated met", []ScenarioResult{
			scenario("stream", 10, 10.5), scenario(TTFBScenario, 21, 23.5), scenario("streams2000", 100, 100.2)},
			map[string]want{
				target:      {true, false, false, "+2.50 ms"},
				stream:      {true, false, true, "+0.50 ms"},
				streams2000: {true, false, true, "+0.20 ms"},
			}},
		{"no ttfb scenario: the target is not measured", []ScenarioResult{scenario("stream", 10, 10.5)},
			map[string]want{
				target:      {false, false, false, ""},
				stream:      {true, false, true, "+0.50 ms"},
				streams2000: {false, false, true, ""},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := &Report{Scenarios: tt.scenarios}
			got := map[string]want{}
			for _, c := range rep.Checks() {
				got[c.Name] = want{c.Known, c.Pass, c.Reference, c.Got}
			}
			for name, w := range tt.want {
				g, ok := got[name]
				if !ok {
					t.Errorf("no check %q", name)
					continue
				}
				if g != w {
					t.Errorf("%s: got %+v, want %+v", name, g, w)
				}
			}
			// The table marks the target met or not, and the
			// saturation rows as references, never as targets.
			var b bytes.Buffer
			rep.checksTable(&b)
			md := b.String()
			for name, w := range tt.want {
				mark := "not measured"
				switch {
				case w.known && w.reference:
					mark = "for reference"
				case w.known && w.pass:
					mark = "✅ met"
				case w.known:
					mark = "❌ not met"
				}
				if !strings.Contains(md, "| "+name+" | ") || !strings.Contains(md, " | "+mark+" |\n") {
					t.Errorf("table lacks %q marked %q:\n%s", name, mark, md)
				}
				for _, line := range strings.Split(md, "\n") {
					if strings.HasPrefix(line, "| "+name+" | ") && !strings.HasSuffix(line, " | "+mark+" |") {
						t.Errorf("row %q, want it marked %q", line, mark)
					}
				}
			}
			if !strings.Contains(md, "queueing dominates the tail") {
				t.Errorf("the table does not say why the target is measured below saturation:\n%s", md)
			}
		})
	}
}

// The ttfb scenario runs by default in the main group against every
// target, as an open loop with room for every stream in flight.
func TestTTFBScenario(t *testing.T) {
	main, err := selectScenarios([]string{"main"})
	if err != nil {
		t.Fatal(err)
	}
	var sc *Scenario
	for i := range main {
		if main[i].Name == TTFBScenario {
			sc = &main[i]
		}
	}
	if sc == nil {
		t.Fatalf("the main group lacks %s", TTFBScenario)
	}
	if !sc.Stream || sc.Rate <= 0 || sc.Soak || sc.Memory || sc.Mock.TTFT <= 0 || sc.Mock.TokensPerSec <= 0 {
		t.Errorf("ttfb: want an open-loop stream with a paced upstream, got %+v", sc)
	}
	// Each stream lasts the TTFT plus its paced tokens; the pool must
	// hold twice the streams in flight, so no arrival is dropped.
	life := sc.Mock.TTFT.Seconds() + float64(sc.Mock.Tokens-1)/sc.Mock.TokensPerSec
	if inFlight := sc.Rate * life; float64(sc.Connections) < 2*inFlight {
		t.Errorf("ttfb: %d connections for about %.0f streams in flight", sc.Connections, inFlight)
	}
	// The pool opens one connection per arrival until all are open: they
	// must all open in the warm-up (0.5 s in quick runs), not the window.
	if opened := sc.Rate * 0.5; float64(sc.Connections) > opened {
		t.Errorf("ttfb: %d connections open over %.1f s at %.0f/s, longer than a quick run's warm-up", sc.Connections, float64(sc.Connections)/sc.Rate, sc.Rate)
	}
	if _, d := sc.window(10*time.Second, 2*time.Second); d != 10*time.Second {
		t.Errorf("ttfb: window %v for a 10s run, want the run's duration", d)
	}
	def, _ := selectScenarios(nil)
	found := false
	for _, s := range def {
		found = found || s.Name == TTFBScenario
	}
	if !found {
		t.Error("the default run lacks ttfb")
	}
	var b bytes.Buffer
	(&ScenarioResult{Scenario: *sc}).table(&b)
	if !strings.Contains(b.String(), "not saturated") {
		t.Errorf("ttfb section does not say why it is below saturation:\n%s", b.String())
	}
	b.Reset()
	(&ScenarioResult{Scenario: Scenario{Name: "stream", Stream: true}}).table(&b)
	if !strings.Contains(b.String(), "queueing for CPU dominates the tail") {
		t.Errorf("stream section does not say its first byte is queueing:\n%s", b.String())
	}
}

func TestSelectScenarios(t *testing.T) {
	got, err := selectScenarios([]string{"pairs", "stream"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range got {
		names = append(names, s.Name)
	}
	want := "pair-openai-openai,pair-anthropic-openai,pair-openai-anthropic,pair-anthropic-anthropic,stream"
	if strings.Join(names, ",") != want {
		t.Errorf("got %v, want %s", names, want)
	}
	if _, err := selectScenarios([]string{"nope"}); err == nil {
		t.Error("unknown scenario: no error")
	}
}

func TestNginxConf(t *testing.T) {
	dir := t.TempDir()
	path, err := writeNginxConf(dir, "127.0.0.1:8081", "127.0.0.1:9000")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	for _, want := range []string{"daemon off;", "listen 127.0.0.1:8081 backlog=4096;", "server 127.0.0.1:9000;", "proxy_buffering off;", "pid " + dir + "/nginx.pid;"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("config lacks %q:\n%s", want, b)
		}
	}
	if nginx, err := exec.LookPath("nginx"); err == nil {
		out, err := exec.Command(nginx, "-t", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", path).CombinedOutput()
		if err != nil {
			t.Errorf("nginx -t: %v\n%s", err, out)
		}
	} else {
		t.Log("nginx not installed: the generated config is not syntax-checked")
	}
}

// TestGoProxyStreams checks the Go floor passes a paced stream through as
// it arrives, not at the end.
func TestGoProxyStreams(t *testing.T) {
	mock := httptest.NewServer(mockupstream.New(mockupstream.Config{Tokens: 3, TokensPerSec: 10}))
	defer mock.Close()
	u, _ := url.Parse(mock.URL)
	proxy := httptest.NewServer(NewGoProxy(u))
	defer proxy.Close()
	// About one stream in 400 through httputil.ReverseProxy ends early:
	// its Transport closes the upstream connection during the body copy
	// ("read error during body copy: use of closed network connection" in
	// its error log; the mock alone served 2,000 of 2,000). That is the
	// floor's own failure, not what this test checks, so a cut stream is
	// tried again, up to three times; the checks apply to a whole one.
	var ttfb, total time.Duration
	var body string
	for try := 1; ; try++ {
		t0 := time.Now()
		resp, err := http.Post(proxy.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"stream":true}`))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		first := make([]byte, 1)
		if _, err := io.ReadFull(resp.Body, first); err != nil {
			t.Fatal(err)
		}
		ttfb = time.Since(t0)
		rest, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		total = time.Since(t0)
		body = string(first) + string(rest)
		if err != io.ErrUnexpectedEOF || try == 3 {
			break
		}
		t.Logf("try %d: the proxy cut the stream after %v (%v); again", try, total, err)
	}
	// Tokens come 100 ms apart: a proxy that flushes as they come gives
	// the first byte two token gaps before the end; one that buffers, at
	// the end. Relative to the end, not a wall-clock bound, so a loaded
	// machine does not fail it (it did, once: a first byte after 100 ms).
	if total < 200*time.Millisecond || ttfb > total-100*time.Millisecond {
		t.Errorf("first byte after %v, end after %v: want the first token well before the last (~200ms later)", ttfb, total)
	}
	if !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Errorf("stream does not end with [DONE]: %q", body)
	}
}

func TestScenarioRequests(t *testing.T) {
	for _, s := range Scenarios() {
		r := s.request("om_key")
		if s.Inbound == FormatAnthropic {
			if r.Path != "/v1/messages" || !strings.Contains(string(r.Body), `"max_tokens":256`) {
				t.Errorf("%s: %s %s", s.Name, r.Path, r.Body)
			}
		} else if r.Path != "/v1/chat/completions" {
			t.Errorf("%s: path %s", s.Name, r.Path)
		}
		wantModel := ModelOpenAI
		if s.Outbound == FormatAnthropic {
			wantModel = ModelAnthropic
		}
		if !strings.Contains(string(r.Body), `"model":"`+wantModel+`"`) {
			t.Errorf("%s: body names the wrong model: %s", s.Name, r.Body)
		}
		if s.Stream != (len(r.Expect) > 0) {
			t.Errorf("%s: stream %v but expect %q", s.Name, s.Stream, r.Expect)
		}
	}
}

func TestSoakSummary(t *testing.T) {
	flat := soakOf([]float64{40, 60, 62, 61, 62, 61, 62, 61}, 5*time.Second)
	if flat.StartMB != 40 || flat.EndMB != 61 || flat.MaxMB != 62 || flat.SlopeMBPerMin > 0.5 || flat.SlopeMBPerMin < -5 {
		t.Errorf("flat run: %+v", flat)
	}
	// 1 MB per 5 s sample in the second half is 12 MB a minute.
	growing := soakOf([]float64{50, 50, 50, 50, 51, 52, 53, 54}, 5*time.Second)
	if d := growing.SlopeMBPerMin - 12; d < -0.01 || d > 0.01 {
		t.Errorf("growing run: slope %v, want 12", growing.SlopeMBPerMin)
	}
	r := &Report{Scenarios: []ScenarioResult{{Scenario: Scenario{Name: "soak"}, Targets: []TargetResult{{Target: TargetOctoMesh, Soak: growing}}}}}
	for _, c := range r.Checks() {
		if c.Name == "Memory over a 10-minute soak" && (!c.Known || c.Pass) {
			t.Errorf("a growing soak: %+v", c)
		}
	}
	if soakOf(nil, time.Second) != nil {
		t.Error("no samples: want nil")
	}
}

func TestSoakRunsOnlyWhenNamed(t *testing.T) {
	all, err := selectScenarios(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Soak {
			t.Errorf("the default run includes %s", s.Name)
		}
	}
	got, err := selectScenarios([]string{"soak"})
	if err != nil || len(got) != 1 || !got[0].Soak {
		t.Errorf("selectScenarios(soak) = %v, %v", got, err)
	}
}

// A scenario OctoMesh failed fast in must not read as a good one: its
// summary row shows the failed requests, which the throughput leaves out.
func TestSummaryShowsOctoMeshErrors(t *testing.T) {
	rep := &Report{Scenarios: []ScenarioResult{{Scenario: Scenario{Name: "streams2000", Title: "2,000 streams"},
		Targets: []TargetResult{
			{Target: TargetDirect, Throughput: 847, Latency: Percentiles{P99: 3707}},
			{Target: TargetOctoMesh, Throughput: 561, Errors: 52695, Latency: Percentiles{P99: 5033}, PeakRSSMB: 174.7},
		}}}}
	var b bytes.Buffer
	rep.summaryTable(&b)
	if !strings.Contains(b.String(), "| OctoMesh errors |") || !strings.Contains(b.String(), "| 174.7 MB | 52695 |") {
		t.Fatalf("summary:\n%s", b.String())
	}
}

func TestParseAllocs(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       heapAllocs
	}{
		{"both", "# HELP go_heap_allocs_objects_total x\n# TYPE go_heap_allocs_objects_total counter\ngo_heap_allocs_objects_total 1234\ngo_heap_allocs_bytes_total 98765\ngo_goroutines 7\n",
			heapAllocs{objects: 1234, bytes: 98765, ok: true}},
		{"one missing", "go_heap_allocs_objects_total 1234\n", heapAllocs{}},
		{"not a number", "go_heap_allocs_objects_total 12x\ngo_heap_allocs_bytes_total 5\n", heapAllocs{}},
		{"similar names ignored", "go_heap_allocs_objects_total_x 9\ngo_heap_allocs_objects_total 1\ngo_heap_allocs_bytes_total 2\n",
			heapAllocs{objects: 1, bytes: 2, ok: true}},
	} {
		if got := parseAllocs(bufio.NewScanner(strings.NewReader(tc.text))); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
