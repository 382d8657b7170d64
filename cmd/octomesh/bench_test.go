package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octomesh/octomesh"
	"github.com/octomesh/octomesh/bench/harness"
	"github.com/octomesh/octomesh/internal/router"
)

func TestBenchReadmeFromResults(t *testing.T) {
	dir := t.TempDir()
	rep := &harness.Report{Mode: "full", Command: "octomesh bench", Duration: "10s", Warmup: "2s",
		Scenarios: []harness.ScenarioResult{{Scenario: harness.Scenario{Name: "nonstream", Title: "Non-streaming saturation"},
			Targets: []harness.TargetResult{{Target: harness.TargetNginx, Throughput: 1000}, {Target: harness.TargetOctoMesh, Throughput: 600}}}}}
	results := filepath.Join(dir, "latest.json")
	if err := rep.WriteJSON(results); err != nil {
		t.Fatal(err)
	}
	readme := filepath.Join(dir, "README.md")
	os.WriteFile(readme, []byte("# X\n"+harness.ReadmeStart+"\nold\n"+harness.ReadmeEnd+"\ntail\n"), 0o644)
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"bench", "--readme", readme, "--from", results}, os.Getenv, &out, &errb); err != nil {
		t.Fatalf("bench --readme: %v\n%s", err, errb.String())
	}
	b, _ := os.ReadFile(readme)
	got := string(b)
	for _, want := range []string{"| Non-streaming saturation | – | 1000 | – | 600 | 60% |", "produced by `octomesh bench`", "✅ met", "\ntail\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("README lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "\nold\n") {
		t.Error("the old section was kept")
	}
}

func TestBenchUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"bench", "--from", "x.json"}, 2},
		{[]string{"bench", "--nope"}, 2},
		{[]string{"bench", "goproxy", "--upstream", "not a url"}, 2},
		{[]string{"bench", "--readme", "/nonexistent/README.md", "--from", "/nonexistent/r.json"}, 1},
	}
	for _, tt := range tests {
		err := run(context.Background(), tt.args, os.Getenv, io.Discard, io.Discard)
		if err == nil || exitCode(err) != tt.code {
			t.Errorf("%v: err %v (exit %d), want exit %d", tt.args, err, exitCode(err), tt.code)
		}
	}
}

// TestBenchHelpDoesNotRun checks that -h prints usage and returns at once
// (a benchmark run would take minutes).
func TestBenchHelpDoesNotRun(t *testing.T) {
	for _, args := range [][]string{{"bench", "-h"}, {"bench", "mock", "-h"}, {"bench", "goproxy", "--help"}} {
		var errb bytes.Buffer
		done := make(chan error, 1)
		go func() { done <- run(context.Background(), args, os.Getenv, io.Discard, &errb) }()
		select {
		case err := <-done:
			if err != nil || !strings.Contains(errb.String(), "-listen") && !strings.Contains(errb.String(), "-quick") {
				t.Errorf("%v: err %v, usage %q", args, err, errb.String())
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%v did not return", args)
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for a concurrent reader and writer.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestBenchMockServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out lockedBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"bench", "mock", "--tokens", "3"}, os.Getenv, &out, io.Discard) }()
	re := regexp.MustCompile(`listening on (http://\S+)`)
	var url string
	for deadline := time.Now().Add(5 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		t.Fatalf("no listening line in %q", out.String())
	}
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"m","messages":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"content":" bcd bcd bcd"`) {
		t.Errorf("mock answered %s", body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("bench mock: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("bench mock did not stop")
	}
}

// TestBenchSmokeRunsKeepTheCommittedResults: without --out, only a full
// run writes bench/results/latest.*; quick and custom runs go to tmp/.
func TestBenchSmokeRunsKeepTheCommittedResults(t *testing.T) {
	def := filepath.Join("bench", "results")
	for _, tt := range []struct {
		out     string
		outSet  bool
		mode    string
		partial bool
		want    string
	}{
		{def, false, "full", false, def},
		{def, false, "full", true, filepath.Join(def, "tmp")}, // profiled, or some targets or scenarios only
		{def, false, "quick", false, filepath.Join(def, "tmp")},
		{def, false, "custom", false, filepath.Join(def, "tmp")},
		{"/x/y", true, "quick", false, "/x/y"},
		{"/x/y", true, "full", true, "/x/y"},
	} {
		if got := resultsDir(tt.out, tt.outSet, tt.mode, tt.partial); got != tt.want {
			t.Errorf("resultsDir(%q, %v, %s, %v) = %q, want %q", tt.out, tt.outSet, tt.mode, tt.partial, got, tt.want)
		}
	}
	for list, want := range map[string]bool{"main,pairs,soak": true, " main ": true, "nonstream": false, "mainly": false} {
		if hasGroup(list, "main") != want {
			t.Errorf("hasGroup(%q, main) = %v", list, !want)
		}
	}
}

// TestBenchRouterMeasuresDecisions runs `octomesh bench router` briefly
// and reads its JSON: every case decided, none failed, and the learned
// router's cases cost more than the named model's (they predict quality
// over the fleet; a long prompt costs more again).
func TestBenchRouterMeasuresDecisions(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"bench", "router", "--warmup", "50ms", "--duration", "300ms"}, os.Getenv, &out, &errOut); err != nil {
		t.Fatalf("bench router: %v\n%s", err, errOut.String())
	}
	var rr harness.RouterRun
	if err := json.Unmarshal(out.Bytes(), &rr); err != nil {
		t.Fatalf("output is not a RouterRun: %v\n%s", err, out.String())
	}
	if rr.Models != 13 || len(rr.Cases) != 3 {
		t.Fatalf("%d models, %d cases: %s", rr.Models, len(rr.Cases), out.String())
	}
	byName := map[string]harness.RouterCase{}
	for _, c := range rr.Cases {
		byName[c.Name] = c
		if c.Decisions == 0 || c.Errors != 0 || c.Latency.P50 <= 0 {
			t.Errorf("%s: %+v", c.Name, c)
		}
	}
	named, auto, long := byName["named"], byName["auto"], byName["auto-long"]
	if named.Attempts != 1 || auto.Attempts <= 1 {
		t.Errorf("attempts planned: named %.1f, auto %.1f", named.Attempts, auto.Attempts)
	}
	if !(named.Latency.P50 < auto.Latency.P50 && auto.Latency.P50 < long.Latency.P50) {
		t.Errorf("p50 µs: named %.2f, auto %.2f, auto-long %.2f: want increasing", named.Latency.P50, auto.Latency.P50, long.Latency.P50)
	}
}

// TestMeasureRouterCountsWrongPlans: a decision that plans another
// deployment than the case expects is an error, not a figure.
func TestMeasureRouterCountsWrongPlans(t *testing.T) {
	rt, defaults, err := defaultRouter()
	if err != nil {
		t.Fatal(err)
	}
	c := routerCases()[0]
	c.want = "sim/gpt-4o" // the request names sim/gpt-4o-mini
	var log bytes.Buffer
	_, err = measureRouter(context.Background(), rt, c, defaults, 1, 0, 50*time.Millisecond, &log)
	if err == nil || !strings.Contains(err.Error(), "planned sim/gpt-4o-mini first, want sim/gpt-4o") {
		t.Fatalf("err = %v, want the wrong plan named", err)
	}
	c.want, c.req.Model = "", "sim/no-such-model"
	if _, err = measureRouter(context.Background(), rt, c, defaults, 1, 0, 50*time.Millisecond, &log); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("err = %v, want the router's not-found error", err)
	}
}

// TestDecisionAllocations: a decision for a named model allocates nothing
// (its plan fits the request's room), and an "auto" decision with the
// learned router only its plan (the plan box and its three slices, 12
// attempts): the predictions and the trained names use the router's and
// the stack's room. An auto decision allocated 6 when Predict returned a
// new slice and built one for the names.
func TestDecisionAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	rt, defaults, err := defaultRouter()
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range map[int]float64{0: 0, 1: 4} {
		c := routerCases()[i]
		opts, err := router.Merge(defaults, octomesh.RouteOptions{}, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		var rw routerWorker
		var failed error
		allocs := testing.AllocsPerRun(200, func() {
			if _, err := rw.decide(rt, &c, opts); err != nil {
				failed = err
			}
		})
		if failed != nil {
			t.Fatalf("%s: %v", c.name, failed)
		}
		if allocs > want {
			t.Errorf("%s: %.1f allocations a decision, want at most %.0f", c.name, allocs, want)
		}
	}
}

// TestBenchInterruptedRunKeepsTheCommittedResults: a full run stopped
// before its end (its context cancelled, as by SIGTERM) wrote its partial
// report over bench/results/latest.* before; it goes to tmp/ now.
func TestBenchInterruptedRunKeepsTheCommittedResults(t *testing.T) {
	t.Chdir(t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	err := run(ctx, []string{"bench", "--bin", "/bin/true", "--no-install"}, os.Getenv, &out, io.Discard)
	if err == nil {
		t.Fatalf("an interrupted run returned no error:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join("bench", "results", "latest.json")); !os.IsNotExist(err) {
		t.Errorf("bench/results/latest.json: %v, want none\n%s", err, out.String())
	}
	if _, err := os.Stat(filepath.Join("bench", "results", "tmp", "latest.json")); err != nil {
		t.Errorf("the partial report: %v\n%s", err, out.String())
	}
}
