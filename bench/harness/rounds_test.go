package harness

import (
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh/bench/loadgen"
	"github.com/octomesh/octomesh/bench/procstat"
)

func round(target string, reqs uint64, lat []time.Duration, cpu, rss float64) measured {
	h := loadgen.NewHistogram()
	for _, d := range lat {
		h.Record(d)
	}
	res := &loadgen.Result{Requests: reqs, Elapsed: time.Second, Throughput: float64(reqs), Latency: h, FirstByte: loadgen.NewHistogram()}
	tr := TargetResult{Target: target}
	tr.fill(res, time.Duration(cpu*float64(time.Second)), procstat.Sample{}, procstat.Sample{RSS: int64(rss * (1 << 20))}, Scenario{})
	tr.AllocsPerReq, tr.AllocKBPerReq = 10, 1
	return measured{tr: tr, res: res}
}

func TestMergeRoundsSumsAndMergesHistograms(t *testing.T) {
	fast := []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}
	slow := []time.Duration{90 * time.Millisecond, 90 * time.Millisecond}
	a := round(TargetOctoMesh, 100, fast, 0.5, 40)
	b := round(TargetOctoMesh, 300, slow, 1.5, 60)
	b.tr.AllocsPerReq = 30
	got := mergeRounds(Scenario{Rounds: 2}, []measured{a, b})
	if got.Requests != 400 || got.Throughput != 200 {
		t.Errorf("requests %d throughput %.0f, want 400 over 2 s = 200/s", got.Requests, got.Throughput)
	}
	if got.CPUSeconds != 2 || got.CPUCores != 1 || got.CPUPerReq != 5000 {
		t.Errorf("cpu %.2fs %.2f cores %.0f µs/req, want 2s, 1 core, 5000 µs", got.CPUSeconds, got.CPUCores, got.CPUPerReq)
	}
	if got.PeakRSSMB != 60 {
		t.Errorf("peak RSS %.0f MB, want the highest round's 60", got.PeakRSSMB)
	}
	// Weighted by requests: (100×10 + 300×30) / 400.
	if got.AllocsPerReq != 25 {
		t.Errorf("allocs/req %.1f, want 25", got.AllocsPerReq)
	}
	// A round whose /metrics scrape failed has no allocation figure (0):
	// the others' figure stands, not an average with a 0 in it.
	unread := round(TargetOctoMesh, 300, slow, 1.5, 60)
	unread.tr.AllocsPerReq, unread.tr.AllocKBPerReq = 0, 0
	if got := mergeRounds(Scenario{Rounds: 2}, []measured{a, unread}); got.AllocsPerReq != 10 || got.AllocKBPerReq != 1 {
		t.Errorf("allocs/req %.1f (%.1f KB) with one round unread, want the other's 10 (1 KB)", got.AllocsPerReq, got.AllocKBPerReq)
	}
	// The merged histogram holds both rounds' samples: its p50 is not
	// either round's alone.
	if got.Latency.P50 < 9 || got.Latency.P50 > 11 || got.Latency.P99 < 85 {
		t.Errorf("latency %+v, want p50 ~10 ms and p99 ~90 ms from the merged samples", got.Latency)
	}
	if len(got.Rounds) != 2 || got.Rounds[0].P99 > 11 || got.Rounds[1].P99 < 85 || got.Rounds[1].Throughput != 300 {
		t.Errorf("rounds %+v", got.Rounds)
	}
	// One round alone is returned as it is; a failed round fails the result.
	if one := mergeRounds(Scenario{}, []measured{a}); one.Rounds != nil || one.Requests != 100 {
		t.Errorf("a single round was changed: %+v", one)
	}
	bad := measured{tr: TargetResult{Target: TargetOctoMesh, Err: "probe: boom"}}
	if got := mergeRounds(Scenario{Rounds: 2}, []measured{a, bad}); got.Err != "probe: boom" {
		t.Errorf("a failed round: err %q", got.Err)
	}
}

func TestP99AddedIsTheMedianOfPairedRounds(t *testing.T) {
	rounds := func(p99 ...float64) *TargetResult {
		tr := &TargetResult{Latency: Percentiles{P99: 100}}
		for _, v := range p99 {
			tr.Rounds = append(tr.Rounds, Round{P99: v})
		}
		return tr
	}
	// Direct drifted: 60, 70, 62. OctoMesh 64, 80, 65: +4, +10, +3.
	add, how := p99Added(rounds(64, 80, 65), rounds(60, 70, 62))
	if add != 4 || !strings.Contains(how, "median of 3 rounds: +4.00, +10.00, +3.00 ms") {
		t.Errorf("got %+.2f %q", add, how)
	}
	add, _ = p99Added(rounds(64, 80, 65, 70), rounds(60, 70, 62, 60))
	if add != 7 { // +4 +10 +3 +10: median of 4 is (4+10)/2
		t.Errorf("even count: got %+.2f, want +7", add)
	}
	// Without rounds on both sides: the windows' difference.
	o, d := rounds(), rounds()
	o.Latency.P99 = 66
	d.Latency.P99 = 60
	if add, how := p99Added(o, d); add != 6 || how != "" {
		t.Errorf("no rounds: got %+.2f %q", add, how)
	}
	if add, _ := p99Added(rounds(70, 71, 72), rounds(60, 60)); add != 0 {
		t.Errorf("unpaired rounds: got %+.2f, want the merged windows' 0", add)
	}
}

func TestChecksUseTheRoundsForThe50msP99(t *testing.T) {
	res := func(target string, p99 ...float64) TargetResult {
		tr := TargetResult{Target: target, Throughput: 1000, Latency: Percentiles{P99: 61}}
		for _, v := range p99 {
			tr.Rounds = append(tr.Rounds, Round{P99: v})
		}
		return tr
	}
	// The merged windows differ by 0 but the paired rounds by +6 (median).
	rep := &Report{Scenarios: []ScenarioResult{{Scenario: Scenario{Name: "upstream50ms", Rounds: 3},
		Targets: []TargetResult{res(TargetDirect, 60, 61, 62), res(TargetOctoMesh, 66, 67, 60)}}}}
	for _, c := range rep.Checks() {
		if c.Name == "50 ms upstream, 200 connections: p99" {
			if !c.Known || c.Pass || !strings.HasPrefix(c.Got, "+6.00 ms (median of 3 rounds") {
				t.Errorf("check %+v", c)
			}
			return
		}
	}
	t.Fatal("no 50 ms p99 check")
}

func TestChecksUseTheRoundsForTheFirstTokenAdded(t *testing.T) {
	res := func(target string, ttfb ...float64) TargetResult {
		tr := TargetResult{Target: target, Throughput: 250, TTFB: &Percentiles{P99: 20}}
		for _, v := range ttfb {
			tr.Rounds = append(tr.Rounds, Round{TTFBP99: v})
		}
		return tr
	}
	// The merged windows differ by 0; the paired rounds by +0.3 (median),
	// one round's +1.5 being the machine's.
	rep := &Report{Scenarios: []ScenarioResult{{Scenario: Scenario{Name: TTFBScenario, Stream: true, Rounds: 3},
		Targets: []TargetResult{res(TargetDirect, 20, 20, 20), res(TargetOctoMesh, 20.3, 21.5, 20.2)}}}}
	for _, c := range rep.Checks() {
		if strings.HasPrefix(c.Name, "Time to first token added") {
			if !c.Known || !c.Pass || !strings.HasPrefix(c.Got, "+0.30 ms (median of 3 rounds: +0.30, +1.50, +0.20 ms)") {
				t.Errorf("check %+v", c)
			}
			return
		}
	}
	t.Fatal("no first-token check")
}

func TestMergeRoundsKeepsEachRoundsFirstByte(t *testing.T) {
	a := round(TargetOctoMesh, 10, []time.Duration{time.Millisecond}, 0.1, 10)
	b := round(TargetOctoMesh, 10, []time.Duration{time.Millisecond}, 0.1, 10)
	a.res.FirstByte.Record(5 * time.Millisecond)
	b.res.FirstByte.Record(9 * time.Millisecond)
	a.tr.TTFB = &Percentiles{P99: 5}
	b.tr.TTFB = &Percentiles{P99: 9}
	got := mergeRounds(Scenario{Stream: true, Rounds: 2}, []measured{a, b})
	if len(got.Rounds) != 2 || got.Rounds[0].TTFBP99 != 5 || got.Rounds[1].TTFBP99 != 9 {
		t.Errorf("rounds %+v, want each round's first-byte p99", got.Rounds)
	}
	if got.TTFB == nil || got.TTFB.P99 < 8.5 {
		t.Errorf("merged first byte %+v, want the merged histogram's", got.TTFB)
	}
}

func TestThroughputRatioIsTheMedianOfPairedRounds(t *testing.T) {
	rounds := func(merged float64, rps ...float64) *TargetResult {
		tr := &TargetResult{Throughput: merged}
		for _, v := range rps {
			tr.Rounds = append(tr.Rounds, Round{Throughput: v})
		}
		return tr
	}
	// nginx drifted: 20k, 30k, 25k; OctoMesh 14k, 15k, 16k: 70%, 50%, 64%.
	v, how := throughputRatio(rounds(15000, 14000, 15000, 16000), rounds(25000, 20000, 30000, 25000))
	if v != 0.64 || how != " (median of 3 rounds: 70.0%, 50.0%, 64.0%; 60.0% over all windows)" {
		t.Errorf("got %.3f %q", v, how)
	}
	// Without rounds on both sides: the merged windows' ratio.
	if v, how := throughputRatio(rounds(15000), rounds(25000)); v != 0.6 || how != "" {
		t.Errorf("no rounds: got %.3f %q", v, how)
	}
	if v, _ := throughputRatio(rounds(15000, 1, 2, 3), rounds(25000, 1, 2)); v != 0.6 {
		t.Errorf("unpaired rounds: got %.3f, want the merged windows' 0.6", v)
	}
	if v, how := throughputRatio(rounds(15000, 1, 2, 3), rounds(25000, 1, 0, 3)); v != 0.6 || how != "" {
		t.Errorf("a round of the floor served nothing: got %.3f %q, want the merged windows' 0.6", v, how)
	}
}

// TestChecksUseTheRoundsForThe50msThroughput: upstream50ms measures
// rounds for its p99, and its throughput target is judged like the
// saturation scenarios', by the median of the paired ratios.
func TestChecksUseTheRoundsForThe50msThroughput(t *testing.T) {
	res := func(target string, merged float64, rps ...float64) TargetResult {
		tr := TargetResult{Target: target, Throughput: merged}
		for _, v := range rps {
			tr.Rounds = append(tr.Rounds, Round{Throughput: v, P99: 60})
		}
		return tr
	}
	// Over all windows 97.2%, but three of five rounds below 97%.
	rep := &Report{Scenarios: []ScenarioResult{{Scenario: Scenario{Name: "upstream50ms", Rounds: 5},
		Targets: []TargetResult{res(TargetDirect, 3900, 3900, 3900, 3900, 3900, 3900), res(TargetOctoMesh, 3790, 3900, 3890, 3770, 3760, 3780)}}}}
	for _, c := range rep.Checks() {
		if c.Name == "50 ms upstream, 200 connections: throughput" {
			if !c.Known || c.Pass || !strings.HasPrefix(c.Got, "96.9% (median of 5 rounds: 100.0%, 99.7%, 96.7%, 96.4%, 96.9%; 97.2% over all windows)") {
				t.Errorf("check %+v", c)
			}
			return
		}
	}
	t.Fatal("no 50 ms throughput check")
}

func TestChecksUseTheRoundsForTheStreamingRatio(t *testing.T) {
	res := func(target string, merged float64, rps ...float64) TargetResult {
		tr := TargetResult{Target: target, Throughput: merged}
		for _, v := range rps {
			tr.Rounds = append(tr.Rounds, Round{Throughput: v})
		}
		return tr
	}
	// The merged windows give 62%, the paired rounds' median 58%: the
	// median decides, and the target is missed.
	rep := &Report{Scenarios: []ScenarioResult{{Scenario: Scenario{Name: "stream", Rounds: 3},
		Targets: []TargetResult{res(TargetNginx, 20000, 10000, 30000, 20000), res(TargetOctoMesh, 12400, 7000, 17400, 11600)}}}}
	for _, c := range rep.Checks() {
		if c.Name == "Streaming saturation" {
			if !c.Known || c.Pass || c.Got != "58.0% (median of 3 rounds: 70.0%, 58.0%, 58.0%; 62.0% over all windows)" {
				t.Errorf("check %+v", c)
			}
			return
		}
	}
	t.Fatal("no streaming check")
}

func TestRoundOrderAlternates(t *testing.T) {
	targets := []string{TargetDirect, TargetNginx, TargetGoProxy, TargetOctoMesh}
	for r, want := range map[int]string{1: "direct nginx goproxy octomesh", 2: "octomesh goproxy nginx direct", 3: "direct nginx goproxy octomesh"} {
		if got := strings.Join(roundOrder(targets, r), " "); got != want {
			t.Errorf("round %d: %s, want %s", r, got, want)
		}
	}
	if targets[0] != TargetDirect {
		t.Errorf("roundOrder changed its argument: %v", targets)
	}
}
